// Errors of the BGP codec. A BgpError is something the peer sent wrong: it carries the
// NOTIFICATION to send (code, subcode, data) and how RFC 7606 says to handle it. A
// BgpEncodeError is something *we* asked the encoder to do that cannot be put on the wire.
import { TwillError } from '../../src/errors.js';
import { errorCodeName, errorSlug, errorSubcodeName, familyName } from './names.js';

/**
 * RFC 7606 §2, strongest first:
 * - `session-reset`: send the NOTIFICATION and close the session.
 * - `afisafi-disable`: (RFC 4760 §7) drop every route of `afi`/`safi` from this peer and ignore
 *   that family for the rest of the session; a speaker that does not do this resets the session.
 * - `treat-as-withdraw`: withdraw every prefix the UPDATE announced (the decoder still returns
 *   them); the session stays up.
 * - `attribute-discard`: the attribute was dropped; the UPDATE is otherwise processed normally.
 */
export type ErrorHandling = 'session-reset' | 'afisafi-disable' | 'treat-as-withdraw' | 'attribute-discard';

export interface NotificationData {
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

const HINTS: Readonly<Record<ErrorHandling, string>> = {
  'session-reset':
    'send this NOTIFICATION and close the session; the peer sent a message Twill cannot parse safely — check the peer\'s BGP software and the link (framing)',
  'afisafi-disable':
    'drop this peer\'s routes of that address family for the rest of the session (or reset the session); the peer sent a malformed MP_REACH/MP_UNREACH',
  'treat-as-withdraw':
    'the prefixes of this UPDATE are withdrawn and the session stays up; the peer (or a router before it) sent a malformed attribute',
  'attribute-discard': 'the attribute was ignored and the UPDATE accepted; log it for the operator of the peer',
};

/** "UPDATE_MALFORMED_AS_PATH" → "UpdateMalformedAsPath" (the error-code style of src/errors.ts). */
function pascalCase(slug: string): string {
  return slug
    .split('_')
    .map((w) => w.charAt(0) + w.slice(1).toLowerCase())
    .join('');
}

const nameCache = new Map<number, { code: string; what: string }>();
function namesOf(code: number, subcode: number): { code: string; what: string } {
  const key = code * 256 + subcode;
  let n = nameCache.get(key);
  if (!n) {
    const sub = errorSubcodeName(code, subcode);
    n = { code: `Bgp${pascalCase(errorSlug(code, subcode))}`, what: sub ? `${errorCodeName(code)} / ${sub}` : errorCodeName(code) };
    nameCache.set(key, n);
  }
  return n;
}

export class BgpError extends TwillError {
  readonly notification: NotificationData;
  readonly handling: ErrorHandling;
  /** The attribute type at fault, when there is one. */
  readonly attrType: number | undefined;
  /** The address family to disable, for `afisafi-disable`. */
  readonly afi: number | undefined;
  readonly safi: number | undefined;
  /** The sentence about what was wrong, without the code names (the message adds those). */
  readonly detail: string;

  constructor(
    code: number,
    subcode: number,
    detail: string,
    opts: {
      handling?: ErrorHandling;
      data?: Buffer;
      attrType?: number;
      afi?: number;
      safi?: number;
    } = {},
  ) {
    const handling = opts.handling ?? 'session-reset';
    const fam = opts.afi !== undefined && opts.safi !== undefined ? ` [${familyName(opts.afi, opts.safi)}]` : '';
    const names = namesOf(code, subcode);
    // These describe what a peer sent, not where our code was: skip the costly stack capture
    // (a table with a malformed attribute can produce one error per UPDATE).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(names.code, `${detail} (${names.what}; ${handling}${fam})`, { hint: HINTS[handling] });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.notification = { code, subcode, data: opts.data ?? Buffer.alloc(0) };
    this.handling = handling;
    this.detail = detail;
    this.attrType = opts.attrType;
    this.afi = opts.afi;
    this.safi = opts.safi;
  }

  /** The same error with a stronger handling (RFC 7606 §5.2 escalation). */
  escalate(handling: ErrorHandling, why: string): BgpError {
    return new BgpError(this.notification.code, this.notification.subcode, `${this.detail}; ${why}`, {
      handling,
      data: this.notification.data,
      attrType: this.attrType,
      afi: this.afi,
      safi: this.safi,
    });
  }
}

/** We asked the encoder for something that cannot be encoded (a bug or bad input on our side). */
export class BgpEncodeError extends TwillError {
  constructor(message: string, hint?: string) {
    super('BgpEncodeInvalid', message, hint ? { hint } : undefined);
  }
}
