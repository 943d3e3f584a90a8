// NOTIFICATION message (RFC 4271 §4.5) and a sentence for logs from its code, subcode and data,
// including the shutdown communication of RFC 8203 / RFC 9003 and Hard Reset (RFC 8538).
import { CeaseSubcode, ErrorCode, HEADER_LENGTH, HeaderSubcode, MessageType, OpenSubcode, UpdateSubcode } from './constants.js';
import { BgpEncodeError } from './errors.js';
import { writeHeader } from './header.js';
import { attrName, capabilityName, errorCodeName, errorSubcodeName, messageTypeName } from './names.js';

export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export function decodeNotification(msg: Buffer): NotificationMessage {
  return { type: 'notification', code: msg[HEADER_LENGTH]!, subcode: msg[HEADER_LENGTH + 1]!, data: Buffer.from(msg.subarray(HEADER_LENGTH + 2)) };
}

/** Encodes a NOTIFICATION; data longer than the message limit (4096) is cut. */
export function encodeNotification(m: NotificationMessage, maxLength = 4096): Buffer {
  if (m.code < 0 || m.code > 255 || m.subcode < 0 || m.subcode > 255) throw new BgpEncodeError(`NOTIFICATION code ${m.code}/${m.subcode} is out of range`);
  const dataLen = Math.min(m.data.length, maxLength - HEADER_LENGTH - 2);
  const total = HEADER_LENGTH + 2 + dataLen;
  const buf = Buffer.allocUnsafe(total);
  writeHeader(buf, total, MessageType.NOTIFICATION);
  buf[HEADER_LENGTH] = m.code;
  buf[HEADER_LENGTH + 1] = m.subcode;
  m.data.copy(buf, HEADER_LENGTH + 2, 0, dataLen);
  return buf;
}

/** RFC 9003: the shutdown communication may be up to 255 octets of UTF-8. */
export const MAX_SHUTDOWN_COMMUNICATION = 255;

/**
 * A Cease NOTIFICATION with a shutdown communication (subcode Administrative Shutdown or
 * Administrative Reset). The text is cut at a character boundary to fit `maxBytes` octets.
 */
export function shutdownNotification(text: string, subcode: number = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, maxBytes = MAX_SHUTDOWN_COMMUNICATION): NotificationMessage {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > maxBytes) {
    let cut = maxBytes;
    // Step back over UTF-8 continuation octets so no character is split.
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  const data = Buffer.alloc(1 + bytes.length);
  data[0] = bytes.length;
  bytes.copy(data, 1);
  return { type: 'notification', code: ErrorCode.CEASE, subcode, data };
}

/**
 * The shutdown communication in a Cease / Administrative Shutdown or Reset NOTIFICATION:
 * the text, undefined when there is none, or an Error-free description of why it is unreadable.
 */
export function shutdownCommunication(code: number, subcode: number, data: Buffer): { text: string } | { malformed: string } | undefined {
  if (code !== ErrorCode.CEASE || (subcode !== CeaseSubcode.ADMINISTRATIVE_SHUTDOWN && subcode !== CeaseSubcode.ADMINISTRATIVE_RESET)) return undefined;
  if (data.length === 0) return undefined;
  const len = data[0]!;
  if (len === 0) return undefined;
  if (1 + len > data.length) return { malformed: `length ${len} but only ${data.length - 1} octets follow` };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(1, 1 + len));
    return { text };
  } catch {
    return { malformed: 'not valid UTF-8' };
  }
}

/** Makes untrusted text safe for one log line: control characters become U+FFFD. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\ufffd');
}

function hex(b: Buffer, max = 32): string {
  const h = b.subarray(0, max).toString('hex');
  return b.length > max ? `${h}… (${b.length} octets)` : h;
}

/**
 * One human sentence for a NOTIFICATION, for logs and `node status`, e.g.
 * "Cease / Administrative Shutdown: \"maintenance until 14:00\"" or
 * "UPDATE Message Error / Missing Well-known Attribute: ORIGIN".
 */
export function describeNotification(code: number, subcode: number, data: Buffer = Buffer.alloc(0)): string {
  return describe(code, subcode, data, 0);
}

function describe(code: number, subcode: number, data: Buffer, depth: number): string {
  const codeName = errorCodeName(code);
  const subName = errorSubcodeName(code, subcode);
  const head = subName ? `${codeName} / ${subName}` : subcode === 0 ? codeName : `${codeName} / subcode ${subcode}`;
  const detail = describeData(code, subcode, data, depth);
  return detail ? `${head}: ${detail}` : head;
}

function describeData(code: number, subcode: number, data: Buffer, depth: number): string | undefined {
  const sc = shutdownCommunication(code, subcode, data);
  if (sc) return 'text' in sc ? `"${printable(sc.text)}"` : `shutdown communication is malformed (${sc.malformed})`;
  if (data.length === 0) return undefined;
  if (code === ErrorCode.MESSAGE_HEADER) {
    if (subcode === HeaderSubcode.BAD_MESSAGE_LENGTH && data.length >= 2) return `length field ${data.readUInt16BE(0)}`;
    if (subcode === HeaderSubcode.BAD_MESSAGE_TYPE) return `type ${data[0]!} (${messageTypeName(data[0]!)})`;
  }
  if (code === ErrorCode.OPEN_MESSAGE) {
    if (subcode === OpenSubcode.UNSUPPORTED_VERSION && data.length >= 2) return `the peer supports version ${data.readUInt16BE(0)}`;
    if (subcode === OpenSubcode.BAD_PEER_AS && data.length >= 2) return `AS ${data.length >= 4 ? data.readUInt32BE(0) : data.readUInt16BE(0)}`;
    if (subcode === OpenSubcode.UNSUPPORTED_CAPABILITY) {
      const names: string[] = [];
      for (let i = 0; i + 2 <= data.length; i += 2 + data[i + 1]!) names.push(capabilityName(data[i]!));
      return names.length ? `the peer requires ${names.join(', ')}` : undefined;
    }
  }
  if (code === ErrorCode.UPDATE_MESSAGE) {
    if (subcode === UpdateSubcode.MISSING_WELL_KNOWN) return attrName(data[0]!);
    if (data.length >= 2 && subcode !== UpdateSubcode.MALFORMED_ATTRIBUTE_LIST && subcode !== UpdateSubcode.INVALID_NETWORK_FIELD) {
      return `${attrName(data[1]!)} (attribute octets ${hex(data)})`;
    }
  }
  if (code === ErrorCode.FSM && data.length >= 1) return `unexpected ${messageTypeName(data[0]!)}`;
  if (code === ErrorCode.CEASE) {
    if (subcode === CeaseSubcode.MAX_PREFIXES && data.length >= 7) {
      return `${data.readUInt32BE(3)} prefixes for AFI ${data.readUInt16BE(0)} SAFI ${data[2]!}`;
    }
    if (subcode === CeaseSubcode.HARD_RESET && data.length >= 2 && depth < 4) {
      return `because of ${describe(data[0]!, data[1]!, data.subarray(2), depth + 1)}`;
    }
  }
  return `data ${hex(data)}`;
}
