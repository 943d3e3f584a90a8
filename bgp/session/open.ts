// Our OPEN message and what the two OPENs of a session agree on.
import {
  AFI_IPV4,
  AFI_IPV6,
  SAFI_UNICAST,
  commonFamilies,
  findCapability,
  myAsField,
  negotiateContext,
  speakerAs,
  type Capability,
  type CodecContext,
  type OpenMessage,
} from '../packet/index.js';
import type { OpenSummary } from '../fsm/types.js';
import type { NegotiatedCapabilities } from '../server/types.js';

export interface OpenSettings {
  readonly asn: number;
  /** BGP identifier, unsigned 32-bit. */
  readonly routerId: number;
  readonly holdTime: number;
  readonly families: { readonly ipv4: boolean; readonly ipv6: boolean };
  /** `restarting`: we restarted with our forwarding state kept (R bit and F bits set). */
  readonly gracefulRestart?: { readonly restartTime: number; readonly restarting?: boolean } | undefined;
  readonly addPath?: { readonly send?: boolean; readonly receive?: boolean } | undefined;
  readonly extendedMessage?: boolean | undefined;
}

/**
 * Our OPEN: multiprotocol IPv4 and/or IPv6 unicast, 4-octet AS, route refresh (and enhanced route
 * refresh); graceful restart, ADD-PATH and extended message only when configured.
 */
export function buildOpen(s: OpenSettings): OpenMessage {
  const caps: Capability[] = [];
  if (s.families.ipv4) caps.push({ kind: 'multiprotocol', afi: AFI_IPV4, safi: SAFI_UNICAST });
  if (s.families.ipv6) caps.push({ kind: 'multiprotocol', afi: AFI_IPV6, safi: SAFI_UNICAST });
  caps.push({ kind: 'route-refresh' });
  caps.push({ kind: 'enhanced-route-refresh' });
  caps.push({ kind: 'four-octet-as', as: s.asn });
  if (s.gracefulRestart) {
    const fams = [];
    const fwd = !!s.gracefulRestart.restarting;
    if (s.families.ipv4) fams.push({ afi: AFI_IPV4, safi: SAFI_UNICAST, forwarding: fwd });
    if (s.families.ipv6) fams.push({ afi: AFI_IPV6, safi: SAFI_UNICAST, forwarding: fwd });
    caps.push({ kind: 'graceful-restart', restarting: fwd, notification: false, time: Math.min(4095, s.gracefulRestart.restartTime), families: fams });
  }
  if (s.addPath && (s.addPath.send || s.addPath.receive)) {
    const ap = { send: !!s.addPath.send, receive: !!s.addPath.receive };
    const fams = [];
    if (s.families.ipv4) fams.push({ afi: AFI_IPV4, safi: SAFI_UNICAST, ...ap });
    if (s.families.ipv6) fams.push({ afi: AFI_IPV6, safi: SAFI_UNICAST, ...ap });
    caps.push({ kind: 'add-path', families: fams });
  }
  if (s.extendedMessage) caps.push({ kind: 'extended-message' });
  return { type: 'open', version: 4, myAs: myAsField(s.asn), holdTime: s.holdTime, bgpId: s.routerId >>> 0, capabilities: caps };
}

export function openSummary(open: OpenMessage): OpenSummary {
  return { asn: speakerAs(open), holdTime: open.holdTime, bgpId: open.bgpId >>> 0 };
}

export interface Negotiated {
  readonly ctx: CodecContext;
  readonly families: { readonly ipv4: boolean; readonly ipv6: boolean };
  readonly capabilities: NegotiatedCapabilities;
}

export function negotiate(local: OpenMessage, remote: OpenMessage, ebgp: boolean): Negotiated {
  const ctx = negotiateContext(local, remote, { ebgp });
  const families = commonFamilies(local, remote);
  const both = (k: Capability['kind']): boolean => !!findCapability(local, k) && !!findCapability(remote, k);
  const capabilities: NegotiatedCapabilities = {
    families: [...(families.ipv4 ? ['ipv4' as const] : []), ...(families.ipv6 ? ['ipv6' as const] : [])],
    fourOctetAs: ctx.fourOctetAs,
    routeRefresh: both('route-refresh'),
    enhancedRouteRefresh: both('enhanced-route-refresh'),
    gracefulRestart: both('graceful-restart'),
    peerRestarting: findCapability(remote, 'graceful-restart')?.restarting ?? false,
    addPath: {
      ipv4: { send: ctx.addPath.ipv4.send, receive: ctx.addPath.ipv4.receive },
      ipv6: { send: ctx.addPath.ipv6.send, receive: ctx.addPath.ipv6.receive },
    },
    extendedMessage: ctx.extendedMessage.send && ctx.extendedMessage.receive,
  };
  return { ctx, families, capabilities };
}
