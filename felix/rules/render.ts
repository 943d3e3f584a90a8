// The renderer: desired state → chains, hooks and ipsets for IPv4 and IPv6. RuleRenderer keeps
// what it rendered last and, given a calc delta, re-renders only the chains the delta touches
// and reports the chains and sets whose content changed. renderAll is the one-shot form.

import { effectiveConfig } from '../calc/config.js';
import type {
  DesiredState,
  DesiredStateDelta,
  EffectiveConfig,
  EndpointState,
  IpSetState,
  IpVersion,
  KeyedDelta,
  PolicyState,
  PoolState,
  ProfileState,
} from '../calc/types.js';
import { deniedLogSettings, denyLogIndex, type DenyLogEntry } from './deny-log.js';
import { dispatchChains, isValidInterfaceName } from './dispatch.js';
import { endpointChainsFor } from './endpoint.js';
import { MarkMaskError } from './errors.js';
import { markBits } from './marks.js';
import { ipsetName, POOL_SET_IDS } from './names.js';
import { policyChains, profileChains, type RuleContext } from './policy.js';
import { filterTopChains, hooks, natChains, poolSets } from './static.js';
import type {
  Chain,
  FamilyDelta,
  Hook,
  MarkBits,
  RenderDelta,
  Rendered,
  RenderedFamily,
  RenderedIpSet,
  RenderOptions,
  TableDelta,
  TableName,
} from './types.js';

export const DEFAULT_LOG_PREFIX = 'twill-packet: ';
export const DEFAULT_DISPATCH_FANOUT = 16;
export const DEFAULT_MARK_MASK = 0xffff0000;
const TABLES: readonly TableName[] = ['filter', 'nat', 'raw', 'mangle'];

type Placed = { table: TableName; chain: Chain };

interface FamilyState {
  family: IpVersion;
  chains: Record<TableName, Map<string, Chain>>;
  /** Which chains each group rendered last time (group: static, dispatch, nat, ep:…, pol:…, prof:…). */
  groups: Map<string, { table: TableName; name: string }[]>;
  ipsets: Map<string, RenderedIpSet>;
  /** calc set ids rendered as ipsets in this family. */
  calcSets: Set<string>;
  hooks: Hook[];
}

function newFamily(family: IpVersion): FamilyState {
  return {
    family,
    chains: { filter: new Map(), nat: new Map(), raw: new Map(), mangle: new Map() },
    groups: new Map(),
    ipsets: new Map(),
    calcSets: new Set(),
    hooks: [],
  };
}

function sameChain(a: Chain, b: Chain): boolean {
  if (a.rules.length !== b.rules.length) return false;
  for (let i = 0; i < a.rules.length; i++) if (a.rules[i]!.spec !== b.rules[i]!.spec) return false;
  return true;
}

function sameSet(a: RenderedIpSet, b: RenderedIpSet): boolean {
  return a.type === b.type && a.members.length === b.members.length && a.members.every((m, i) => m === b.members[i]);
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function emptyTableDelta(): TableDelta {
  return { upserts: [], deletes: [] };
}

function applyKeyed<T>(target: Map<string, T>, d: KeyedDelta<T>, touched: (k: string, added: boolean, removed: boolean) => void): void {
  for (const [k, v] of d.upserts) {
    const had = target.has(k);
    target.set(k, v);
    touched(k, !had, false);
  }
  for (const k of d.deletes) {
    if (target.delete(k)) touched(k, false, true);
  }
}

export class RuleRenderer {
  private readonly logPrefix: string;
  private readonly fanout: number;
  private config: EffectiveConfig | undefined;
  private marks: MarkBits | undefined;
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly policies = new Map<string, PolicyState>();
  private readonly profiles = new Map<string, ProfileState>();
  private readonly ipsets = new Map<string, IpSetState>();
  private readonly pools = new Map<string, PoolState>();
  private readonly fams: Record<IpVersion, FamilyState> = { 4: newFamily(4), 6: newFamily(6) };
  /** The deny-log index of the current input (built on first lookup), and the one before it. */
  private denyIndex: Map<string, DenyLogEntry> | undefined;
  private previousDenyIndex: Map<string, DenyLogEntry> | undefined;

  constructor(opts: RenderOptions = {}) {
    this.logPrefix = opts.logPrefix ?? DEFAULT_LOG_PREFIX;
    if (this.logPrefix.length > 29 || this.logPrefix.includes('"')) {
      throw new RangeError(`log prefix ${JSON.stringify(this.logPrefix)} must be at most 29 characters, without '"'`);
    }
    this.fanout = Math.max(2, opts.dispatchFanout ?? DEFAULT_DISPATCH_FANOUT);
  }

  /**
   * Applies one calc delta (from CalcGraph.flush()) and returns what changed in the rendered
   * output. The first call renders everything. An unusable mark mask does not throw: see
   * configError.
   */
  update(delta: DesiredStateDelta): RenderDelta {
    if (this.denyIndex !== undefined) this.previousDenyIndex = this.denyIndex;
    this.denyIndex = undefined;
    let full = this.config === undefined;
    if (delta.config !== undefined || this.config === undefined) {
      const next = delta.config ?? this.config ?? effectiveConfig(undefined, undefined, undefined);
      let marks: MarkBits;
      try {
        marks = markBits(next.iptablesMarkMask);
        this.configError = undefined;
      } catch (e) {
        if (!(e instanceof MarkMaskError)) throw e;
        // Keep rendering (with the marks in use, or the default mask's): the state must not
        // fall behind calc. The caller reports configError.
        this.configError = e;
        marks = this.marks ?? markBits(DEFAULT_MARK_MASK);
      }
      if (this.config === undefined || JSON.stringify(next) !== JSON.stringify(this.config)) full = true;
      this.config = next;
      this.marks = marks;
    }
    const dirty = new Set<string>();
    const dirtySets = new Set<string>();
    let poolsDirty = false;
    applyKeyed(this.endpoints, delta.endpoints, (k, added, removed) => {
      dirty.add(`ep:${k}`);
      if (added || removed) dirty.add('dispatch');
    });
    applyKeyed(this.policies, delta.policies, (k) => dirty.add(`pol:${k}`));
    applyKeyed(this.profiles, delta.profiles, (k) => dirty.add(`prof:${k}`));
    applyKeyed(this.ipsets, delta.ipsets, (k) => dirtySets.add(k));
    applyKeyed(this.pools, delta.pools, () => {
      poolsDirty = true;
      dirty.add('nat');
    });
    if (full) {
      for (const g of ['static', 'dispatch', 'nat']) dirty.add(g);
      for (const k of this.endpoints.keys()) dirty.add(`ep:${k}`);
      for (const k of this.policies.keys()) dirty.add(`pol:${k}`);
      for (const k of this.profiles.keys()) dirty.add(`prof:${k}`);
      for (const k of this.ipsets.keys()) dirtySets.add(k);
      for (const f of [this.fams[4], this.fams[6]]) {
        for (const g of f.groups.keys()) dirty.add(g);
        for (const id of f.calcSets) dirtySets.add(id);
      }
      poolsDirty = true;
    }
    const groups = [...dirty].sort();
    const sets = [...dirtySets].sort();
    return {
      v4: this.renderFamily(this.fams[4], true, groups, sets, poolsDirty),
      v6: this.renderFamily(this.fams[6], this.config!.ipv6Support, groups, sets, poolsDirty),
    };
  }

  /** Replaces the renderer's input with a whole desired state; returns what changed. */
  load(state: DesiredState): RenderDelta {
    const keyed = <T>(cur: Map<string, T>, next: ReadonlyMap<string, T>): KeyedDelta<T> => ({
      upserts: next,
      deletes: [...cur.keys()].filter((k) => !next.has(k)),
    });
    return this.update({
      config: state.config,
      endpoints: keyed(this.endpoints, state.endpoints),
      policies: keyed(this.policies, state.policies),
      profiles: keyed(this.profiles, state.profiles),
      ipsets: keyed(this.ipsets, state.ipsets),
      routes: { upserts: new Map(), deletes: [] },
      pools: keyed(this.pools, state.pools),
    });
  }

  /** Everything rendered so far. */
  current(): Rendered {
    const fam = (f: FamilyState): RenderedFamily => {
      const tables = {} as Record<TableName, Chain[]>;
      for (const t of TABLES) tables[t] = [...f.chains[t].values()].sort(byName);
      return {
        family: f.family,
        ...tables,
        hooks: f.hooks.slice(),
        ipsets: [...f.ipsets.values()].sort(byName),
      };
    };
    return { v4: fam(this.fams[4]), v6: this.config?.ipv6Support === false ? undefined : fam(this.fams[6]) };
  }

  /**
   * Set while the configured iptablesMarkMask is unusable (too few bits): rendering goes on with
   * the previous marks (or the default mask's). Report it; it clears when the config is fixed.
   */
  configError: MarkMaskError | undefined;

  /**
   * What a denied-packet log id (an NFLOG prefix "twd:…") stands for, in what is rendered now —
   * or, for a packet logged just before the last update removed its rule, in what was rendered
   * before. Undefined for an id neither knows.
   */
  denyLogEntry(id: string): DenyLogEntry | undefined {
    this.denyIndex ??= denyLogIndex(this.endpoints.values(), this.policies.values(), this.profiles.values());
    return this.denyIndex.get(id) ?? this.previousDenyIndex?.get(id);
  }

  /** The local endpoint on a host-side interface (for the denied-packet reader). */
  endpointOn(interfaceName: string): EndpointState | undefined {
    return this.endpoints.get(interfaceName);
  }

  /** The mark bits in use (after the first update). */
  get markBits(): MarkBits | undefined {
    return this.marks;
  }

  private renderGroup(g: string, family: IpVersion): Placed[] {
    const config = this.config!;
    const marks = this.marks!;
    const denyLog = deniedLogSettings(config);
    const ctx: RuleContext = { family, marks, logPrefix: this.logPrefix, denyLog };
    const filter = (cs: Chain[]): Placed[] => cs.map((chain) => ({ table: 'filter' as const, chain }));
    if (g === 'static') return filter(filterTopChains(config, marks, family));
    if (g === 'dispatch') {
      const ifaces = [...this.endpoints.keys()];
      return filter([...dispatchChains(ifaces, 'to', this.fanout), ...dispatchChains(ifaces, 'from', this.fanout)]);
    }
    if (g === 'nat') return natChains(this.pools.values(), family).map((chain) => ({ table: 'nat' as const, chain }));
    if (g.startsWith('ep:')) {
      const ep = this.endpoints.get(g.slice(3));
      if (ep === undefined || !isValidInterfaceName(ep.interfaceName)) return [];
      return filter(endpointChainsFor(ep, family, marks, denyLog));
    }
    if (g.startsWith('pol:')) {
      const p = this.policies.get(g.slice(4));
      return p === undefined ? [] : filter(policyChains(p, ctx));
    }
    if (g.startsWith('prof:')) {
      const p = this.profiles.get(g.slice(5));
      return p === undefined ? [] : filter(profileChains(p, ctx));
    }
    return [];
  }

  private renderFamily(
    fs: FamilyState,
    enabled: boolean,
    groups: readonly string[],
    setIds: readonly string[],
    poolsDirty: boolean,
  ): FamilyDelta {
    const tables: Record<TableName, TableDelta> = {
      filter: emptyTableDelta(),
      nat: emptyTableDelta(),
      raw: emptyTableDelta(),
      mangle: emptyTableDelta(),
    };
    for (const g of groups) {
      const next = enabled ? this.renderGroup(g, fs.family) : [];
      const old = fs.groups.get(g) ?? [];
      const keep = new Set(next.map((p) => `${p.table}/${p.chain.name}`));
      for (const { table, chain } of next) {
        const prev = fs.chains[table].get(chain.name);
        if (prev === undefined || !sameChain(prev, chain)) {
          fs.chains[table].set(chain.name, chain);
          tables[table].upserts.push(chain);
        }
      }
      for (const o of old) {
        if (keep.has(`${o.table}/${o.name}`)) continue;
        fs.chains[o.table].delete(o.name);
        tables[o.table].deletes.push(o.name);
      }
      if (next.length > 0) fs.groups.set(g, next.map((p) => ({ table: p.table, name: p.chain.name })));
      else fs.groups.delete(g);
    }
    for (const t of TABLES) {
      tables[t].upserts.sort(byName);
      tables[t].deletes.sort();
    }

    const out: FamilyDelta = { family: fs.family, ...tables, ipsetUpserts: [], ipsetDeletes: [] };
    const nextHooks = enabled ? hooks() : [];
    if (JSON.stringify(nextHooks) !== JSON.stringify(fs.hooks)) {
      fs.hooks = nextHooks;
      out.hooks = nextHooks;
    }

    const putSet = (name: string, s: RenderedIpSet | undefined): void => {
      const prev = fs.ipsets.get(name);
      if (s === undefined) {
        if (prev !== undefined) {
          fs.ipsets.delete(name);
          out.ipsetDeletes.push(name);
        }
      } else if (prev === undefined || !sameSet(prev, s)) {
        fs.ipsets.set(name, s);
        out.ipsetUpserts.push(s);
      }
    };
    for (const id of setIds) {
      const s = enabled ? this.ipsets.get(id) : undefined;
      const name = ipsetName(id, fs.family);
      if (s === undefined) fs.calcSets.delete(id);
      else fs.calcSets.add(id);
      putSet(
        name,
        s === undefined
          ? undefined
          : { name, family: fs.family, type: s.type, members: fs.family === 4 ? s.members4.slice() : s.members6.slice() },
      );
    }
    if (poolsDirty) {
      const sets = enabled ? poolSets(this.pools.values(), fs.family) : [];
      const names = [ipsetName(POOL_SET_IDS.all, fs.family), ipsetName(POOL_SET_IDS.masq, fs.family)];
      for (const n of names) putSet(n, sets.find((s) => s.name === n));
    }
    out.ipsetUpserts.sort(byName);
    out.ipsetDeletes.sort();
    return out;
  }
}

/** Renders a whole desired state at once. */
export function renderAll(state: DesiredState, opts: RenderOptions = {}): Rendered {
  const r = new RuleRenderer(opts);
  r.load(state);
  return r.current();
}

/** True when a render delta changes nothing. */
export function isEmptyRenderDelta(d: RenderDelta): boolean {
  return [d.v4, d.v6].every(
    (f) =>
      f.hooks === undefined &&
      f.ipsetUpserts.length === 0 &&
      f.ipsetDeletes.length === 0 &&
      TABLES.every((t) => f[t].upserts.length === 0 && f[t].deletes.length === 0),
  );
}
