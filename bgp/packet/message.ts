// Any BGP message: one entry point to encode and one to decode, with the RFC 7606 outcome.
import { HEADER_LENGTH, HeaderSubcode, ErrorCode, MessageType } from './constants.js';
import { maxReceiveLength, maxSendLength, type CodecContext } from './context.js';
import { BgpError } from './errors.js';
import { checkHeader, writeHeader } from './header.js';
import { decodeNotification, encodeNotification, type NotificationMessage } from './notification.js';
import { decodeOpen, encodeOpen, type OpenMessage } from './open.js';
import { decodeRouteRefresh, encodeRouteRefresh, type RouteRefreshMessage } from './route-refresh.js';
import { decodeUpdate, encodeUpdate, type UpdateMessage } from './update.js';

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

export interface DecodeResult {
  readonly message: BgpMessage;
  /** UPDATE only: RFC 7606 treat-as-withdraw — withdraw every prefix the message announces. */
  readonly treatAsWithdraw: boolean;
  /** Non-fatal problems found (attribute discards, causes of treat-as-withdraw), for logs. */
  readonly issues: readonly BgpError[];
}

const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: 'keepalive' });
const NO_ISSUES: readonly BgpError[] = Object.freeze([]);

/**
 * Decodes one whole message (as returned by Framer.next()). Throws a BgpError whose `handling`
 * is `session-reset` or `afisafi-disable`; weaker RFC 7606 outcomes are in the result.
 */
export function decodeMessage(buf: Buffer, ctx: CodecContext): DecodeResult {
  if (buf.length < HEADER_LENGTH) {
    throw new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, `BGP message of ${buf.length} octets is shorter than its header`);
  }
  const length = checkHeader(buf, 0, maxReceiveLength(ctx));
  if (length !== buf.length) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(length);
    throw new BgpError(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, `BGP message header says ${length} octets but the buffer holds ${buf.length}`, { data });
  }
  switch (buf[18]) {
    case MessageType.UPDATE: {
      const r = decodeUpdate(buf, ctx);
      return { message: r.message, treatAsWithdraw: r.treatAsWithdraw, issues: r.issues.length ? r.issues : NO_ISSUES };
    }
    case MessageType.KEEPALIVE:
      return { message: KEEPALIVE, treatAsWithdraw: false, issues: NO_ISSUES };
    case MessageType.OPEN:
      return { message: decodeOpen(buf), treatAsWithdraw: false, issues: NO_ISSUES };
    case MessageType.NOTIFICATION:
      return { message: decodeNotification(buf), treatAsWithdraw: false, issues: NO_ISSUES };
    default:
      return { message: decodeRouteRefresh(buf), treatAsWithdraw: false, issues: NO_ISSUES };
  }
}

/** Encodes one message. UPDATEs must fit the session's maximum size (see packUpdates()). */
export function encodeMessage(m: BgpMessage, ctx: CodecContext): Buffer {
  switch (m.type) {
    case 'update':
      return encodeUpdate(m, ctx);
    case 'keepalive': {
      const buf = Buffer.allocUnsafe(HEADER_LENGTH);
      writeHeader(buf, HEADER_LENGTH, MessageType.KEEPALIVE);
      return buf;
    }
    case 'open':
      return encodeOpen(m);
    case 'notification':
      return encodeNotification(m, maxSendLength(ctx));
    case 'route-refresh':
      return encodeRouteRefresh(m);
  }
}

/** The NOTIFICATION to send for a decode error. */
export function notificationFor(err: BgpError): NotificationMessage {
  return { type: 'notification', code: err.notification.code, subcode: err.notification.subcode, data: err.notification.data };
}
