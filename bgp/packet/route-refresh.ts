// ROUTE-REFRESH message (RFC 2918) with the Enhanced Route Refresh subtypes BoRR / EoRR (RFC 7313).
import { ErrorCode, HEADER_LENGTH, MessageType, RouteRefreshErrorSubcode } from './constants.js';
import { BgpEncodeError, BgpError } from './errors.js';
import { writeHeader } from './header.js';

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  /**
   * 0 = refresh request, 1 = Beginning of Route Refresh, 2 = End of Route Refresh (RFC 7313).
   * RFC 7313 §5: a message with any other subtype must be ignored by the receiver.
   */
  readonly subtype: number;
}

export function decodeRouteRefresh(msg: Buffer): RouteRefreshMessage {
  const bodyLen = msg.length - HEADER_LENGTH;
  const subtype = msg[HEADER_LENGTH + 2]!;
  // RFC 7313 §5: BoRR/EoRR must be exactly 4 octets. A longer plain request would carry ORF
  // entries (RFC 5291), which Twill never negotiates; their octets are ignored.
  if ((subtype === 1 || subtype === 2) && bodyLen !== 4) {
    throw new BgpError(ErrorCode.ROUTE_REFRESH, RouteRefreshErrorSubcode.INVALID_MESSAGE_LENGTH, `ROUTE-REFRESH subtype ${subtype} has ${bodyLen} octets after the header, expected 4`, {
      data: Buffer.from(msg),
    });
  }
  return { type: 'route-refresh', afi: msg.readUInt16BE(HEADER_LENGTH), safi: msg[HEADER_LENGTH + 3]!, subtype };
}

export function encodeRouteRefresh(m: RouteRefreshMessage): Buffer {
  if (m.afi < 0 || m.afi > 0xffff || m.safi < 0 || m.safi > 255 || m.subtype < 0 || m.subtype > 255) {
    throw new BgpEncodeError(`ROUTE-REFRESH AFI ${m.afi} SAFI ${m.safi} subtype ${m.subtype} is out of range`);
  }
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + 4);
  writeHeader(buf, HEADER_LENGTH + 4, MessageType.ROUTE_REFRESH);
  buf.writeUInt16BE(m.afi, HEADER_LENGTH);
  buf[HEADER_LENGTH + 2] = m.subtype;
  buf[HEADER_LENGTH + 3] = m.safi;
  return buf;
}
