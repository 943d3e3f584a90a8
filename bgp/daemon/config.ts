// The twill-bgp YAML config: parsed with positions, checked field by field, turned into the
// speaker's SpeakerConfig plus the daemon's own settings (kernel route install). Every problem is
// reported as "FILE:LINE: path: what is wrong", all of them at once (see ./yaml-reader.ts).
import { readFile } from 'node:fs/promises';
import { RT_TABLE_MAIN } from '../../src/netlink/index.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../packet/index.js';
import type {
  BackoffConfig,
  FamilyName,
  MaxPrefixesAction,
  NeighborConfig,
  OriginateConfig,
  PrefixPolicy,
  PrefixRule,
  SpeakerConfig,
} from '../server/types.js';
import { ConfigError } from './errors.js';
import { YamlReader, type Field } from './yaml-reader.js';

/** Installing Loc-RIB best paths into the kernel FIB of the daemon's network namespace. */
export interface KernelConfig {
  install: boolean;
  /** Routing table (default 254, main). */
  table: number;
  /** Route priority; absent = kernel default. */
  metric: number | undefined;
  /** ECMP next hops per route (the speaker's maxPaths); absent = 1. */
  maxPaths?: number;
}

export interface DaemonConfig {
  speaker: SpeakerConfig;
  kernel: KernelConfig;
}

const TOP_KEYS = [
  'routerId',
  'asn',
  'listen',
  'holdTime',
  'keepalive',
  'connectRetry',
  'backoff',
  'neighbors',
  'originate',
  'nextHop',
  'alwaysCompareMed',
  'ebgpRequiresPolicy',
  'kernel',
  'clusterId',
  'maxPaths',
  'gracefulRestart',
] as const;

const NEIGHBOR_KEYS = [
  'address',
  'asn',
  'description',
  'passive',
  'port',
  'localAddress',
  'holdTime',
  'keepalive',
  'connectRetry',
  'import',
  'export',
  'nextHopSelf',
  'nextHop',
  'families',
  'gracefulRestart',
  'addPath',
  'extendedMessage',
  'routeReflectorClient',
  'password',
  'ttlSecurity',
  'maxPrefixes',
] as const;

const MAX_U32 = 0xffffffff;

/** Parses and checks a config; throws ConfigError listing every problem with its line. */
export function parseConfig(text: string, file: string): DaemonConfig {
  const r = new YamlReader(text);
  if (r.broken) throw new ConfigError(file, r.problems);
  if (r.isNull(r.root)) throw new ConfigError(file, [{ line: 1, path: '', message: 'the file is empty' }], 'see bgp/README.md for an example config');
  const cfg = new ConfigParser(r).top(r.root);
  if (r.problems.length > 0 || !cfg) throw new ConfigError(file, r.problems);
  return cfg;
}

export async function loadConfig(file: string): Promise<DaemonConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{ line: 0, path: '', message: `cannot read the config file (${code ?? (e as Error).message})` }]);
  }
  return parseConfig(text, file);
}

/** Canonical text of an IP address, or undefined. `family` restricts it. */
export function canonicalIp(s: string, family?: 4 | 6): string | undefined {
  try {
    if (s.includes(':')) return family === 4 ? undefined : formatIpv6(parseIpv6(s));
    return family === 6 ? undefined : formatIpv4(parseIpv4(s));
  } catch {
    return undefined;
  }
}

/** "65000", 65000 or asdot "1.10" (= 65546) to a number; undefined when not an AS number form. */
export function parseAsn(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const dot = /^(\d{1,5})\.(\d{1,5})$/.exec(v);
  if (dot) {
    const hi = Number(dot[1]);
    const lo = Number(dot[2]);
    return hi <= 65535 && lo <= 65535 ? hi * 65536 + lo : undefined;
  }
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

export interface CheckedPrefix {
  /** Canonical text, e.g. "10.0.0.0/24", "2001:db8::/48". */
  text: string;
  family: 4 | 6;
  len: number;
}

/** Checks a prefix: valid, and no host bits set (the error then names the corrected form). */
export function checkPrefix(s: string): CheckedPrefix | { error: string } {
  const bad = { error: `${JSON.stringify(s)} is not a prefix: write it like 10.0.0.0/24 or 2001:db8::/48` };
  const slash = s.indexOf('/');
  if (slash < 0 || !/^\d{1,3}$/.test(s.slice(slash + 1))) return bad;
  const len = Number(s.slice(slash + 1));
  const addr = s.slice(0, slash);
  if (addr.includes(':')) {
    if (len > 128) return bad;
    let buf: Buffer;
    try {
      buf = parseIpv6(addr);
    } catch {
      return bad;
    }
    const masked = Buffer.from(buf);
    for (let bit = len; bit < 128; bit++) masked[bit >> 3]! &= ~(0x80 >> (bit & 7));
    const text = `${formatIpv6(masked)}/${len}`;
    if (!masked.equals(buf)) return { error: `${s} has host bits set: did you mean ${text}?` };
    return { text, family: 6, len };
  }
  if (len > 32) return bad;
  let a: number;
  try {
    a = parseIpv4(addr);
  } catch {
    return bad;
  }
  const masked = len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0;
  const text = `${formatIpv4(masked)}/${len}`;
  if (masked !== a) return { error: `${s} has host bits set: did you mean ${text}?` };
  return { text, family: 4, len };
}

class ConfigParser {
  constructor(private readonly r: YamlReader) {}

  top(f: Field): DaemonConfig | undefined {
    const r = this.r;
    const m = r.map(f, TOP_KEYS);
    if (!m) return undefined;
    const routerIdF = this.required(f, m, 'routerId', 'the BGP identifier, a dotted IPv4 address such as 192.0.2.1');
    const asnF = this.required(f, m, 'asn', 'our AS number, 1..4294967295');
    const routerId = routerIdF && this.routerId(routerIdF);
    const asn = asnF && this.asn(asnF);
    const cfg: SpeakerConfig = { routerId: routerId ?? '0.0.0.0', asn: asn ?? 0, neighbors: [] };
    const v = (k: string): Field | undefined => m.get(k);
    let f2: Field | undefined;
    if ((f2 = v('listen'))) cfg.listen = this.listen(f2);
    if ((f2 = v('holdTime'))) cfg.holdTime = this.holdTime(f2);
    if ((f2 = v('keepalive'))) cfg.keepalive = r.seconds(f2, 1, 21845);
    if ((f2 = v('connectRetry'))) cfg.connectRetry = r.seconds(f2, 0.01, 3600);
    if ((f2 = v('backoff'))) cfg.backoff = this.backoff(f2);
    if ((f2 = v('nextHop'))) cfg.nextHop = this.nextHop(f2);
    if ((f2 = v('alwaysCompareMed'))) cfg.alwaysCompareMed = r.bool(f2);
    if ((f2 = v('ebgpRequiresPolicy'))) cfg.ebgpRequiresPolicy = r.bool(f2);
    if ((f2 = v('clusterId'))) {
      const s = r.scalar(f2);
      const ip = typeof s === 'string' ? canonicalIp(s, 4) : typeof s === 'number' && Number.isInteger(s) && s >= 0 && s <= MAX_U32 ? formatIpv4(s) : undefined;
      if (ip === undefined) r.problem(f2, `${r.describe(f2)} is not a cluster id: write it as a dotted quad, e.g. 10.0.0.1`);
      else cfg.clusterId = ip;
    }
    if ((f2 = v('maxPaths'))) cfg.maxPaths = r.integer(f2, 1, 256);
    if ((f2 = v('gracefulRestart'))) {
      const gm = r.map(f2, ['enabled', 'restartTime', 'stalePathTime']);
      if (gm) {
        const en = gm.get('enabled');
        const rt = gm.get('restartTime');
        const sp = gm.get('stalePathTime');
        cfg.gracefulRestart = stripUndefined({
          enabled: en ? (r.bool(en) ?? false) : true,
          restartTime: rt ? r.integer(rt, 0, 4095) : undefined,
          stalePathTime: sp ? r.integer(sp, 1, 65535) : undefined,
        });
      }
    }
    this.keepaliveVsHold(m.get('keepalive'), cfg.keepalive, cfg.holdTime);
    if ((f2 = v('neighbors'))) cfg.neighbors = this.neighbors(f2);
    if ((f2 = v('originate'))) cfg.originate = this.originate(f2);
    const kf = v('kernel');
    const kernel = kf ? this.kernel(kf) : undefined;
    const k = kernel ?? { install: false, table: RT_TABLE_MAIN, metric: undefined };
    if (cfg.maxPaths !== undefined && cfg.maxPaths > 1) k.maxPaths = cfg.maxPaths;
    return { speaker: stripUndefined(cfg), kernel: k };
  }

  private required(parent: Field, m: Map<string, Field>, key: string, what: string): Field | undefined {
    const f = m.get(key);
    if (!f) {
      this.r.problems.push({ line: this.r.lineOf(parent), path: parent.path ? `${parent.path}.${key}` : key, message: `missing: ${what}` });
      return undefined;
    }
    return f;
  }

  private routerId(f: Field): string | undefined {
    const s = this.r.scalar(f);
    const ip = typeof s === 'string' ? canonicalIp(s, 4) : undefined;
    if (ip === undefined) return this.r.problem(f, `${this.r.describe(f)} is not a dotted IPv4 address (the BGP identifier is 32 bits, written like 192.0.2.1)`);
    if (ip === '0.0.0.0') return this.r.problem(f, '0.0.0.0 is not a valid BGP identifier');
    return ip;
  }

  private asn(f: Field): number | undefined {
    const v = this.r.scalar(f);
    // asdot "1.10" is read by YAML as the float 1.1: go back to the text.
    const n = parseAsn(typeof v === 'number' && !Number.isInteger(v) ? this.r.source(f) : v);
    if (n === undefined) return this.r.problem(f, `${this.r.describe(f)} is not an AS number (write 65000, or asdot 1.10)`);
    if (n < 1 || n > MAX_U32) return this.r.problem(f, `${n} is out of range 1..4294967295`);
    return n;
  }

  private address(f: Field, family?: 4 | 6): string | undefined {
    const s = this.r.scalar(f);
    const ip = typeof s === 'string' ? canonicalIp(s, family) : undefined;
    if (ip === undefined) {
      const want = family === 4 ? 'an IPv4 address' : family === 6 ? 'an IPv6 address' : 'an IP address';
      return this.r.problem(f, `${this.r.describe(f)} is not ${want}`);
    }
    return ip;
  }

  private holdTime(f: Field): number | undefined {
    const h = this.r.integer(f, 0, 65535);
    if (h === 1 || h === 2) return this.r.problem(f, `${h} is not allowed: use 0 (no keepalives) or 3..65535 seconds (RFC 4271 §4.2)`);
    return h;
  }

  private keepaliveVsHold(f: Field | undefined, keepalive: number | undefined, hold: number | undefined): void {
    if (f && keepalive !== undefined && hold !== undefined && hold > 0 && keepalive >= hold) {
      this.r.problem(f, `${keepalive} is not shorter than holdTime ${hold} (a third of it is usual)`);
    }
  }

  private listen(f: Field): SpeakerConfig['listen'] {
    if (this.r.scalar(f) === false) return false;
    const m = this.r.map(f, ['address', 'port']);
    if (!m) return undefined;
    const out: { address?: string; port: number } = { port: 179 };
    const a = m.get('address');
    if (a) {
      const ip = this.address(a);
      if (ip) out.address = ip;
    }
    const p = m.get('port');
    if (p) out.port = this.r.integer(p, 0, 65535) ?? 179;
    return out;
  }

  private backoff(f: Field): BackoffConfig | undefined {
    const m = this.r.map(f, ['idleHold', 'idleHoldMax', 'connectRetryMax', 'stableTime']);
    if (!m) return undefined;
    const out: BackoffConfig = {};
    for (const [k, v] of m) out[k as keyof BackoffConfig] = this.r.seconds(v, 0, 86400);
    return stripUndefined(out);
  }

  private nextHop(f: Field): { ipv4?: string; ipv6?: string } | undefined {
    const m = this.r.map(f, ['ipv4', 'ipv6']);
    if (!m) return undefined;
    const out: { ipv4?: string; ipv6?: string } = {};
    const v4 = m.get('ipv4');
    const v6 = m.get('ipv6');
    if (v4) out.ipv4 = this.address(v4, 4);
    if (v6) out.ipv6 = this.address(v6, 6);
    return stripUndefined(out);
  }

  private neighbors(f: Field): NeighborConfig[] {
    const items = this.r.list(f) ?? [];
    const seen = new Map<string, number>();
    const out: NeighborConfig[] = [];
    for (const item of items) {
      const n = this.neighbor(item);
      if (!n) continue;
      const line = this.r.lineOf(item);
      const prev = seen.get(n.address);
      if (prev !== undefined) {
        this.r.problem(item, `neighbour ${n.address} is already configured at line ${prev}`);
        continue;
      }
      seen.set(n.address, line);
      out.push(n);
    }
    return out;
  }

  private neighbor(f: Field): NeighborConfig | undefined {
    const r = this.r;
    const m = r.map(f, NEIGHBOR_KEYS);
    if (!m) return undefined;
    const af = this.required(f, m, 'address', "the peer's IP address");
    const asF = this.required(f, m, 'asn', "the peer's AS number, 1..4294967295");
    const address = af && this.address(af);
    const asn = asF && this.asn(asF);
    if (address === undefined || asn === undefined) {
      // Still check the rest of the entry so all problems show at once.
      this.neighborRest(m, undefined);
      return undefined;
    }
    const n: NeighborConfig = { address, asn };
    this.neighborRest(m, n);
    return stripUndefined(n);
  }

  private neighborRest(m: Map<string, Field>, n: NeighborConfig | undefined): void {
    const r = this.r;
    const out: Partial<NeighborConfig> = {};
    const family = n ? (n.address.includes(':') ? 6 : 4) : undefined;
    for (const [k, f] of m) {
      switch (k) {
        case 'address':
        case 'asn':
          break;
        case 'description':
          out.description = r.string(f);
          break;
        case 'passive':
          out.passive = r.bool(f);
          break;
        case 'port':
          out.port = r.integer(f, 1, 65535);
          break;
        case 'localAddress': {
          const ip = this.address(f);
          if (ip !== undefined && family !== undefined && (ip.includes(':') ? 6 : 4) !== family) {
            r.problem(f, `${ip} is not of the same family as the neighbour address ${n?.address}`);
          } else out.localAddress = ip;
          break;
        }
        case 'holdTime':
          out.holdTime = this.holdTime(f);
          break;
        case 'keepalive':
          out.keepalive = r.seconds(f, 1, 21845);
          break;
        case 'connectRetry':
          out.connectRetry = r.seconds(f, 0.01, 3600);
          break;
        case 'import':
          out.importPolicy = this.policy(f);
          break;
        case 'export':
          out.exportPolicy = this.policy(f);
          break;
        case 'nextHopSelf':
          out.nextHopSelf = r.bool(f);
          break;
        case 'nextHop':
          out.nextHop = this.nextHop(f);
          break;
        case 'families':
          out.families = this.families(f);
          break;
        case 'gracefulRestart': {
          const gb = r.scalar(f);
          if (typeof gb === 'boolean') {
            out.gracefulRestart = gb;
            break;
          }
          const gm = r.map(f, ['restartTime']);
          const rt = gm?.get('restartTime');
          if (gm && !rt) r.problem(f, 'missing restartTime (seconds, 0..4095)');
          const t = rt ? r.integer(rt, 0, 4095) : undefined;
          if (t !== undefined) out.gracefulRestart = { restartTime: t };
          break;
        }
        case 'addPath': {
          const am = r.map(f, ['send', 'receive']);
          if (am) {
            const s = am.get('send');
            const rc = am.get('receive');
            const sv = s ? r.scalar(s) : undefined;
            const send = s === undefined ? undefined : typeof sv === 'number' ? r.integer(s, 1, 255) : r.bool(s);
            out.addPath = stripUndefined({ send, receive: rc ? r.bool(rc) : undefined });
          }
          break;
        }
        case 'extendedMessage':
          out.extendedMessage = r.bool(f);
          break;
        case 'routeReflectorClient':
          out.routeReflectorClient = r.bool(f);
          break;
        case 'password': {
          const pw = r.string(f);
          if (pw !== undefined && (pw.length === 0 || Buffer.byteLength(pw) > 80)) r.problem(f, 'a TCP MD5 password is 1..80 bytes');
          else out.password = pw;
          break;
        }
        case 'ttlSecurity':
          out.ttlSecurity = r.integer(f, 1, 254);
          break;
        case 'maxPrefixes': {
          if (typeof r.scalar(f) === 'number') {
            out.maxPrefixes = r.integer(f, 1, MAX_U32);
            break;
          }
          const mm = r.map(f, ['limit', 'ipv4', 'ipv6', 'action', 'restartAfter']);
          if (!mm) break;
          const num = (k: string): number | undefined => {
            const x = mm.get(k);
            return x ? r.integer(x, 1, MAX_U32) : undefined;
          };
          const limit = num('limit');
          const ipv4 = num('ipv4');
          const ipv6 = num('ipv6');
          if (!mm.has('limit') && !mm.has('ipv4') && !mm.has('ipv6')) {
            r.problem(f, 'missing limit, ipv4 or ipv6 (the most prefixes accepted from this neighbour: both families together, or per family)');
            break;
          }
          const af = mm.get('action');
          const actionText = af ? r.string(af) : undefined;
          let action: MaxPrefixesAction | undefined;
          if (actionText !== undefined) {
            if (actionText === 'warn' || actionText === 'stop' || actionText === 'reset') action = actionText;
            else r.problem(af!, `action ${JSON.stringify(actionText)} must be warn, stop or reset`);
          }
          const ra = mm.get('restartAfter');
          const restartAfter = ra ? r.seconds(ra, 1, 86400) : undefined;
          if (ra && action !== undefined && action !== 'reset') r.problem(ra, `restartAfter is for action reset (action is ${action})`);
          out.maxPrefixes = stripUndefined({ limit, ipv4, ipv6, action, restartAfter });
          break;
        }
      }
    }
    this.keepaliveVsHold(m.get('keepalive'), out.keepalive, out.holdTime);
    if (n) Object.assign(n, out);
  }

  private families(f: Field): FamilyName[] | undefined {
    const items = this.r.list(f);
    if (!items) return undefined;
    const out: FamilyName[] = [];
    for (const i of items) {
      const v = this.r.scalar(i);
      if (v !== 'ipv4' && v !== 'ipv6') this.r.problem(i, `${this.r.describe(i)} is not a family: use ipv4 or ipv6`);
      else if (!out.includes(v)) out.push(v);
    }
    if (items.length === 0) this.r.problem(f, 'is empty: list ipv4 and/or ipv6');
    return out;
  }

  /**
   * A prefix policy: `all` / `none` (or accept / reject), or
   * `{ default: accept|reject, rules: [{ prefix, ge?, le?, action? }] }`.
   */
  private policy(f: Field): PrefixPolicy | undefined {
    const r = this.r;
    const s = r.scalar(f);
    if (s === 'all' || s === 'accept') return { default: 'accept', rules: [] };
    if (s === 'none' || s === 'reject') return { default: 'reject', rules: [] };
    if (typeof s === 'string' || typeof s === 'number' || typeof s === 'boolean' || s === null) {
      return r.problem(f, `${r.describe(f)} is not a policy: write all, none, or a map with default and rules`);
    }
    const m = r.map(f, ['default', 'rules']);
    if (!m) return undefined;
    const d = m.get('default');
    let def: 'accept' | 'reject' = 'reject';
    if (d) {
      const dv = r.scalar(d);
      if (dv === 'accept' || dv === 'reject') def = dv;
      else r.problem(d, `${r.describe(d)} is not accept or reject`);
    }
    const rules: PrefixRule[] = [];
    const rf = m.get('rules');
    for (const item of (rf && r.list(rf)) || []) {
      const rule = this.rule(item);
      if (rule) rules.push(rule);
    }
    return { default: def, rules };
  }

  private rule(f: Field): PrefixRule | undefined {
    const r = this.r;
    const m = r.map(f, ['prefix', 'ge', 'le', 'action']);
    if (!m) return undefined;
    const pf = this.required(f, m, 'prefix', 'the prefix this rule matches, e.g. 10.0.0.0/8');
    const p = pf && this.prefix(pf);
    let action: 'accept' | 'reject' = 'accept';
    const af = m.get('action');
    if (af) {
      const v = r.scalar(af);
      if (v === 'accept' || v === 'reject') action = v;
      else r.problem(af, `${r.describe(af)} is not accept or reject`);
    }
    if (!p) return undefined;
    const max = p.family === 4 ? 32 : 128;
    const rule: PrefixRule = { prefix: p.text, action };
    const gf = m.get('ge');
    const lf = m.get('le');
    if (gf) {
      const ge = r.integer(gf, p.len, max);
      if (ge !== undefined) rule.ge = ge;
    }
    if (lf) {
      const le = r.integer(lf, rule.ge ?? p.len, max);
      if (le !== undefined) rule.le = le;
    }
    return rule;
  }

  /** A prefix with its host bits clear (reported otherwise, with the corrected form). */
  private prefix(f: Field): CheckedPrefix | undefined {
    const s = this.r.scalar(f);
    const c = checkPrefix(typeof s === 'string' ? s : this.r.describe(f));
    if ('error' in c) return this.r.problem(f, c.error);
    return c;
  }

  private originate(f: Field): OriginateConfig[] {
    const r = this.r;
    const out: OriginateConfig[] = [];
    const seen = new Map<string, number>();
    for (const item of r.list(f) ?? []) {
      let o: OriginateConfig | undefined;
      if (typeof r.scalar(item) === 'string') {
        const p = this.prefix(item);
        if (p) o = { prefix: p.text };
      } else {
        o = this.originateEntry(item);
      }
      if (!o) continue;
      const prev = seen.get(o.prefix);
      if (prev !== undefined) {
        r.problem(item, `${o.prefix} is already originated at line ${prev}`);
        continue;
      }
      seen.set(o.prefix, r.lineOf(item));
      out.push(o);
    }
    return out;
  }

  private originateEntry(f: Field): OriginateConfig | undefined {
    const r = this.r;
    const m = r.map(f, ['prefix', 'nextHop', 'communities', 'localPref', 'med']);
    if (!m) return undefined;
    const pf = this.required(f, m, 'prefix', 'the prefix to announce, e.g. 10.0.0.0/24');
    const p = pf && this.prefix(pf);
    const o: OriginateConfig = { prefix: p?.text ?? '' };
    const nh = m.get('nextHop');
    if (nh) {
      const ip = this.address(nh, p?.family);
      if (ip) o.nextHop = ip;
    }
    const cf = m.get('communities');
    if (cf) o.communities = this.communities(cf);
    const lp = m.get('localPref');
    if (lp) o.localPref = r.integer(lp, 0, MAX_U32);
    const med = m.get('med');
    if (med) o.med = r.integer(med, 0, MAX_U32);
    return p ? stripUndefined(o) : undefined;
  }

  private communities(f: Field): string[] {
    const r = this.r;
    const out: string[] = [];
    for (const item of r.list(f) ?? []) {
      const v = r.scalar(item);
      const s = typeof v === 'string' ? v.toLowerCase() : '';
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
      if (m && Number(m[1]) <= 65535 && Number(m[2]) <= 65535) out.push(`${Number(m[1])}:${Number(m[2])}`);
      else if (['no-export', 'no-advertise', 'no-export-subconfed', 'no-peer'].includes(s)) out.push(s);
      else r.problem(item, `${r.describe(item)} is not a community: write ASN:VALUE (each 0..65535), or no-export / no-advertise`);
    }
    return out;
  }

  private kernel(f: Field): KernelConfig | undefined {
    const r = this.r;
    const b = r.scalar(f);
    if (typeof b === 'boolean') return { install: b, table: RT_TABLE_MAIN, metric: undefined };
    const m = r.map(f, ['install', 'table', 'metric']);
    if (!m) return undefined;
    const k: KernelConfig = { install: false, table: RT_TABLE_MAIN, metric: undefined };
    const i = m.get('install');
    if (i) k.install = r.bool(i) ?? false;
    const t = m.get('table');
    if (t) k.table = r.integer(t, 1, MAX_U32) ?? RT_TABLE_MAIN;
    const met = m.get('metric');
    if (met) k.metric = r.integer(met, 0, MAX_U32);
    return k;
  }
}

/** Drops keys whose value is undefined (so optional fields are absent, not undefined). */
function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
