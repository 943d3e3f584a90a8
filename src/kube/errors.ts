import { TwillError } from '../errors.js';

/**
 * A Kubernetes object the converter cannot honour exactly (a field Twill cannot express, or a
 * value Kubernetes itself would refuse). Nothing is converted: a policy is never widened.
 */
export class KubeConvertError extends TwillError {
  /** "NetworkPolicy x/deny-all" */
  readonly object: string;
  /** The field, as a path: "spec.ingress[0].from[1].ipBlock.except[0]". */
  readonly field: string;
  /** What is wrong with the field. */
  readonly reason: string;

  constructor(object: string, field: string, reason: string, hint?: string) {
    super('KubeUnsupported', `${object}: ${field}: ${reason}`, {
      hint: hint ?? 'fix the field (Twill converts networking.k8s.io/v1 NetworkPolicy exactly or not at all)',
    });
    this.object = object;
    this.field = field;
    this.reason = reason;
  }
}
