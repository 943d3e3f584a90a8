// The check every outgoing octet passes (bgp/session/connection.ts write()): each message in the
// buffers is whole and no longer than the session allows — 4096 octets unless RFC 8654 Extended
// Message was negotiated both ways, then 65535 (OPEN and KEEPALIVE stay within 4096 always).
import { TwillError } from '../../src/errors.js';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './constants.js';
import { maxSendLength, type CodecContext } from './context.js';
import { messageTypeName } from './names.js';

/** We were about to send a message the peer must reject (a bug in twill-bgp); nothing was written. */
export class BgpSendLimitError extends TwillError {
  constructor(
    message: string,
    /** The message type (MessageType) and its length field, when the header could be read. */
    readonly messageType: number | undefined,
    readonly length: number,
    /** The largest message this session may carry. */
    readonly max: number,
  ) {
    super('BgpSendLimit', message, {
      hint: 'nothing of this batch was written; the session is reset so the peer gets a consistent table again. This is a bug in twill-bgp: report it with this log line',
    });
  }
}

/**
 * Throws BgpSendLimitError unless every buffer holds whole BGP messages, each within the
 * session's limit. Cheap: it reads the headers only.
 */
export function checkOutgoing(bufs: readonly Buffer[], ctx: CodecContext): void {
  const max = maxSendLength(ctx);
  for (const buf of bufs) {
    let off = 0;
    while (off < buf.length) {
      if (buf.length - off < HEADER_LENGTH) {
        throw new BgpSendLimitError(`refusing to send ${buf.length - off} octets that are not a whole BGP message`, undefined, buf.length - off, max);
      }
      const length = buf.readUInt16BE(off + 16);
      const type = buf[off + 18]!;
      const fixed = type === MessageType.OPEN || type === MessageType.KEEPALIVE;
      const limit = fixed ? MAX_MESSAGE_LENGTH : max;
      if (length > limit) {
        const why = fixed ? 'OPEN and KEEPALIVE never exceed 4096' : ctx.extendedMessage.send ? 'the BGP maximum' : 'Extended Message, RFC 8654, was not advertised by both sides';
        throw new BgpSendLimitError(`refusing to send a BGP ${messageTypeName(type)} message of ${length} octets: this session allows at most ${limit} (${why})`, type, length, limit);
      }
      if (length < HEADER_LENGTH || off + length > buf.length) {
        throw new BgpSendLimitError(`refusing to send a BGP ${messageTypeName(type)} message whose length field (${length}) does not match its ${buf.length - off} octets`, type, length, limit);
      }
      off += length;
    }
  }
}
