// The 19-octet message header (RFC 4271 §4.1) and its checks (RFC 4271 §6.1, RFC 8654 §6).
import { HEADER_LENGTH, HeaderSubcode, ErrorCode, MARKER_LENGTH, MAX_MESSAGE_LENGTH, MessageType, MIN_LENGTH } from './constants.js';
import { BgpError } from './errors.js';
import { messageTypeName } from './names.js';

/**
 * Checks the header at buf[off..off+19) and returns the message length. `maxLength` is the limit
 * for UPDATE, NOTIFICATION and ROUTE-REFRESH (4096, or 65535 with Extended Message received);
 * OPEN is always limited to 4096 and KEEPALIVE is exactly 19. Throws a session-reset BgpError
 * (Message Header Error) for a bad marker, length or type.
 */
export function checkHeader(buf: Buffer, off: number, maxLength: number): number {
  for (let i = 0; i < MARKER_LENGTH; i++) {
    if (buf[off + i] !== 0xff) {
      throw new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, 'BGP message header: the marker is not 16 octets of all ones');
    }
  }
  const length = (buf[off + 16]! << 8) | buf[off + 17]!;
  const type = buf[off + 18]!;
  if (length < HEADER_LENGTH || length > maxLength) {
    throw badLength(length, `must be between ${HEADER_LENGTH} and ${maxLength}`);
  }
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    throw new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_TYPE, `BGP message header: unknown message type ${type}`, {
      data: Buffer.from([type]),
    });
  }
  if (length < min) throw badLength(length, `is too short for ${messageTypeName(type)} (minimum ${min})`);
  if (type === MessageType.KEEPALIVE && length !== HEADER_LENGTH) throw badLength(length, 'must be exactly 19 for KEEPALIVE');
  if (type === MessageType.OPEN && length > MAX_MESSAGE_LENGTH) throw badLength(length, 'is more than 4096 for OPEN');
  return length;
}

function badLength(length: number, why: string): BgpError {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(length);
  return new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, `BGP message header: length ${length} ${why}`, { data });
}

/** Writes marker, length and type at buf[0..19). */
export function writeHeader(buf: Buffer, length: number, type: number): void {
  buf.fill(0xff, 0, MARKER_LENGTH);
  buf[16] = length >>> 8;
  buf[17] = length & 255;
  buf[18] = type;
}
