// Checks a SpeakerConfig and fills in the defaults. Every problem names the field at fault.
import { TwillError } from '../../src/errors.js';
import { AFI_IPV4, formatIpv4, formatIpv6, parseIpv4, parseIpv6, parsePrefix, type Prefix } from '../packet/index.js';
import type { FsmConfig } from '../fsm/types.js';
import { ACCEPT_ALL, REJECT_ALL_RFC8212, compilePolicy, PolicyError, type CompiledPolicy } from '../rib/policy.js';
import type { OpenSettings } from '../session/open.js';
import type { LocalPath, MaxPrefixesAction, MaxPrefixesConfig, MaxPrefixesScope, NeighborConfig, SpeakerConfig } from './types.js';

export class SpeakerConfigError extends TwillError {
  constructor(message: string, hint?: string) {
    super('BgpConfigInvalid', message, hint ? { hint } : undefined);
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
  readonly rrClient: boolean;
  readonly password: string | undefined;
  /** GTSM hops (RFC 5082), undefined = off. */
  readonly ttlSecurity: number | undefined;
  readonly maxPrefixes: ResolvedMaxPrefixes | undefined;
  /** Graceful restart with this neighbour (our advertised restart time), undefined = off. */
  readonly gracefulRestart: { readonly restartTime: number } | undefined;
  /** ADD-PATH send: paths per prefix we send (0 = no ADD-PATH send, Infinity = all). */
  readonly addPathSend: number;
}

export interface ResolvedMaxPrefixes {
  /** The limits set, by scope ('total' = both families together). */
  readonly limits: readonly { readonly scope: MaxPrefixesScope; readonly limit: number }[];
  readonly action: MaxPrefixesAction;
  readonly restartAfter: number | undefined;
}

export interface ResolvedConfig {
  readonly config: SpeakerConfig;
  readonly routerId: number;
  readonly asn: number;
  readonly listen: { address: string | undefined; port: number } | false;
  readonly neighbors: readonly ResolvedNeighbor[];
  /** RFC 4456 cluster id (uint32) when we reflect; undefined otherwise. */
  readonly clusterId: number | undefined;
  readonly maxPaths: number;
  /** Graceful restart: how long a restarting peer's routes are kept stale at most (s). */
  readonly stalePathTime: number;
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
  let clusterId: number | undefined;
  if (cfg.clusterId !== undefined) {
    try {
      clusterId = parseIpv4(cfg.clusterId);
    } catch {
      return fail(`clusterId "${cfg.clusterId}" is not a dotted quad`, 'write it like an IPv4 address, e.g. 10.0.0.1');
    }
  }
  const maxPaths = cfg.maxPaths ?? 1;
  if (!Number.isInteger(maxPaths) || maxPaths < 1 || maxPaths > 256) fail(`maxPaths ${JSON.stringify(cfg.maxPaths)} must be 1..256`, 'use 1 for no multipath');
  const gr = cfg.gracefulRestart;
  const grTime = gr?.restartTime ?? 120;
  if (!(Number.isInteger(grTime) && grTime >= 0 && grTime <= 4095)) fail(`gracefulRestart.restartTime ${JSON.stringify(gr?.restartTime)} must be 0..4095 seconds`);
  const stalePathTime = seconds(gr?.stalePathTime, 'gracefulRestart.stalePathTime', 1) ?? 360;
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
    let grN: { restartTime: number } | undefined;
    if (typeof n.gracefulRestart === 'object' && n.gracefulRestart !== null) {
      if (!(Number.isInteger(n.gracefulRestart.restartTime) && n.gracefulRestart.restartTime >= 0 && n.gracefulRestart.restartTime <= 4095)) {
        fail(`${w}: gracefulRestart.restartTime must be 0..4095 seconds`);
      }
      grN = { restartTime: n.gracefulRestart.restartTime };
    } else if (n.gracefulRestart === true || (n.gracefulRestart === undefined && gr?.enabled)) {
      grN = { restartTime: grTime };
    } else if (n.gracefulRestart !== undefined && n.gracefulRestart !== false) {
      fail(`${w}: gracefulRestart must be true, false or { restartTime }`);
    }
    if (n.routeReflectorClient && ebgp) fail(`${w}: routeReflectorClient is for iBGP neighbours (its asn ${n.asn} is not ours, ${cfg.asn})`);
    if (n.password !== undefined && (typeof n.password !== 'string' || n.password.length === 0 || Buffer.byteLength(n.password) > 80)) {
      fail(`${w}: password must be 1..80 bytes`, 'TCP MD5 keys are at most 80 bytes (TCP_MD5SIG_MAXKEYLEN)');
    }
    if (n.ttlSecurity !== undefined && !(Number.isInteger(n.ttlSecurity) && n.ttlSecurity >= 1 && n.ttlSecurity <= 254)) {
      fail(`${w}: ttlSecurity ${JSON.stringify(n.ttlSecurity)} must be 1..254 hops`, 'use 1 for a directly connected peer');
    }
    const maxPrefixes = n.maxPrefixes === undefined ? undefined : resolveMaxPrefixes(n.maxPrefixes, w);
    const ap = n.addPath;
    const addPathSend = !ap?.send ? 0 : ap.send === true ? Infinity : ap.send;
    if (ap?.send !== undefined && typeof ap.send === 'number' && !(Number.isInteger(ap.send) && ap.send >= 1)) fail(`${w}: addPath.send must be true, false or a number of paths >= 1`);
    const open: OpenSettings = {
      asn: cfg.asn,
      routerId,
      holdTime: nHold,
      families,
      gracefulRestart: grN,
      addPath: ap ? { send: addPathSend > 0, receive: !!ap.receive } : undefined,
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
      rrClient: !!n.routeReflectorClient,
      password: n.password,
      ttlSecurity: n.ttlSecurity,
      maxPrefixes,
      gracefulRestart: grN,
      addPathSend,
    };
  });
  (cfg.originate ?? []).forEach((o, i) => validateLocalPath(o, `originate[${i}]`));
  if (clusterId === undefined && neighbors.some((n) => n.rrClient)) clusterId = routerId;
  return { config: cfg, routerId, asn: cfg.asn, listen, neighbors, clusterId, maxPaths, stalePathTime };
}

export function familyOf(p: Prefix): 4 | 6 {
  return p.afi === AFI_IPV4 ? 4 : 6;
}

const MAX_PREFIX_ACTIONS: readonly MaxPrefixesAction[] = ['warn', 'stop', 'reset'];

function resolveMaxPrefixes(v: number | MaxPrefixesConfig, w: string): ResolvedMaxPrefixes {
  const mp: MaxPrefixesConfig = typeof v === 'number' ? { limit: v } : v;
  const limits: { scope: MaxPrefixesScope; limit: number }[] = [];
  for (const [key, scope] of [['limit', 'total'], ['ipv4', 'ipv4'], ['ipv6', 'ipv6']] as const) {
    const x = mp[key];
    if (x === undefined) continue;
    if (!(Number.isInteger(x) && x >= 1 && x <= 0xffffffff)) fail(`${w}: maxPrefixes${typeof v === 'number' ? '' : `.${key}`} ${JSON.stringify(x)} must be a positive integer`);
    limits.push({ scope, limit: x });
  }
  if (limits.length === 0) fail(`${w}: maxPrefixes needs a limit`, 'set limit (both families together), ipv4 and/or ipv6');
  const action = mp.action ?? 'reset';
  if (!MAX_PREFIX_ACTIONS.includes(action)) fail(`${w}: maxPrefixes.action ${JSON.stringify(action)} must be one of ${MAX_PREFIX_ACTIONS.join(', ')}`);
  const restartAfter = seconds(mp.restartAfter, `${w}: maxPrefixes.restartAfter`, 0.01);
  if (restartAfter !== undefined && action !== 'reset') fail(`${w}: maxPrefixes.restartAfter is for action reset (action is ${action})`);
  return { limits, action, restartAfter };
}
