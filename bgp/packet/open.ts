// OPEN message (RFC 4271 §4.2) with capabilities in optional parameters (RFC 5492) and the
// extended optional parameters length (RFC 9072).
import { AS_TRANS, ErrorCode, HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType, OPT_PARAM_CAPABILITIES, OPT_PARAM_EXTENDED, OpenSubcode } from './constants.js';
import { decodeCapability, encodeCapability, type Capability } from './capabilities.js';
import { BgpEncodeError, BgpError } from './errors.js';
import { writeHeader } from './header.js';

export interface OpenMessage {
  readonly type: 'open';
  /** Always 4 on the wire we accept. */
  readonly version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS when the real AS needs 4 octets). */
  readonly myAs: number;
  /** Seconds; 0 or at least 3. */
  readonly holdTime: number;
  /** BGP Identifier as an unsigned 32-bit number (non-zero). */
  readonly bgpId: number;
  readonly capabilities: readonly Capability[];
}

function openError(subcode: number, detail: string, data?: Buffer): BgpError {
  return new BgpError(ErrorCode.OPEN_MESSAGE, subcode, `OPEN: ${detail}`, data ? { data } : {});
}

/** Decodes the OPEN in msg (header included). Throws a session-reset BgpError when malformed. */
export function decodeOpen(msg: Buffer): OpenMessage {
  const end = msg.length;
  let p = HEADER_LENGTH;
  const version = msg[p]!;
  if (version !== 4) {
    throw openError(OpenSubcode.UNSUPPORTED_VERSION, `version ${version} is not supported (Twill speaks BGP-4)`, Buffer.from([0, 4]));
  }
  const myAs = msg.readUInt16BE(p + 1);
  const holdTime = msg.readUInt16BE(p + 3);
  const bgpId = msg.readUInt32BE(p + 5);
  let optLen = msg[p + 9]!;
  p += 10;
  if (holdTime === 1 || holdTime === 2) {
    throw openError(OpenSubcode.UNACCEPTABLE_HOLD_TIME, `hold time ${holdTime} s is not allowed (must be 0 or at least 3)`);
  }
  if (bgpId === 0) throw openError(OpenSubcode.BAD_BGP_IDENTIFIER, 'BGP identifier 0.0.0.0 is not valid', Buffer.from(msg.subarray(HEADER_LENGTH + 5, HEADER_LENGTH + 9)));
  let extended = false;
  if (optLen === 255 && p < end && msg[p] === OPT_PARAM_EXTENDED) {
    // RFC 9072: non-extended length 255, then type 255, then a 2-octet length.
    if (p + 3 > end) throw openError(OpenSubcode.UNSPECIFIC, 'extended optional parameters length is truncated');
    extended = true;
    optLen = msg.readUInt16BE(p + 1);
    p += 3;
  }
  if (p + optLen !== end) {
    throw openError(OpenSubcode.UNSPECIFIC, `optional parameters length ${optLen} does not match the message length ${end}`);
  }
  const capabilities: Capability[] = [];
  while (p < end) {
    const hdr = extended ? 3 : 2;
    if (p + hdr > end) throw openError(OpenSubcode.UNSPECIFIC, 'optional parameter header is truncated');
    const ptype = msg[p]!;
    const plen = extended ? msg.readUInt16BE(p + 1) : msg[p + 1]!;
    const vstart = p + hdr;
    const vend = vstart + plen;
    if (vend > end) throw openError(OpenSubcode.UNSPECIFIC, `optional parameter of type ${ptype} runs past the end of the message`);
    if (ptype !== OPT_PARAM_CAPABILITIES) {
      throw openError(OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${ptype} is not supported (only capabilities, type 2)`);
    }
    let q = vstart;
    while (q < vend) {
      if (q + 2 > vend) throw openError(OpenSubcode.UNSPECIFIC, 'capability header is truncated');
      const code = msg[q]!;
      const clen = msg[q + 1]!;
      if (q + 2 + clen > vend) throw openError(OpenSubcode.UNSPECIFIC, `capability ${code} runs past the end of its optional parameter`);
      capabilities.push(decodeCapability(code, msg.subarray(q + 2, q + 2 + clen), msg.subarray(q, q + 2 + clen)));
      q += 2 + clen;
    }
    p = vend;
  }
  return { type: 'open', version, myAs, holdTime, bgpId, capabilities };
}

export function encodeOpen(m: OpenMessage): Buffer {
  if (!Number.isInteger(m.myAs) || m.myAs < 0 || m.myAs > 0xffff) {
    throw new BgpEncodeError(`OPEN: My AS ${m.myAs} does not fit 2 octets`, `put ${AS_TRANS} (AS_TRANS) there and the real AS in the four-octet-as capability`);
  }
  if (m.holdTime === 1 || m.holdTime === 2 || m.holdTime < 0 || m.holdTime > 0xffff) {
    throw new BgpEncodeError(`OPEN: hold time ${m.holdTime} is not allowed`, 'use 0 or 3..65535 seconds');
  }
  const caps = m.capabilities.map(encodeCapability);
  for (const c of caps) {
    if (c.value.length > 255) throw new BgpEncodeError(`OPEN: capability ${c.code} value is ${c.value.length} octets (max 255)`);
  }
  const capBytes = caps.reduce((n, c) => n + 2 + c.value.length, 0);
  // One optional parameter carries all capabilities; RFC 9072 extended lengths when they need it.
  const extended = capBytes + 2 > 255;
  const optLen = capBytes === 0 ? 0 : capBytes + (extended ? 3 : 2);
  const total = HEADER_LENGTH + 10 + (extended ? 3 : 0) + optLen;
  if (total > MAX_MESSAGE_LENGTH) throw new BgpEncodeError(`OPEN would be ${total} octets (max ${MAX_MESSAGE_LENGTH}); advertise fewer capabilities`);
  const buf = Buffer.alloc(total);
  writeHeader(buf, total, MessageType.OPEN);
  let p = HEADER_LENGTH;
  buf[p] = m.version;
  buf.writeUInt16BE(m.myAs, p + 1);
  buf.writeUInt16BE(m.holdTime, p + 3);
  buf.writeUInt32BE(m.bgpId >>> 0, p + 5);
  p += 9;
  if (extended) {
    buf[p] = 255;
    buf[p + 1] = OPT_PARAM_EXTENDED;
    buf.writeUInt16BE(optLen, p + 2);
    p += 4;
    buf[p] = OPT_PARAM_CAPABILITIES;
    buf.writeUInt16BE(capBytes, p + 1);
    p += 3;
  } else {
    buf[p++] = optLen;
    if (capBytes > 0) {
      buf[p] = OPT_PARAM_CAPABILITIES;
      buf[p + 1] = capBytes;
      p += 2;
    }
  }
  for (const c of caps) {
    buf[p] = c.code;
    buf[p + 1] = c.value.length;
    c.value.copy(buf, p + 2);
    p += 2 + c.value.length;
  }
  return buf;
}
