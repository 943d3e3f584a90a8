// `twillctl verify`, felix's part: the kernel read afresh (iptables-save, ipset list, a netlink
// route dump, /proc/sys) against the dataplane's desired state, every difference by name. Reads
// only: nothing here writes to the kernel or touches the reconcilers' view of it.
//
//   diffKernel(want, have)   pure: DesiredKernel × KernelView → NodeDifference[] + counts
//   readKernel(deps, want)   the KernelView of the handles' namespace (what `want` needs)
import { RT_TABLE_MAIN, type Link, type NetlinkHandle, type Route } from '../../src/netlink/index.js';
import { isOwnedChain, isOwnedIpset, type Ipset, type IpsetInfo, type Iptables, type SavedRule, type SavedTable } from '../../src/iptables/index.js';
import type { NodeDifference, VerifyCounts } from '../../src/nodeapi/types.js';
import type { RouteState } from '../calc/types.js';
import type { Chain, Hook, RenderedIpSet, TableName } from '../rules/types.js';
import { ALL_TABLES, isOurRule } from './iptables-reconciler.js';
import { globalSysctls, workloadSysctls } from './interface-reconciler.js';

/** The desired chains and hooks of one address family. */
export interface DesiredIptables {
  family: 4 | 6;
  tables: ReadonlyMap<TableName, ReadonlyMap<string, Chain>>;
  hooks: readonly Hook[];
}

/** What the dataplane wants in the kernel (Dataplane.desiredKernel()). */
export interface DesiredKernel {
  iptables: DesiredIptables[];
  ipsets: readonly RenderedIpSet[];
  /** Routes of `routeProtocol` in table main, by canonical destination. */
  routes: ReadonlyMap<string, RouteState>;
  routeProtocol: number;
  /** Workload interfaces whose sysctls the agent sets. */
  interfaces: readonly string[];
  ipv6: boolean;
  rpFilter: string;
}

/** The kernel as read just now. */
export interface KernelView {
  iptables: { family: 4 | 6; tables: ReadonlyMap<string, SavedTable> }[];
  /** Sets named like ours (tw4-/tw6-) with their members. */
  ipsets: ReadonlyMap<string, IpsetInfo>;
  /** Routes of the protocol asked for, table main. */
  routes: readonly Route[];
  links: readonly Link[];
  /** sysctl path → value; absent when the file does not exist. */
  sysctls: ReadonlyMap<string, string>;
}

export type FelixCounts = Pick<VerifyCounts, 'routes' | 'chains' | 'ipsets' | 'ipsetMembers' | 'interfaces' | 'sysctls'>;

export interface KernelDiff {
  differences: NodeDifference[];
  checked: FelixCounts;
}

const ABSENT = 'absent';

/** A rule as a person reads it: `-A CHAIN <spec>`. */
const ruleText = (chain: string, spec: string): string => `-A ${chain} ${spec}`;

function diffChain(label: string, c: Chain, have: readonly SavedRule[], out: NodeDifference[]): void {
  const want = c.rules.map((r) => r.hash);
  const got = have.map((r) => r.hash ?? '');
  if (want.length === got.length && want.every((h, i) => h === got[i])) return;
  // Multisets of hashes: what is missing, what is extra; same members in another order is "order".
  const left = new Map<string, number>();
  for (const h of got) left.set(h, (left.get(h) ?? 0) + 1);
  const before = out.length;
  c.rules.forEach((r, i) => {
    const n = left.get(r.hash) ?? 0;
    if (n > 0) left.set(r.hash, n - 1);
    else out.push({ kind: 'rule', object: `${label} rule ${i + 1}`, expected: ruleText(c.name, r.spec), actual: ABSENT });
  });
  have.forEach((r, i) => {
    const n = left.get(r.hash ?? '') ?? 0;
    if (n === 0) return;
    left.set(r.hash ?? '', n - 1);
    out.push({ kind: 'rule', object: `${label} rule ${i + 1}`, expected: ABSENT, actual: ruleText(c.name, r.spec) });
  });
  if (out.length === before) {
    out.push({ kind: 'chain', object: label, expected: `${want.length} rules in the rendered order`, actual: 'the same rules in another order' });
  }
}

function diffHooks(fam: string, table: TableName, wanted: readonly Hook[], saved: SavedTable | undefined, out: NodeDifference[]): void {
  const byChain = new Map<string, Hook[]>();
  for (const h of wanted) if (h.table === table) byChain.set(h.chain, [...(byChain.get(h.chain) ?? []), h]);
  const builtins = new Set(byChain.keys());
  for (const [name, c] of saved?.chains ?? []) if (c.policy !== undefined && c.rules.some(isOurRule)) builtins.add(name);
  for (const b of [...builtins].sort()) {
    const w = byChain.get(b) ?? [];
    const rules = saved?.chains.get(b)?.rules ?? [];
    const ours = rules.map((r, i) => ({ r, i })).filter(({ r }) => isOurRule(r));
    const good = ours.length === w.length && w.every((h, i) => rules[i]?.hash === h.hash);
    if (good) continue;
    out.push({
      kind: 'hook',
      object: `${fam} ${table} ${b}`,
      expected: w.length === 0 ? 'no rule of ours' : w.map((h, i) => `${i + 1}: ${ruleText(b, h.spec)}`).join('; '),
      actual: ours.length === 0 ? 'no rule of ours' : ours.map(({ r, i }) => `${i + 1}: ${ruleText(b, r.spec)}`).join('; '),
    });
  }
}

/** A desired route as a person reads it. */
export function describeRoute(r: RouteState): string {
  return r.type === 'blackhole' ? 'blackhole' : `dev ${r.interfaceName} scope link`;
}

function describeKernelRoute(r: Route, names: ReadonlyMap<number, string>): string {
  const type = r.type ?? 'unicast';
  if (type !== 'unicast') return type;
  const dev = r.ifindex !== undefined ? ` dev ${names.get(r.ifindex) ?? `#${r.ifindex}`}` : '';
  return `${r.gateway ? `via ${r.gateway}` : ''}${dev}`.trim() || 'unicast';
}

/** Pure: every difference between what the dataplane wants and what the kernel holds. */
export function diffKernel(want: DesiredKernel, have: KernelView): KernelDiff {
  const out: NodeDifference[] = [];
  const checked: FelixCounts = { routes: 0, chains: 0, ipsets: 0, ipsetMembers: 0, interfaces: 0, sysctls: 0 };

  // iptables, per family and table.
  for (const d of want.iptables) {
    const fam = `v${d.family}`;
    const tables = have.iptables.find((t) => t.family === d.family)?.tables;
    for (const t of ALL_TABLES) {
      const saved = tables?.get(t);
      const chains = d.tables.get(t) ?? new Map<string, Chain>();
      for (const c of chains.values()) {
        checked.chains++;
        const label = `${fam} ${t} ${c.name}`;
        const s = saved?.chains.get(c.name);
        if (s === undefined) out.push({ kind: 'chain', object: label, expected: `present (${c.rules.length} rules)`, actual: ABSENT });
        else diffChain(label, c, s.rules, out);
      }
      for (const [name, s] of saved?.chains ?? []) {
        if (isOwnedChain(name) && !chains.has(name)) out.push({ kind: 'chain', object: `${fam} ${t} ${name}`, expected: ABSENT, actual: `present (${s.rules.length} rules)` });
      }
      diffHooks(fam, t, d.hooks, saved, out);
    }
  }

  // ipsets and their members.
  const wantSets = new Map(want.ipsets.map((s) => [s.name, s]));
  for (const s of want.ipsets) {
    checked.ipsets++;
    checked.ipsetMembers += s.members.length;
    const k = have.ipsets.get(s.name);
    const family = s.family === 6 ? 'inet6' : 'inet';
    if (k === undefined) {
      out.push({ kind: 'ipset', object: s.name, expected: `${s.type} family ${family} (${s.members.length} members)`, actual: ABSENT });
      continue;
    }
    if (k.type !== s.type || k.family !== family) {
      out.push({ kind: 'ipset', object: s.name, expected: `${s.type} family ${family}`, actual: `${k.type} family ${k.family}` });
    }
    const wanted = new Set(s.members);
    for (const m of s.members) if (!k.members.has(m)) out.push({ kind: 'ipset-member', object: `${s.name} ${m}`, expected: 'member', actual: ABSENT });
    for (const m of [...k.members].sort()) if (!wanted.has(m)) out.push({ kind: 'ipset-member', object: `${s.name} ${m}`, expected: ABSENT, actual: 'member' });
  }
  for (const [name, k] of [...have.ipsets].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (isOwnedIpset(name) && !wantSets.has(name)) out.push({ kind: 'ipset', object: name, expected: ABSENT, actual: `${k.type} (${k.members.size} members)` });
  }

  // Routes of our protocol in table main.
  const names = new Map(have.links.map((l) => [l.index, l.name]));
  const indexOf = new Map(have.links.map((l) => [l.name, l.index]));
  const kernel = new Map(have.routes.map((r) => [r.dst, r]));
  for (const [key, d] of want.routes) {
    checked.routes++;
    const k = kernel.get(key);
    if (k === undefined) {
      const why = d.type === 'local' && !indexOf.has(d.interfaceName) ? ` (interface ${d.interfaceName} does not exist)` : '';
      out.push({ kind: 'route', object: key, expected: describeRoute(d), actual: ABSENT + why });
      continue;
    }
    const type = k.type ?? 'unicast';
    const ok = d.type === 'blackhole' ? type === 'blackhole' : type === 'unicast' && k.ifindex !== undefined && k.ifindex === indexOf.get(d.interfaceName);
    if (!ok) out.push({ kind: 'route', object: key, expected: describeRoute(d), actual: describeKernelRoute(k, names) });
  }
  for (const [key, k] of kernel) {
    if (!want.routes.has(key)) out.push({ kind: 'route', object: key, expected: ABSENT, actual: describeKernelRoute(k, names) });
  }

  // Interface sysctls (host-wide ones, then each workload interface that exists).
  const sysctl = (path: string, value: string): void => {
    const v = have.sysctls.get(path);
    // IPv6 switched off in the kernel: its files do not exist and the agent sets nothing there.
    if (v === undefined && path.startsWith('net/ipv6/')) return;
    checked.sysctls++;
    if (v !== value) out.push({ kind: 'sysctl', object: path, expected: value, actual: v ?? ABSENT });
  };
  for (const [p, v] of globalSysctls(want.ipv6)) sysctl(p, v);
  for (const name of want.interfaces) {
    checked.interfaces++;
    if (!indexOf.has(name)) {
      out.push({ kind: 'interface', object: name, expected: 'present (a local workload endpoint)', actual: ABSENT });
      continue;
    }
    for (const [p, v] of workloadSysctls(name, want.ipv6, want.rpFilter)) sysctl(p, v);
  }
  return { differences: out, checked };
}

/** The sysctl files diffKernel looks at for `want`, given the links that exist. */
export function sysctlPaths(want: DesiredKernel, links: readonly Link[]): string[] {
  const exists = new Set(links.map((l) => l.name));
  const paths = globalSysctls(want.ipv6).map(([p]) => p);
  for (const n of want.interfaces) if (exists.has(n)) paths.push(...workloadSysctls(n, want.ipv6, want.rpFilter).map(([p]) => p));
  return paths;
}

export interface KernelReaders {
  netlink: NetlinkHandle;
  /** One per family the dataplane programs. */
  iptables: readonly Iptables[];
  ipset: Ipset;
}

/** Reads what diffKernel needs straight from the kernel (never from a reconciler's cache). */
export async function readKernel(r: KernelReaders, want: DesiredKernel): Promise<KernelView> {
  const iptables: KernelView['iptables'] = [];
  for (const ipt of r.iptables) {
    const tables = new Map<string, SavedTable>();
    for (const t of ALL_TABLES) tables.set(t, await ipt.save(t));
    iptables.push({ family: ipt.family, tables });
  }
  const ipsets = new Map<string, IpsetInfo>();
  for (const [name, info] of await r.ipset.list('tw')) if (isOwnedIpset(name)) ipsets.set(name, info);
  const routes = await r.netlink.routeList({ protocol: want.routeProtocol, table: RT_TABLE_MAIN });
  const links = await r.netlink.linkList();
  const sysctls = new Map<string, string>();
  for (const p of sysctlPaths(want, links)) {
    try {
      sysctls.set(p, (await r.netlink.sysctlGet(p)).trim());
    } catch {
      /* absent (interface gone, IPv6 off): reported as absent */
    }
  }
  return { iptables, ipsets, routes, links, sysctls };
}
