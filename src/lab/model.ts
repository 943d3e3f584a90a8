// The lab model: a whole Twill cluster described in one YAML file — racks of hosts with a
// top-of-rack router each, BGP settings, IP pools, namespaces, workloads and the ports they serve,
// resources to apply, and the connectivity the author expects. parseModel() checks every field and
// reports each problem with its line; nothing is started from a model with a problem.
import { LineCounter, parseDocument } from 'yaml';
import { parseCidr } from '../api/cidr.js';
import { TwillError } from '../errors.js';

export type Protocol = 'TCP' | 'UDP';

export interface ServedPort {
  port: number;
  protocol: Protocol;
  /** A named port (Kubernetes' containerPort name); becomes an endpoint named port. */
  name?: string;
}

export interface LabHost {
  name: string;
  rack: string;
}

export interface LabRack {
  name: string;
  /** The top-of-rack router's daemon. */
  tor: 'bird' | 'frr';
  asn: number;
  hosts: string[];
}

export interface LabWorkload {
  name: string;
  namespace: string;
  host: string;
  labels: Record<string, string>;
  ports: ServedPort[];
}

export interface LabNamespace {
  name: string;
  labels: Record<string, string>;
}

/** A machine outside the cluster behind a rack's ToR (not a Twill workload). */
export interface LabOutside {
  name: string;
  rack: string;
}

export interface Expectation {
  /** "NAMESPACE/WORKLOAD" or an outside client's name. */
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  allowed: boolean;
  /** Line in the model, for reports. */
  line: number;
}

export interface LabModel {
  name: string;
  racks: LabRack[];
  hosts: LabHost[];
  /**
   * mesh: true — every host peers with every other (Calico's node-to-node mesh); 'rack' — only
   * hosts of the same rack peer with each other, and other racks are reached through the ToRs
   * (Calico's AS-per-rack design: a host never holds a route whose next hop is off its LAN);
   * false — hosts peer with the route reflectors.
   */
  bgp: { asn: number; mesh: boolean | 'rack'; routeReflectors: string[] };
  pools: { cidr: string; blockSize?: number }[];
  namespaces: LabNamespace[];
  workloads: LabWorkload[];
  outside: LabOutside[];
  /** Resource files (Twill YAML/JSON, or Kubernetes NetworkPolicy), relative to the model's folder. */
  apply: string[];
  expect: Expectation[];
}

export interface ModelProblem {
  line: number;
  path: string;
  message: string;
}

export class LabModelError extends TwillError {
  constructor(
    readonly file: string,
    readonly problems: ModelProblem[],
  ) {
    super('LabModel', `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${file}:${p.line}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n')}`, {
      hint: 'fix the model file; nothing was started',
    });
  }
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

type Path = (string | number)[];

class Checker {
  readonly problems: ModelProblem[] = [];
  constructor(
    private readonly lineOf: (p: Path) => number,
  ) {}

  add(path: Path, message: string): undefined {
    this.problems.push({ line: this.lineOf(path), path: fmtPath(path), message });
    return undefined;
  }

  keys(v: Record<string, unknown>, path: Path, known: string[]): void {
    for (const k of Object.keys(v)) {
      if (!known.includes(k)) this.add([...path, k], `unknown key; known keys here: ${known.join(', ')}`);
    }
  }

  map(v: unknown, path: Path): Record<string, unknown> | undefined {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return this.add(path, 'must be a map');
    return v as Record<string, unknown>;
  }

  list(v: unknown, path: Path): unknown[] | undefined {
    if (v === undefined) return [];
    if (!Array.isArray(v)) return this.add(path, 'must be a list');
    return v;
  }

  name(v: unknown, path: Path): string | undefined {
    if (typeof v !== 'string' || !NAME.test(v)) return this.add(path, `${JSON.stringify(v)} is not a name: use 1-32 lower-case letters, digits and "-"`);
    return v;
  }

  int(v: unknown, path: Path, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return this.add(path, `${JSON.stringify(v)} must be a whole number from ${min} to ${max}`);
    return v;
  }

  labels(v: unknown, path: Path): Record<string, string> {
    if (v === undefined) return {};
    const m = this.map(v, path);
    if (!m) return {};
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(m)) {
      if (!LABEL_KEY.test(k)) this.add([...path, k], 'is not a valid label key');
      else if (typeof val !== 'string' || !LABEL_VALUE.test(val)) this.add([...path, k], `${JSON.stringify(val)} is not a valid label value (a string of up to 63 letters, digits, "-", "_", ".")`);
      else out[k] = val;
    }
    return out;
  }

  protocol(v: unknown, path: Path): Protocol | undefined {
    if (v === undefined) return 'TCP';
    if (v === 'TCP' || v === 'UDP') return v;
    return this.add(path, `${JSON.stringify(v)}: use TCP or UDP`);
  }
}

function fmtPath(p: Path): string {
  return p.map((x, i) => (typeof x === 'number' ? `[${x}]` : i === 0 ? x : `.${x}`)).join('');
}

/** Hosts given as a count: h1..hN, all in one rack "r1". */
function expandHosts(c: Checker, v: unknown, racks: LabRack[]): LabHost[] {
  if (typeof v === 'number') {
    const n = c.int(v, ['hosts'], 1, 64);
    if (n === undefined) return [];
    return Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, rack: racks[0]?.name ?? 'r1' }));
  }
  const list = c.list(v, ['hosts']) ?? [];
  const out: LabHost[] = [];
  list.forEach((h, i) => {
    if (typeof h === 'string') {
      const name = c.name(h, ['hosts', i]);
      if (name) out.push({ name, rack: racks[0]?.name ?? 'r1' });
      return;
    }
    const m = c.map(h, ['hosts', i]);
    if (!m) return;
    c.keys(m, ['hosts', i], ['name', 'rack']);
    const name = c.name(m.name, ['hosts', i, 'name']);
    const rack = m.rack === undefined ? (racks[0]?.name ?? 'r1') : c.name(m.rack, ['hosts', i, 'rack']);
    if (name && rack) out.push({ name, rack });
  });
  return out;
}

/** Parses and checks a lab model. Throws LabModelError listing every problem with its line. */
export function parseModel(text: string, file = 'model.yaml'): LabModel {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new LabModelError(
      file,
      doc.errors.map((e) => ({ line: lines.linePos(e.pos[0]).line, path: '', message: `YAML: ${e.message.split('\n')[0] ?? e.message}` })),
    );
  }
  const lineOf = (p: Path): number => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
    }
    return 1;
  };
  const c = new Checker(lineOf);
  const root = c.map(doc.toJS() ?? {}, []);
  if (!root) throw new LabModelError(file, c.problems);
  c.keys(root, [], ['name', 'racks', 'hosts', 'bgp', 'pools', 'namespaces', 'workloads', 'outside', 'apply', 'expect']);
  const name = root.name === undefined ? 'lab' : (c.name(root.name, ['name']) ?? 'lab');

  // Racks (default: one rack r1 with a BIRD ToR, AS 65001, holding every host).
  const racks: LabRack[] = [];
  const rackList = root.racks === undefined ? undefined : c.list(root.racks, ['racks']);
  (rackList ?? []).forEach((r, i) => {
    const m = c.map(r, ['racks', i]);
    if (!m) return;
    c.keys(m, ['racks', i], ['name', 'tor', 'asn']);
    const rn = c.name(m.name, ['racks', i, 'name']);
    const tor = m.tor === undefined ? 'bird' : m.tor === 'bird' || m.tor === 'frr' ? m.tor : c.add(['racks', i, 'tor'], `${JSON.stringify(m.tor)}: use bird or frr`);
    const asn = m.asn === undefined ? 65001 + i : c.int(m.asn, ['racks', i, 'asn'], 1, 4294967294);
    if (rn && tor && asn !== undefined) racks.push({ name: rn, tor, asn, hosts: [] });
  });
  if (rackList === undefined) racks.push({ name: 'r1', tor: 'bird', asn: 65001, hosts: [] });
  const hosts = expandHosts(c, root.hosts ?? 3, racks);
  const hostNames = new Set<string>();
  hosts.forEach((h, i) => {
    if (hostNames.has(h.name)) c.add(['hosts', i], `host ${h.name} appears twice`);
    hostNames.add(h.name);
    const rack = racks.find((r) => r.name === h.rack);
    if (!rack) c.add(['hosts', i, 'rack'], `no rack named ${h.rack} (racks: ${racks.map((r) => r.name).join(', ')})`);
    else rack.hosts.push(h.name);
  });
  if (hosts.length === 0) c.add(['hosts'], 'a lab needs at least one host');

  // BGP.
  const bgp: LabModel['bgp'] = { asn: 64512, mesh: true, routeReflectors: [] };
  if (root.bgp !== undefined) {
    const m = c.map(root.bgp, ['bgp']);
    if (m) {
      c.keys(m, ['bgp'], ['asn', 'mesh', 'routeReflectors']);
      if (m.asn !== undefined) bgp.asn = c.int(m.asn, ['bgp', 'asn'], 1, 4294967294) ?? bgp.asn;
      if (m.mesh !== undefined) {
        if (typeof m.mesh !== 'boolean' && m.mesh !== 'rack') c.add(['bgp', 'mesh'], 'must be true, false or "rack" (a mesh within each rack)');
        else bgp.mesh = m.mesh;
      }
      (c.list(m.routeReflectors, ['bgp', 'routeReflectors']) ?? []).forEach((h, i) => {
        if (typeof h !== 'string' || !hostNames.has(h)) c.add(['bgp', 'routeReflectors', i], `${JSON.stringify(h)} is not a host of this lab`);
        else bgp.routeReflectors.push(h);
      });
      if (!bgp.mesh && bgp.routeReflectors.length === 0 && hosts.length > 1) c.add(['bgp', 'mesh'], 'with the mesh off, name at least one host in bgp.routeReflectors (or hosts cannot learn each other\'s routes)');
    }
  }
  for (const r of racks) if (r.asn === bgp.asn) c.add(['racks'], `rack ${r.name}'s ToR has the cluster's own AS ${bgp.asn}: give it another`);

  // Pools.
  const pools: LabModel['pools'] = [];
  const poolList = root.pools === undefined ? [{ cidr: '10.70.0.0/16' }] : (c.list(root.pools, ['pools']) ?? []);
  poolList.forEach((p, i) => {
    const m = c.map(p, ['pools', i]);
    if (!m) return;
    c.keys(m, ['pools', i], ['cidr', 'blockSize']);
    try {
      const cidr = parseCidr(String(m.cidr));
      if (cidr.family !== 4) c.add(['pools', i, 'cidr'], 'the lab runs IPv4 pools only');
      else if (!String(m.cidr).startsWith('10.')) c.add(['pools', i, 'cidr'], 'lab pools must be inside 10.0.0.0/8 (the lab never uses other addresses)');
      else pools.push({ cidr: String(m.cidr), ...(m.blockSize !== undefined ? { blockSize: c.int(m.blockSize, ['pools', i, 'blockSize'], 20, 32) ?? 26 } : {}) });
    } catch (e) {
      c.add(['pools', i, 'cidr'], e instanceof Error ? e.message : String(e));
    }
  });

  // Namespaces (workloads may name one not listed: it is created without labels).
  const namespaces: LabNamespace[] = [];
  (c.list(root.namespaces, ['namespaces']) ?? []).forEach((n, i) => {
    const m = c.map(n, ['namespaces', i]);
    if (!m) return;
    c.keys(m, ['namespaces', i], ['name', 'labels']);
    const nn = c.name(m.name, ['namespaces', i, 'name']);
    if (nn) namespaces.push({ name: nn, labels: c.labels(m.labels, ['namespaces', i, 'labels']) });
  });

  // Workloads.
  const workloads: LabWorkload[] = [];
  const wlNames = new Set<string>();
  (c.list(root.workloads, ['workloads']) ?? []).forEach((w, i) => {
    const m = c.map(w, ['workloads', i]);
    if (!m) return;
    c.keys(m, ['workloads', i], ['name', 'namespace', 'host', 'labels', 'ports']);
    const wn = c.name(m.name, ['workloads', i, 'name']);
    const ns = m.namespace === undefined ? 'default' : c.name(m.namespace, ['workloads', i, 'namespace']);
    const host = typeof m.host === 'string' && hostNames.has(m.host) ? m.host : c.add(['workloads', i, 'host'], `${JSON.stringify(m.host)} is not a host of this lab (hosts: ${[...hostNames].join(', ')})`);
    const ports: ServedPort[] = [];
    (c.list(m.ports, ['workloads', i, 'ports']) ?? []).forEach((p, j) => {
      const path = ['workloads', i, 'ports', j];
      if (typeof p === 'number') {
        const port = c.int(p, path, 1, 65535);
        if (port !== undefined) ports.push({ port, protocol: 'TCP' });
        return;
      }
      const pm = c.map(p, path);
      if (!pm) return;
      c.keys(pm, path, ['port', 'protocol', 'name']);
      const port = c.int(pm.port, [...path, 'port'], 1, 65535);
      const protocol = c.protocol(pm.protocol, [...path, 'protocol']);
      const pname = pm.name === undefined ? undefined : typeof pm.name === 'string' && /^[a-z0-9-]{1,15}$/.test(pm.name) ? pm.name : c.add([...path, 'name'], 'a port name is 1-15 lower-case letters, digits and "-"');
      if (port !== undefined && protocol) ports.push({ port, protocol, ...(pname ? { name: pname } : {}) });
    });
    if (!wn || !ns || !host) return;
    const full = `${ns}/${wn}`;
    if (wlNames.has(full)) c.add(['workloads', i, 'name'], `workload ${full} appears twice`);
    wlNames.add(full);
    workloads.push({ name: wn, namespace: ns, host, labels: c.labels(m.labels, ['workloads', i, 'labels']), ports });
  });
  for (const w of workloads) if (!namespaces.some((n) => n.name === w.namespace)) namespaces.push({ name: w.namespace, labels: {} });

  // Outside clients.
  const outside: LabOutside[] = [];
  (c.list(root.outside, ['outside']) ?? []).forEach((o, i) => {
    const m = c.map(o, ['outside', i]);
    if (!m) return;
    c.keys(m, ['outside', i], ['name', 'rack']);
    const on = c.name(m.name, ['outside', i, 'name']);
    const rack = m.rack === undefined ? racks[0]?.name : typeof m.rack === 'string' && racks.some((r) => r.name === m.rack) ? m.rack : c.add(['outside', i, 'rack'], `${JSON.stringify(m.rack)} is not a rack of this lab`);
    if (on && rack) {
      if (wlNames.has(on) || outside.some((x) => x.name === on)) c.add(['outside', i, 'name'], `${on} is already used`);
      outside.push({ name: on, rack });
    }
  });

  const apply: string[] = [];
  (c.list(root.apply, ['apply']) ?? []).forEach((f, i) => {
    if (typeof f !== 'string' || f === '') c.add(['apply', i], 'must be a file path (relative to the model file)');
    else apply.push(f);
  });

  // Expectations.
  const endpoints = new Set([...wlNames, ...outside.map((o) => o.name)]);
  const expect: Expectation[] = [];
  (c.list(root.expect, ['expect']) ?? []).forEach((e, i) => {
    const path = ['expect', i];
    const m = c.map(e, path);
    if (!m) return;
    c.keys(m, path, ['from', 'to', 'port', 'protocol', 'allowed']);
    const ref = (k: 'from' | 'to'): string | undefined => {
      const v = m[k];
      if (typeof v === 'string' && endpoints.has(v)) return v;
      return c.add([...path, k], `${JSON.stringify(v)} is not a workload (NAMESPACE/NAME) or outside client of this lab`);
    };
    const from = ref('from');
    const to = ref('to');
    const port = c.int(m.port, [...path, 'port'], 1, 65535);
    const protocol = c.protocol(m.protocol, [...path, 'protocol']);
    if (typeof m.allowed !== 'boolean') c.add([...path, 'allowed'], 'must be true or false');
    if (to !== undefined && port !== undefined && protocol) {
      const target = workloads.find((w) => `${w.namespace}/${w.name}` === to);
      if (target && !target.ports.some((p) => p.port === port && p.protocol === protocol)) c.add([...path, 'port'], `${to} does not serve ${protocol} ${port} (it serves: ${target.ports.map((p) => `${p.protocol} ${p.port}`).join(', ') || 'nothing'})`);
      if (!target) c.add([...path, 'to'], 'an outside client serves nothing; expectations go to workloads');
    }
    if (from && to && port !== undefined && protocol && typeof m.allowed === 'boolean') expect.push({ from, to, port, protocol, allowed: m.allowed, line: lineOf(path) });
  });

  if (c.problems.length > 0) throw new LabModelError(file, c.problems);
  return { name, racks, hosts, bgp, pools, namespaces, workloads, outside, apply, expect };
}
