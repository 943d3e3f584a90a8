// OPEN capabilities (RFC 5492) the codec understands; anything else is kept as raw bytes.
import { CapabilityCode, ErrorCode, OpenSubcode } from './constants.js';
import { BgpEncodeError, BgpError } from './errors.js';
import { capabilityName } from './names.js';

export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

export interface GracefulRestartFamily extends AfiSafi {
  /** F bit: forwarding state was preserved for this family across the restart. */
  readonly forwarding: boolean;
}

export interface AddPathFamily extends AfiSafi {
  /** The sender of the capability can send / wants to receive multiple paths. */
  readonly send: boolean;
  readonly receive: boolean;
}

export interface ExtendedNextHopEntry extends AfiSafi {
  /** AFI of the next hops allowed for NLRI of afi/safi (2 = IPv6 for IPv4 NLRI, RFC 8950). */
  readonly nextHopAfi: number;
}

export type Capability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'route-refresh' }
  | { readonly kind: 'enhanced-route-refresh' }
  | { readonly kind: 'extended-message' }
  | { readonly kind: 'four-octet-as'; readonly as: number }
  | {
      readonly kind: 'graceful-restart';
      /** R bit: the sender has just restarted. */
      readonly restarting: boolean;
      /** N bit (RFC 8538): graceful restart also covers NOTIFICATION messages. */
      readonly notification: boolean;
      /** Restart time in seconds (0..4095). */
      readonly time: number;
      readonly families: readonly GracefulRestartFamily[];
    }
  | { readonly kind: 'add-path'; readonly families: readonly AddPathFamily[] }
  | { readonly kind: 'extended-next-hop'; readonly entries: readonly ExtendedNextHopEntry[] }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Buffer };

function malformed(code: number, why: string, raw: Buffer): BgpError {
  return new BgpError(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC, `OPEN: ${capabilityName(code)} capability ${why}`, {
    data: Buffer.from(raw),
  });
}

/**
 * Decodes one capability value. `raw` is the whole capability (code, length, value) for the
 * NOTIFICATION data. Throws an OPEN Message Error for a value of the wrong size.
 */
export function decodeCapability(code: number, value: Buffer, raw: Buffer): Capability {
  const len = value.length;
  switch (code) {
    case CapabilityCode.MULTIPROTOCOL:
      if (len !== 4) throw malformed(code, `has length ${len}, expected 4`, raw);
      return { kind: 'multiprotocol', afi: value.readUInt16BE(0), safi: value[3]! };
    case CapabilityCode.ROUTE_REFRESH:
    case CapabilityCode.ENHANCED_ROUTE_REFRESH:
    case CapabilityCode.EXTENDED_MESSAGE:
      if (len !== 0) throw malformed(code, `has length ${len}, expected 0`, raw);
      return code === CapabilityCode.ROUTE_REFRESH
        ? { kind: 'route-refresh' }
        : code === CapabilityCode.ENHANCED_ROUTE_REFRESH
          ? { kind: 'enhanced-route-refresh' }
          : { kind: 'extended-message' };
    case CapabilityCode.FOUR_OCTET_AS:
      if (len !== 4) throw malformed(code, `has length ${len}, expected 4`, raw);
      return { kind: 'four-octet-as', as: value.readUInt32BE(0) };
    case CapabilityCode.GRACEFUL_RESTART: {
      if (len < 2 || (len - 2) % 4 !== 0) throw malformed(code, `has length ${len}, expected 2 + 4n`, raw);
      const w = value.readUInt16BE(0);
      const families: GracefulRestartFamily[] = [];
      for (let i = 2; i < len; i += 4) {
        families.push({ afi: value.readUInt16BE(i), safi: value[i + 2]!, forwarding: (value[i + 3]! & 0x80) !== 0 });
      }
      return { kind: 'graceful-restart', restarting: (w & 0x8000) !== 0, notification: (w & 0x4000) !== 0, time: w & 0x0fff, families };
    }
    case CapabilityCode.ADD_PATH: {
      if (len % 4 !== 0) throw malformed(code, `has length ${len}, expected a multiple of 4`, raw);
      const families: AddPathFamily[] = [];
      for (let i = 0; i < len; i += 4) {
        const sr = value[i + 3]!;
        // RFC 7911 §4: any other Send/Receive value means the capability is not understood.
        if (sr < 1 || sr > 3) return { kind: 'unknown', code, value: Buffer.from(value) };
        families.push({ afi: value.readUInt16BE(i), safi: value[i + 2]!, send: (sr & 2) !== 0, receive: (sr & 1) !== 0 });
      }
      return { kind: 'add-path', families };
    }
    case CapabilityCode.EXTENDED_NEXT_HOP: {
      if (len % 6 !== 0) throw malformed(code, `has length ${len}, expected a multiple of 6`, raw);
      const entries: ExtendedNextHopEntry[] = [];
      for (let i = 0; i < len; i += 6) {
        entries.push({ afi: value.readUInt16BE(i), safi: value.readUInt16BE(i + 2), nextHopAfi: value.readUInt16BE(i + 4) });
      }
      return { kind: 'extended-next-hop', entries };
    }
    default:
      return { kind: 'unknown', code, value: Buffer.from(value) };
  }
}

/** The capability code and value octets of one capability. */
export function encodeCapability(c: Capability): { code: number; value: Buffer } {
  switch (c.kind) {
    case 'multiprotocol': {
      const v = Buffer.alloc(4);
      v.writeUInt16BE(c.afi, 0);
      v[3] = c.safi;
      return { code: CapabilityCode.MULTIPROTOCOL, value: v };
    }
    case 'route-refresh':
      return { code: CapabilityCode.ROUTE_REFRESH, value: Buffer.alloc(0) };
    case 'enhanced-route-refresh':
      return { code: CapabilityCode.ENHANCED_ROUTE_REFRESH, value: Buffer.alloc(0) };
    case 'extended-message':
      return { code: CapabilityCode.EXTENDED_MESSAGE, value: Buffer.alloc(0) };
    case 'four-octet-as': {
      const v = Buffer.alloc(4);
      v.writeUInt32BE(c.as >>> 0, 0);
      return { code: CapabilityCode.FOUR_OCTET_AS, value: v };
    }
    case 'graceful-restart': {
      if (c.time < 0 || c.time > 4095) throw new BgpEncodeError(`graceful restart time ${c.time} is outside 0..4095 seconds`);
      const v = Buffer.alloc(2 + 4 * c.families.length);
      v.writeUInt16BE((c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | c.time, 0);
      c.families.forEach((f, k) => {
        v.writeUInt16BE(f.afi, 2 + 4 * k);
        v[4 + 4 * k] = f.safi;
        v[5 + 4 * k] = f.forwarding ? 0x80 : 0;
      });
      return { code: CapabilityCode.GRACEFUL_RESTART, value: v };
    }
    case 'add-path': {
      const v = Buffer.alloc(4 * c.families.length);
      c.families.forEach((f, k) => {
        v.writeUInt16BE(f.afi, 4 * k);
        v[2 + 4 * k] = f.safi;
        v[3 + 4 * k] = (f.send ? 2 : 0) | (f.receive ? 1 : 0);
      });
      return { code: CapabilityCode.ADD_PATH, value: v };
    }
    case 'extended-next-hop': {
      const v = Buffer.alloc(6 * c.entries.length);
      c.entries.forEach((e, k) => {
        v.writeUInt16BE(e.afi, 6 * k);
        v.writeUInt16BE(e.safi, 6 * k + 2);
        v.writeUInt16BE(e.nextHopAfi, 6 * k + 4);
      });
      return { code: CapabilityCode.EXTENDED_NEXT_HOP, value: v };
    }
    case 'unknown':
      return { code: c.code, value: c.value };
  }
}
