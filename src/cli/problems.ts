// A list of problems found in a command's input, reported together (every one, not just the
// first), each naming the document, the object, the field path and the reason.

import { TwillError } from '../errors.js';

export interface InputProblem {
  /** The document at fault, e.g. "pools.yaml#2" or "stdin#1". */
  source?: string;
  /** The object, e.g. "IPPool bad" or "NetworkPolicy zones/dmz", when known. */
  object?: string;
  /** The field path, e.g. "spec.ingress[0].destination.ports[1]". */
  path?: string;
  message: string;
}

export function formatProblem(p: InputProblem): string {
  const prefix = p.source ? `${p.source}: ` : '';
  if (p.path) return `${prefix}${p.object ? `${p.object}: ` : ''}${p.path}: ${p.message}`;
  // "IPPool a already exists", "pools.yaml#3: IPPool b not found"
  return `${prefix}${p.object ? `${p.object} ` : ''}${p.message}`;
}

export class InputProblemsError extends TwillError {
  constructor(
    readonly problems: readonly InputProblem[],
    hint: string,
  ) {
    const n = problems.length;
    const message =
      n === 1 ? formatProblem(problems[0]!) : `found ${n} problems:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`;
    super('InvalidInput', message, { hint });
  }
}
