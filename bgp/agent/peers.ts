// Whom this node peers with: the node-to-node mesh and the BGPPeer resources (global, per node,
// per nodeSelector; to a fixed peerIP or to the nodes a peerSelector picks). Each peering
// becomes one NeighborConfig; when several sources name one address, the most specific wins.

import { compareIp, formatIp, parseIp, type IpAddr, type IpFamily } from '../../src/api/cidr.js';
import { parseSelector, type Selector } from '../../src/api/selector/index.js';
import type { BGPPeerResource, BGPPeerSpec } from '../../src/api/types.js';
import type { FamilyName, MaxPrefixesConfig, NeighborConfig } from '../server/types.js';
import { isAsn, seconds, type ClusterBgp, type NodeBgp } from './cluster.js';
import type { RoutePlan } from './routes.js';
import type { PeerInfo, PeerType } from './types.js';

/** ECMP across this many equal paths (the kernel route gets one next hop per path). */
export const AGENT_MAX_PATHS = 16;
/** Graceful restart time we advertise (s) unless a peer's maxRestartTime says otherwise. */
export const DEFAULT_RESTART_TIME = 120;

/** Lower is preferred when two sources name the same neighbour address. */
const RANK: Record<'node' | 'nodeSelector' | 'global' | 'mesh', number> = { node: 0, nodeSelector: 1, global: 2, mesh: 3 };
type Source = keyof typeof RANK;

interface Candidate {
  ip: IpAddr;
  rank: number;
  resource: string;
  neighbor: NeighborConfig;
  info: PeerInfo;
}

/** Settings shared by every session one BGPPeer (or the mesh) produces. */
interface SessionOptions {
  password?: string;
  keepalive?: number;
  holdTime?: number;
  restartTime?: number;
  ttlSecurity?: number;
  maxPrefixes?: MaxPrefixesConfig;
}

function family(f: IpFamily): FamilyName {
  return f === 4 ? 'ipv4' : 'ipv6';
}

function password(p: BGPPeerSpec['password'], what: string, problems: string[], field = 'password'): string | undefined | null {
  if (p === undefined) return undefined;
  if (p.secretKeyRef !== undefined && p.value === undefined) {
    problems.push(
      `${what}: ${field}.secretKeyRef (${p.secretKeyRef.name}/${p.secretKeyRef.key}) cannot be read: Twill has no secret store; ` +
        `write the key in ${field}.value. No session is opened without its password`,
    );
    return null;
  }
  if (p.value === undefined || p.value === '') return undefined;
  if (Buffer.byteLength(p.value) > 80) {
    problems.push(`${what}: ${field}.value is longer than 80 bytes (TCP MD5 keys are at most 80); no session is opened`);
    return null;
  }
  return p.value;
}

function restartTime(text: string | undefined, what: string, problems: string[]): number | undefined {
  if (text === undefined) return undefined;
  const r = seconds(text, what, problems);
  if (r !== undefined && r >= 0 && r <= 4095) return r;
  if (r !== undefined) problems.push(`${what} ${text} is not allowed: use 0s..4095s; ${DEFAULT_RESTART_TIME}s is used`);
  return undefined;
}

/** The mesh's session options (BGPConfiguration default); null when the mesh must not run. */
function meshOptions(cluster: ClusterBgp, problems: string[]): SessionOptions | null {
  const what = 'BGPConfiguration default';
  const o: SessionOptions = {};
  const pw = password(cluster.spec.nodeMeshPassword, what, problems, 'nodeMeshPassword');
  if (pw === null) return null;
  if (pw !== undefined) o.password = pw;
  const r = restartTime(cluster.spec.nodeMeshMaxRestartTime, `${what}: nodeMeshMaxRestartTime`, problems);
  if (r !== undefined) o.restartTime = r;
  return o;
}

/** Reads the session options of a BGPPeer; null when the peer must not be used at all. */
function sessionOptions(spec: BGPPeerSpec, what: string, problems: string[]): SessionOptions | null {
  const o: SessionOptions = {};
  const pw = password(spec.password, what, problems);
  if (pw === null) return null;
  if (pw !== undefined) o.password = pw;
  if (spec.holdTime !== undefined) {
    const h = seconds(spec.holdTime, `${what}: holdTime`, problems);
    if (h !== undefined && (h === 0 || (h >= 3 && h <= 65535))) o.holdTime = h;
    else if (h !== undefined) problems.push(`${what}: holdTime ${spec.holdTime} is not allowed: use 0 or 3s..65535s; the default is used`);
  }
  if (spec.keepaliveTime !== undefined) {
    const k = seconds(spec.keepaliveTime, `${what}: keepaliveTime`, problems);
    if (k !== undefined && k >= 1 && k <= 21845) o.keepalive = k;
    else if (k !== undefined) problems.push(`${what}: keepaliveTime ${spec.keepaliveTime} is not allowed: use 1s..21845s; the default is used`);
  }
  const r = restartTime(spec.maxRestartTime, `${what}: maxRestartTime`, problems);
  if (r !== undefined) o.restartTime = r;
  if (spec.ttlSecurity !== undefined) {
    if (Number.isInteger(spec.ttlSecurity) && spec.ttlSecurity >= 1 && spec.ttlSecurity <= 254) o.ttlSecurity = spec.ttlSecurity;
    else problems.push(`${what}: ttlSecurity ${JSON.stringify(spec.ttlSecurity)} must be 1..254 hops; the session is not opened`);
    if (o.ttlSecurity === undefined) return null;
  }
  const mp = spec.maxPrefixes;
  if (mp !== undefined) {
    // Written behind validation's back, a bad value must not stop the whole speaker: each is checked.
    const m: MaxPrefixesConfig = {};
    const limit = (v: unknown, f: string): number | undefined => {
      if (v === undefined) return undefined;
      if (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 0xffffffff) return v as number;
      problems.push(`${what}: maxPrefixes.${f} ${JSON.stringify(v)} must be a positive integer; it is ignored`);
      return undefined;
    };
    const v4 = limit(mp.ipv4, 'ipv4');
    const v6 = limit(mp.ipv6, 'ipv6');
    if (v4 !== undefined) m.ipv4 = v4;
    if (v6 !== undefined) m.ipv6 = v6;
    if (mp.action === 'warn' || mp.action === 'stop' || mp.action === 'reset') m.action = mp.action;
    else if (mp.action !== undefined) problems.push(`${what}: maxPrefixes.action ${JSON.stringify(mp.action)} must be warn, stop or reset; reset is used`);
    if (mp.restartAfter !== undefined) {
      const ra = seconds(mp.restartAfter, `${what}: maxPrefixes.restartAfter`, problems);
      if (ra !== undefined && ra >= 1 && (m.action ?? 'reset') === 'reset') m.restartAfter = ra;
    }
    // Validation requires a family limit; a stored peer without one gets none (nothing to enforce).
    if (m.ipv4 !== undefined || m.ipv6 !== undefined) o.maxPrefixes = m;
    else problems.push(`${what}: maxPrefixes sets no ipv4 or ipv6 limit; no limit is applied`);
  }
  return o;
}

/** "ADDR", "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6). */
function parsePeerIp(text: string): { addr: IpAddr; port?: number } | string {
  let host = text;
  let port: string | undefined;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket !== null) {
    host = bracket[1]!;
    port = bracket[2];
  } else if (text.split(':').length === 2) {
    [host, port] = text.split(':') as [string, string];
  }
  let addr: IpAddr;
  try {
    addr = parseIp(host);
  } catch {
    return `"${text}" is not an address (write 192.0.2.1, 192.0.2.1:1790, 2001:db8::1 or [2001:db8::1]:1790)`;
  }
  if (port === undefined) return { addr };
  const p = Number(port);
  if (!/^\d+$/.test(port) || p < 1 || p > 65535) return `"${text}": port ${port} is not a TCP port (1..65535)`;
  return { addr, port: p };
}

class PeerSet {
  private readonly byAddress = new Map<string, Candidate[]>();

  constructor(
    private readonly me: NodeBgp,
    private readonly routes: RoutePlan,
    private readonly meshOptions: SessionOptions,
    private readonly problems: string[],
    /** Node by its address text. */
    private readonly nodeAt: ReadonlyMap<string, NodeBgp>,
  ) {}

  add(c: Candidate): void {
    const list = this.byAddress.get(c.neighbor.address) ?? [];
    list.push(c);
    this.byAddress.set(c.neighbor.address, list);
  }

  /** One session between this node and another one. */
  nodeSession(other: NodeBgp, f: IpFamily, source: Source, resource: string, opts: SessionOptions): void {
    const mine = this.me.addr[f];
    const theirs = other.addr[f];
    if (mine === undefined || theirs === undefined || other.name === this.me.name) return;
    if (compareIp(mine, theirs) === 0) {
      this.problems.push(`Node ${other.name} has the same IPv${f} BGP address as this node (${this.me.addrText[f]}); no session with it`);
      return;
    }
    const base: PeerType = source === 'mesh' ? 'node-to-node mesh' : source === 'global' ? 'global' : 'node specific';
    this.add(this.candidate(theirs, other.addrText[f]!, other.asn, source, resource, opts, {
      // Both ends know this peering: only the higher address connects, so the two never collide.
      passive: compareIp(mine, theirs) < 0,
      port: other.port,
      peer: other,
      base,
    }));
  }

  /** A session to a fixed address (which may be one of the nodes: then its cluster id counts). */
  fixedSession(addr: IpAddr, port: number | undefined, asn: number, source: Source, resource: string, opts: SessionOptions, localAddress: boolean): void {
    const base: PeerType = source === 'global' ? 'global' : 'node specific';
    const text = formatIp(addr);
    const peer = this.nodeAt.get(text);
    this.add(this.candidate(addr, text, asn, source, resource, opts, { passive: false, port, base, localAddress, ...(peer !== undefined ? { peer } : {}) }));
  }

  private candidate(
    ip: IpAddr,
    address: string,
    asn: number,
    source: Source,
    resource: string,
    opts: SessionOptions,
    how: { passive: boolean; port: number | undefined; peer?: NodeBgp; base: PeerType; localAddress?: boolean },
  ): Candidate {
    const me = this.me;
    const ibgp = asn === me.asn;
    const client = ibgp && me.clusterId !== undefined && how.peer?.clusterId !== me.clusterId;
    const reflector = ibgp && !client && how.peer?.clusterId !== undefined && how.peer.clusterId !== me.clusterId;
    const type: PeerType = client ? 'route reflector client' : reflector ? 'route reflector' : how.base;
    const n: NeighborConfig = { address, asn, families: [family(ip.family)], description: `${type}: ${resource}` };
    if (how.localAddress !== false) n.localAddress = me.addrText[ip.family]!;
    if (how.port !== undefined && how.port !== 179) n.port = how.port;
    if (how.passive) n.passive = true;
    if (client) n.routeReflectorClient = true;
    n.importPolicy = this.routes.import;
    n.exportPolicy = ibgp && me.clusterId !== undefined ? this.routes.exportReflector : this.routes.exportOwn;
    // Calico's "add paths on": receive every path on iBGP; a reflector sends every path, so its
    // clients can spread traffic (ECMP) across equal routes.
    if (ibgp) n.addPath = me.clusterId !== undefined ? { send: true, receive: true } : { receive: true };
    const o = source === 'mesh' ? this.meshOptions : opts;
    if (o.password !== undefined) n.password = o.password;
    if (o.holdTime !== undefined) n.holdTime = o.holdTime;
    if (o.keepalive !== undefined) n.keepalive = o.keepalive;
    if (o.ttlSecurity !== undefined) n.ttlSecurity = o.ttlSecurity;
    if (o.maxPrefixes !== undefined) n.maxPrefixes = o.maxPrefixes;
    if (o.restartTime !== undefined) n.gracefulRestart = { restartTime: o.restartTime };
    const info: PeerInfo = { type, resource };
    if (how.peer !== undefined) info.node = how.peer.name;
    return { ip, rank: RANK[source], resource, neighbor: n, info };
  }

  /** The winning candidate per address, sorted by address; conflicts between BGPPeers are problems. */
  resolve(): { neighbors: NeighborConfig[]; peers: Map<string, PeerInfo> } {
    const chosen: Candidate[] = [];
    for (const [address, list] of this.byAddress) {
      list.sort((a, b) => a.rank - b.rank || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
      const win = list[0]!;
      const others = [...new Set(list.slice(1).filter((c) => c.rank !== RANK.mesh && c.resource !== win.resource).map((c) => c.resource))];
      if (others.length > 0) {
        this.problems.push(`${win.resource} and ${others.join(', ')} peer with ${address} from this node; ${win.resource} is used (node beats nodeSelector beats global, then name order)`);
      }
      chosen.push(win);
    }
    chosen.sort((a, b) => compareIp(a.ip, b.ip));
    return { neighbors: chosen.map((c) => c.neighbor), peers: new Map(chosen.map((c) => [c.neighbor.address, c.info])) };
  }
}

/** Does `peer` apply to `node` (its node / nodeSelector scope)? */
function scopeMatches(peer: BGPPeerResource, sel: Selector | undefined, node: NodeBgp): boolean {
  if (peer.spec.node !== undefined && peer.spec.node !== node.name) return false;
  if (sel !== undefined && !sel.evaluate(node.labels, { global: true })) return false;
  return true;
}

function selector(text: string | undefined, what: string, problems: string[]): Selector | undefined | null {
  if (text === undefined || text === '') return undefined;
  try {
    return parseSelector(text);
  } catch (e) {
    problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}; the peer is left out`);
    return null;
  }
}

export function planPeers(
  peers: readonly BGPPeerResource[],
  cluster: ClusterBgp,
  me: NodeBgp,
  routes: RoutePlan,
  problems: string[],
): { neighbors: NeighborConfig[]; peers: Map<string, PeerInfo> } {
  const meshOpts = meshOptions(cluster, problems);
  const nodes = [...cluster.nodes.values()];
  const nodeAt = new Map<string, NodeBgp>();
  for (const n of nodes) for (const t of Object.values(n.addrText)) if (!nodeAt.has(t)) nodeAt.set(t, n);
  const set = new PeerSet(me, routes, meshOpts ?? {}, problems, nodeAt);

  if (cluster.mesh && meshOpts !== null) {
    for (const other of nodes) for (const f of [4, 6] as const) set.nodeSession(other, f, 'mesh', `Node ${other.name}`, {});
  }

  for (const p of peers) {
    const what = `BGPPeer ${p.metadata.name}`;
    const spec = p.spec ?? {};
    const nodeSel = selector(spec.nodeSelector, `${what}: spec.nodeSelector`, problems);
    const peerSel = selector(spec.peerSelector, `${what}: spec.peerSelector`, problems);
    if (nodeSel === null || peerSel === null) continue;
    const source: Source = spec.node !== undefined ? 'node' : nodeSel !== undefined ? 'nodeSelector' : 'global';
    const appliesToMe = scopeMatches(p, nodeSel, me);
    if (peerSel !== undefined) {
      if (spec.peerIP !== undefined) problems.push(`${what}: peerIP and peerSelector are exclusive; peerIP is ignored`);
      const iAmPeer = peerSel.evaluate(me.labels, { global: true });
      if (!appliesToMe && !iAmPeer) continue;
      const opts = sessionOptions(spec, what, problems);
      if (opts === null) continue;
      for (const other of nodes) {
        // This node peers with the selected nodes, and (the other end of the same peering)
        // a selected node peers with the nodes the BGPPeer applies to.
        const forward = appliesToMe && peerSel.evaluate(other.labels, { global: true });
        const reverse = iAmPeer && scopeMatches(p, nodeSel, other);
        if (forward || reverse) for (const f of [4, 6] as const) set.nodeSession(other, f, source, what, opts);
      }
      continue;
    }
    if (!appliesToMe) continue;
    if (spec.peerIP === undefined || spec.peerIP === '') {
      problems.push(`${what}: neither peerIP nor peerSelector is set; nothing to peer with`);
      continue;
    }
    const target = parsePeerIp(spec.peerIP);
    if (typeof target === 'string') {
      problems.push(`${what}: spec.peerIP ${target}; the peer is left out`);
      continue;
    }
    if (!isAsn(spec.asNumber)) {
      problems.push(`${what}: asNumber ${JSON.stringify(spec.asNumber)} is not an AS number (1..4294967295); a peerIP needs one; the peer is left out`);
      continue;
    }
    if (me.addr[target.addr.family] === undefined) {
      problems.push(`${what}: ${formatIp(target.addr)} is IPv${target.addr.family} but Node ${me.name} has no IPv${target.addr.family} BGP address; the peer is left out`);
      continue;
    }
    if (compareIp(target.addr, me.addr[target.addr.family]!) === 0) {
      problems.push(`${what}: peerIP ${formatIp(target.addr)} is this node's own address; left out`);
      continue;
    }
    const opts = sessionOptions(spec, what, problems);
    if (opts === null) continue;
    set.fixedSession(target.addr, target.port, spec.asNumber, source, what, opts, spec.sourceAddress !== 'None');
  }
  return set.resolve();
}
