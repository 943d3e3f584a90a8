// Rule hashes and the chain builder. A rule's hash covers the chain name, the previous rule's
// hash and the rule's own text (without the comment), so inserting a rule changes the hashes of
// the rules after it and nothing before it — as Calico does.

import { createHash } from 'node:crypto';
import { hashComment } from '../../src/iptables/naming.js';
import type { Chain, RenderedRule } from './types.js';

export function ruleHash(chain: string, prevHash: string, text: string): string {
  return createHash('sha256').update(`${chain}\0${prevHash}\0${text}`, 'utf8').digest('hex').slice(0, 16);
}

/** The spec to write: the hash comment first, then the rule text. */
export function withComment(hash: string, text: string): string {
  return `${hashComment(hash)} ${text}`;
}

export class ChainBuilder {
  private readonly rules: RenderedRule[] = [];
  private prev = '';

  constructor(readonly name: string) {}

  /** Appends a rule (`text` is everything after `-A NAME` except the comment). */
  add(text: string): this {
    const hash = ruleHash(this.name, this.prev, text);
    this.rules.push({ spec: withComment(hash, text), hash });
    this.prev = hash;
    return this;
  }

  get length(): number {
    return this.rules.length;
  }

  build(): Chain {
    return { name: this.name, rules: this.rules.slice() };
  }
}
