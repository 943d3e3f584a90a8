// Checks a SpeakerConfig and fills in the defaults. Every problem names the field at fault.
import { TwillError } from '../../src/errors.js';
import { AFI_IPV4, formatIpv4, formatIpv6, parseIpv4, parseIpv6, parsePrefix, type Prefix } from '../packet/index.js';
import type { FsmConfig } from '../fsm/types.js';
import { ACCEPT_ALL, REJECT_ALL_RFC8212, compilePolicy, PolicyError, type CompiledPolicy } from '../rib/policy.js';
import type { OpenSettings } from '../session/open.js';
import type { LocalPath, NeighborConfig, SpeakerConfig } from './types.js';

export class SpeakerConfigError extends TwillError {
  constructor(message: string, hint?: string) {
    super('BGP_CONFIG_INVALID', message, hint ? { hint } : undefined);
  }
}

export interface ResolvedNeighbor {
  readonly config: NeighborConfig;
  /** Canonical address text (RFC 5952 for IPv6, no zone). */
  readonly address: string;
  /** What to connect to (keeps an IPv6 zone such as %eth0). */
  readonly connectHost: string;
  readonly addressKey: string;
  readonly port: number;
  readonly asn: number;
  readonly localAddress: string | undefined;
  readonly fsm: FsmConfig;
  readonly open: OpenSettings;
  /** RFC 9687 send hold time override (seconds); undefined = max(480, 2 × negotiated hold time). */
  readonly sendHoldTime: number | undefined;
  readonly importPolicy: CompiledPolicy;
  readonly exportPolicy: CompiledPolicy;
}

export interface ResolvedConfig {
  readonly config: SpeakerConfig;
  readonly routerId: number;
  readonly asn: number;
  readonly listen: { address: string | undefined; port: number } | false;
  readonly neighbors: readonly ResolvedNeighbor[];
}

function fail(msg: string, hint?: string): never {
  throw new SpeakerConfigError(msg, hint);
}

function asnOk(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
}

function seconds(v: unknown, what: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(`${what} must be a number of seconds >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function holdTimeOf(v: unknown, what: string): number | undefined {
  const h = seconds(v, what);
  if (h === undefined) return undefined;
  if (!Number.isInteger(h) || h > 65535 || h === 1 || h === 2) fail(`${what} ${h} is not allowed`, 'use 0 (no keepalives) or 3..65535 seconds (RFC 4271 §4.2)');
  return h;
}

/** Canonical text of an address; throws SpeakerConfigError naming `what`. */
export function canonicalAddress(s: string, what: string): string {
  try {
    const bare = s.includes('%') ? s.slice(0, s.indexOf('%')) : s;
    return bare.includes(':') ? formatIpv6(parseIpv6(bare)) : formatIpv4(parseIpv4(bare));
  } catch {
    return fail(`${what} "${s}" is not an IP address`);
  }
}

/** A key that sorts addresses: IPv4 before IPv6, then numerically. */
export function addressKey(canonical: string): string {
  if (!canonical.includes(':')) return `4${parseIpv4(canonical).toString(16).padStart(8, '0')}`;
  return `6${parseIpv6(canonical).toString('hex')}`;
}

export function parseCommunity(s: string, what: string): number {
  const wk: Record<string, number> = {
    'no-export': 0xffffff01,
    'no-advertise': 0xffffff02,
    'no-export-subconfed': 0xffffff03,
    'no-peer': 0xffffff04,
  };
  const named = wk[s.toLowerCase()];
  if (named !== undefined) return named;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) return fail(`${what} "${s}" is not a community`, 'write it as ASN:VALUE (each 0..65535), or no-export / no-advertise');
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

export function parsePrefixText(s: string, what: string): Prefix {
  try {
    return parsePrefix(s);
  } catch {
    return fail(`${what} "${s}" is not a prefix`, 'write it like 10.0.0.0/24 or 2001:db8::/64');
  }
}

export function validateLocalPath(p: LocalPath, what: string): void {
  parsePrefixText(p.prefix, `${what} prefix`);
  if (p.nextHop !== undefined) canonicalAddress(p.nextHop, `${what} nextHop`);
  for (const c of p.communities ?? []) parseCommunity(c, `${what} community`);
  if (p.localPref !== undefined && !(Number.isInteger(p.localPref) && p.localPref >= 0 && p.localPref <= 0xffffffff)) fail(`${what} localPref must be 0..4294967295`);
  if (p.med !== undefined && !(Number.isInteger(p.med) && p.med >= 0 && p.med <= 0xffffffff)) fail(`${what} med must be 0..4294967295`);
}

export function resolveConfig(cfg: SpeakerConfig): ResolvedConfig {
  let routerId: number;
  try {
    routerId = parseIpv4(cfg.routerId);
  } catch {
    return fail(`routerId "${cfg.routerId}" is not a dotted IPv4 address`, 'use the node\'s IPv4 address, e.g. 192.0.2.10');
  }
  if (routerId === 0) fail('routerId 0.0.0.0 is not a valid BGP identifier');
  if (!asnOk(cfg.asn)) fail(`asn ${JSON.stringify(cfg.asn)} is not an AS number (1..4294967295)`);
  const hold = holdTimeOf(cfg.holdTime, 'holdTime') ?? 90;
  const keepalive = seconds(cfg.keepalive, 'keepalive', 1);
  const connectRetry = seconds(cfg.connectRetry, 'connectRetry', 0.01) ?? 5;
  const sendHoldTime = seconds(cfg.sendHoldTime, 'sendHoldTime', 0.01);
  const b = cfg.backoff ?? {};
  const idleHold = seconds(b.idleHold, 'backoff.idleHold') ?? 1;
  const idleHoldMax = seconds(b.idleHoldMax, 'backoff.idleHoldMax') ?? 120;
  const connectRetryMax = seconds(b.connectRetryMax, 'backoff.connectRetryMax') ?? 60;
  const stableTime = seconds(b.stableTime, 'backoff.stableTime') ?? 60;
  let listen: ResolvedConfig['listen'];
  if (cfg.listen === false) listen = false;
  else {
    const l = cfg.listen ?? { port: 179 };
    if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535) fail(`listen.port ${JSON.stringify(l.port)} is not a TCP port`);
    listen = { address: l.address === undefined ? undefined : canonicalAddress(l.address, 'listen.address'), port: l.port };
  }
  if (cfg.nextHop?.ipv4 !== undefined && cfg.nextHop.ipv4.includes(':')) fail(`nextHop.ipv4 "${cfg.nextHop.ipv4}" is not an IPv4 address`);
  if (cfg.nextHop?.ipv6 !== undefined && !cfg.nextHop.ipv6.includes(':')) fail(`nextHop.ipv6 "${cfg.nextHop.ipv6}" is not an IPv6 address`);
  if (cfg.nextHop?.ipv4) canonicalAddress(cfg.nextHop.ipv4, 'nextHop.ipv4');
  if (cfg.nextHop?.ipv6) canonicalAddress(cfg.nextHop.ipv6, 'nextHop.ipv6');
  const ebgpRequiresPolicy = cfg.ebgpRequiresPolicy ?? true;
  const seen = new Set<string>();
  const neighbors = (cfg.neighbors ?? []).map((n, i): ResolvedNeighbor => {
    const what = `neighbors[${i}]`;
    if (typeof n.address !== 'string') fail(`${what}.address is missing`);
    const address = canonicalAddress(n.address, `${what}.address`);
    if (seen.has(address)) fail(`${what}: neighbour ${address} is configured twice`);
    seen.add(address);
    const w = `neighbour ${address}`;
    if (!asnOk(n.asn)) fail(`${w}: asn ${JSON.stringify(n.asn)} is not an AS number (1..4294967295)`);
    const port = n.port ?? 179;
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${w}: port ${JSON.stringify(n.port)} is not a TCP port`);
    const localAddress = n.localAddress === undefined ? undefined : canonicalAddress(n.localAddress, `${w} localAddress`);
    if (localAddress !== undefined && localAddress.includes(':') !== address.includes(':')) fail(`${w}: localAddress ${localAddress} is not of the same family as the neighbour address`);
    if (n.nextHop?.ipv4 !== undefined && (n.nextHop.ipv4.includes(':') || !canonicalAddress(n.nextHop.ipv4, `${w} nextHop.ipv4`))) fail(`${w}: nextHop.ipv4 is not an IPv4 address`);
    if (n.nextHop?.ipv6 !== undefined && (!n.nextHop.ipv6.includes(':') || !canonicalAddress(n.nextHop.ipv6, `${w} nextHop.ipv6`))) fail(`${w}: nextHop.ipv6 is not an IPv6 address`);
    const fams = n.families ?? ['ipv4', 'ipv6'];
    for (const f of fams) if (f !== 'ipv4' && f !== 'ipv6') fail(`${w}: family ${JSON.stringify(f)} is not ipv4 or ipv6`);
    if (fams.length === 0) fail(`${w}: families is empty`, 'list ipv4 and/or ipv6');
    const families = { ipv4: fams.includes('ipv4'), ipv6: fams.includes('ipv6') };
    const ebgp = n.asn !== cfg.asn;
    let importPolicy: CompiledPolicy;
    let exportPolicy: CompiledPolicy;
    try {
      importPolicy = n.importPolicy ? compilePolicy(n.importPolicy, `import policy of ${w}`) : ebgp && ebgpRequiresPolicy ? REJECT_ALL_RFC8212 : ACCEPT_ALL;
      exportPolicy = n.exportPolicy ? compilePolicy(n.exportPolicy, `export policy of ${w}`) : ebgp && ebgpRequiresPolicy ? REJECT_ALL_RFC8212 : ACCEPT_ALL;
    } catch (e) {
      if (e instanceof PolicyError) fail(e.message, e.hint);
      throw e;
    }
    const nHold = holdTimeOf(n.holdTime, `${w}: holdTime`) ?? hold;
    const fsm: FsmConfig = {
      localId: routerId,
      peerAs: n.asn,
      passive: !!n.passive,
      holdTime: nHold,
      keepalive: seconds(n.keepalive, `${w}: keepalive`, 1) ?? keepalive,
      connectRetry: seconds(n.connectRetry, `${w}: connectRetry`, 0.01) ?? connectRetry,
      connectRetryMax,
      idleHold,
      idleHoldMax,
      stableTime,
      openHoldTime: 240,
    };
    if (n.gracefulRestart && !(Number.isInteger(n.gracefulRestart.restartTime) && n.gracefulRestart.restartTime >= 0 && n.gracefulRestart.restartTime <= 4095)) {
      fail(`${w}: gracefulRestart.restartTime must be 0..4095 seconds`);
    }
    const open: OpenSettings = {
      asn: cfg.asn,
      routerId,
      holdTime: nHold,
      families,
      gracefulRestart: n.gracefulRestart,
      addPath: n.addPath,
      extendedMessage: n.extendedMessage,
    };
    return {
      config: n,
      address,
      connectHost: n.address,
      addressKey: addressKey(address),
      port,
      asn: n.asn,
      localAddress,
      fsm,
      open,
      sendHoldTime,
      importPolicy,
      exportPolicy,
    };
  });
  (cfg.originate ?? []).forEach((o, i) => validateLocalPath(o, `originate[${i}]`));
  return { config: cfg, routerId, asn: cfg.asn, listen, neighbors };
}

export function familyOf(p: Prefix): 4 | 6 {
  return p.afi === AFI_IPV4 ? 4 : 6;
}
