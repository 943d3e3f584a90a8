// The calculation graph: SyncEvents in, this host's desired state out. Synchronous and pure (no
// I/O, no clock). apply() records inputs and keeps the label indexes current; flush() resolves
// what the updates touched and reports only the keys whose value changed.

import { formatKey, keyOf, type Kind, type Resource, type ResourceKey } from '../../src/api/types.js';
import type { Labels } from '../../src/api/selector/index.js';
import type { SyncEvent } from '../../src/datastore/syncer.js';
import { blockRoutesFor } from '../../ipam/host-routes.js';
import { effectiveConfig } from './config.js';
import { comparePolicies, failClosedPolicy, failClosedProfile, parsePolicy, parseProfile, profileId, policyId, type ParsedPolicy, type ParsedProfile } from './convert-policy.js';
import { canonNet, type SetRequest } from './convert-rule.js';
import { parseNetSet, parseWep, sortLabels, wepKey, type ItemData, type WepInfo } from './inputs.js';
import { LabelIndex } from './label-index.js';
import { MemberSets } from './member-sets.js';
import {
  NAMESPACE_LABEL,
  NAMESPACE_NAME_LABEL,
  NAMESPACE_PROFILE_PREFIX,
  ORCHESTRATOR_LABEL,
  SERVICE_ACCOUNT_LABEL,
  type MatchSpec,
} from './match.js';
import { OutputTable } from './output-table.js';
import type {
  CalcOptions,
  CalcProblem,
  DesiredState,
  DesiredStateDelta,
  EffectiveConfig,
  EndpointState,
  IpSetState,
  PolicyRef,
  PolicyState,
  PoolState,
  ProfileState,
  RouteState,
} from './types.js';
import type { FelixConfigurationSpec } from '../../src/api/types.js';

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): boolean {
  let s = m.get(k);
  if (s === undefined) {
    s = new Set();
    m.set(k, s);
  }
  const had = s.has(v);
  s.add(v);
  return !had;
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): boolean {
  const s = m.get(k);
  if (s === undefined || !s.has(v)) return false;
  s.delete(v);
  if (s.size === 0) m.delete(k);
  return true;
}

function minOf(s: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const x of s) if (best === undefined || x < best) best = x;
  return best;
}

const EMPTY: ReadonlySet<string> = new Set();

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameSet(a: IpSetState, b: IpSetState): boolean {
  return (
    a.type === b.type &&
    a.purpose === b.purpose &&
    a.description === b.description &&
    sameList(a.members4, b.members4) &&
    sameList(a.members6, b.members6)
  );
}

interface ActiveSet {
  req: SetRequest;
  refs: number;
}

interface BlockInfo {
  cidr: string;
}
interface AffinityInfo {
  cidr: string;
  confirmed: boolean;
}

export class CalcGraph {
  readonly nodeName: string;
  /** "namespace/name" of CalcOptions.onlyEndpoints. */
  private readonly onlyEndpoints: ReadonlySet<string> | undefined;
  private readonly fallbackPrefix: string | undefined;

  // ---- inputs
  private readonly weps = new Map<string, WepInfo>();
  private readonly profiles = new Map<string, ParsedProfile>();
  private readonly policies = new Map<string, ParsedPolicy>();
  private readonly itemData = new Map<string, ItemData>();
  private readonly pools = new Map<string, Resource>();
  /** Blocks whose affinity is this node (and not deleted), by name. */
  private readonly myBlocks = new Map<string, BlockInfo>();
  /** BlockAffinities of this node, by name. */
  private readonly myAffinities = new Map<string, AffinityInfo>();
  private felixGlobal: FelixConfigurationSpec | undefined;
  private felixNode: FelixConfigurationSpec | undefined;
  /** By object; a policy's are worked out when asked for (ParsedPolicy). */
  private readonly problemsByObject = new Map<string, string[] | (() => string[])>();

  // ---- indexes
  /** Profile name → every endpoint (any node) listing it. */
  private readonly profileUsers = new Map<string, Set<string>>();
  /** Profile name → local endpoints listing it. */
  private readonly localProfileUsers = new Map<string, Set<string>>();
  /** Interface → local endpoints claiming it. */
  private readonly ifaceWeps = new Map<string, Set<string>>();
  private readonly nsLabelCache = new Map<string, Labels>();
  /** Local endpoints (keys = wep keys) × policy selectors. */
  private readonly localIndex: LabelIndex;
  /** Every endpoint and network set × rule selectors. */
  private readonly allIndex: LabelIndex;
  private readonly localSpecPolicies = new Map<string, Set<string>>();
  private readonly setSpecUsers = new Map<string, Set<string>>();
  private readonly activeSets = new Map<string, ActiveSet>();
  private readonly ownerSets = new Map<string, SetRequest[]>();
  private readonly memberSets = new MemberSets((k) => this.itemData.get(k));

  // ---- dirt
  private readonly dirtyPolicies = new Set<string>();
  private readonly dirtyProfiles = new Set<string>();
  private readonly dirtySets = new Set<string>();
  private readonly dirtyIfaces = new Set<string>();
  private routesDirty = true;
  private poolsDirty = true;
  private configDirty = true;

  // ---- outputs
  private config: EffectiveConfig;
  private reportedConfig: string | undefined;
  private readonly outEndpoints = new OutputTable<EndpointState>();
  private readonly outPolicies = new OutputTable<PolicyState>();
  private readonly outProfiles = new OutputTable<ProfileState>();
  private readonly outSets = new OutputTable<IpSetState>(sameSet);
  private readonly outRoutes = new OutputTable<RouteState>();
  private readonly outPools = new OutputTable<PoolState>();

  constructor(opts: CalcOptions) {
    this.nodeName = opts.nodeName;
    this.onlyEndpoints = opts.onlyEndpoints && new Set(opts.onlyEndpoints.map((e) => wepKey(e.namespace, e.name)));
    this.fallbackPrefix = opts.interfacePrefix;
    this.config = effectiveConfig(this.fallbackPrefix, undefined, undefined);
    const nsLabels = (ns: string): Labels => this.namespaceLabels(ns);
    this.localIndex = new LabelIndex(nsLabels, (sk, wk) => {
      for (const pid of this.localSpecPolicies.get(sk) ?? EMPTY) this.dirtyPolicies.add(pid);
      const w = this.weps.get(wk);
      if (w !== undefined) this.dirtyIfaces.add(w.interfaceName);
    });
    this.allIndex = new LabelIndex(nsLabels, (sk, ik, matched) => {
      for (const sid of this.setSpecUsers.get(sk) ?? EMPTY) {
        const e = this.activeSets.get(sid);
        if (e === undefined) continue;
        if (matched) this.memberSets.put(e.req, ik);
        else this.memberSets.remove(sid, ik);
        this.dirtySets.add(sid);
      }
    });
  }

  /** How many selector evaluations the indexes ran (local, all): for tests of incrementality. */
  get evaluations(): { local: number; all: number } {
    return { local: this.localIndex.evaluations, all: this.allIndex.evaluations };
  }

  // ===========================================================================================
  // Input

  /**
   * Records a batch. One object calc cannot use never fails the batch: it is reported by key in
   * problems() and fails closed (a policy or profile drops all traffic of the endpoints it would
   * apply to; any other object is treated as absent).
   */
  apply(events: readonly SyncEvent[]): void {
    for (const ev of events) {
      try {
        if (ev.type === 'set') this.set(ev.resource);
        else this.delete(ev.key);
      } catch (e) {
        this.failed(ev, e instanceof Error ? e.message : String(e));
      }
    }
  }

  private failed(ev: SyncEvent, message: string): void {
    const key: ResourceKey = ev.type === 'set' ? keyOf(ev.resource) : ev.key;
    const objKey = formatKey(key);
    try {
      if (ev.type === 'set' && (key.kind === 'NetworkPolicy' || key.kind === 'GlobalNetworkPolicy')) {
        const p = failClosedPolicy(key.kind, key.name, key.namespace, `cannot be used: ${message}`);
        this.upsertPolicy(p);
        this.problemsByObject.set(objKey, p.problems);
        return;
      }
      if (ev.type === 'set' && key.kind === 'Profile') {
        const p = failClosedProfile(key.name, `cannot be used: ${message}`);
        this.upsertProfile(p, []);
        this.problemsByObject.set(objKey, p.problems);
        return;
      }
      this.delete(key);
    } catch {
      // The object's leftovers stay as they were; it is still reported below.
    }
    this.problemsByObject.set(objKey, [`cannot be used: ${message} (ignored)`]);
  }

  private set(r: Resource): void {
    const problems: string[] = [];
    const objKey = formatKey(keyOf(r));
    switch (r.kind) {
      case 'WorkloadEndpoint':
        this.upsertWep(parseWep(r, problems));
        break;
      case 'Profile':
        this.upsertProfile(parseProfile(r), problems);
        break;
      case 'NetworkPolicy':
      case 'GlobalNetworkPolicy': {
        // Its problems are read when asked for: that converts its rules, which calc otherwise
        // does only once the policy applies to one of its endpoints (see ParsedPolicy).
        const p = parsePolicy(r);
        this.upsertPolicy(p);
        this.problemsByObject.set(objKey, () => p.problems);
        return;
      }
      case 'NetworkSet':
      case 'GlobalNetworkSet': {
        const info = parseNetSet(r, problems);
        this.itemData.set(info.itemKey, info);
        this.allIndex.upsertItem({ key: info.itemKey, namespace: info.namespace, labels: info.labels });
        this.dirtySetsOfItem(info.itemKey);
        break;
      }
      case 'IPPool':
        this.pools.set(r.metadata.name, r);
        this.poolsDirty = true;
        break;
      case 'IPAMBlock': {
        // ipam/host-routes.ts decides which blocks are this host's (the BGP agent asks it too).
        const own = blockRoutesFor(this.nodeName, r);
        if (own.problem !== undefined) problems.push(own.problem);
        if (own.block !== undefined) this.myBlocks.set(r.metadata.name, { cidr: own.block });
        else this.myBlocks.delete(r.metadata.name);
        this.routesDirty = true;
        break;
      }
      case 'BlockAffinity': {
        let cidr: string | undefined;
        try {
          cidr = canonNet(r.spec.cidr).cidr;
        } catch (e) {
          problems.push(`spec.cidr: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (r.spec?.node === this.nodeName && cidr !== undefined) {
          this.myAffinities.set(r.metadata.name, { cidr, confirmed: r.spec.state === 'confirmed' });
        } else {
          this.myAffinities.delete(r.metadata.name);
        }
        this.routesDirty = true;
        break;
      }
      case 'FelixConfiguration':
        if (r.metadata.name === 'default') this.felixGlobal = r.spec ?? {};
        else if (r.metadata.name === `node.${this.nodeName}`) this.felixNode = r.spec ?? {};
        this.configDirty = true;
        break;
      default:
        return;
    }
    if (problems.length > 0) this.problemsByObject.set(objKey, problems);
    else this.problemsByObject.delete(objKey);
  }

  private delete(key: ResourceKey): void {
    this.problemsByObject.delete(formatKey(key));
    const kind: Kind = key.kind;
    switch (kind) {
      case 'WorkloadEndpoint':
        this.deleteWep(wepKey(key.namespace, key.name));
        break;
      case 'Profile':
        this.deleteProfile(key.name);
        break;
      case 'NetworkPolicy':
      case 'GlobalNetworkPolicy':
        this.deletePolicy(policyId(kind, key.name, key.namespace));
        break;
      case 'NetworkSet':
      case 'GlobalNetworkSet': {
        const ik = kind === 'NetworkSet' ? `n/${key.namespace ?? 'default'}/${key.name}` : `g/${key.name}`;
        this.allIndex.deleteItem(ik);
        this.itemData.delete(ik);
        break;
      }
      case 'IPPool':
        if (this.pools.delete(key.name)) this.poolsDirty = true;
        break;
      case 'IPAMBlock':
        if (this.myBlocks.delete(key.name)) this.routesDirty = true;
        break;
      case 'BlockAffinity':
        if (this.myAffinities.delete(key.name)) this.routesDirty = true;
        break;
      case 'FelixConfiguration':
        if (key.name === 'default') this.felixGlobal = undefined;
        else if (key.name === `node.${this.nodeName}`) this.felixNode = undefined;
        this.configDirty = true;
        break;
      default:
        break;
    }
  }

  // ---- endpoints

  private isLocal(w: WepInfo | undefined): boolean {
    if (w === undefined || w.interfaceName === '') return false;
    return this.onlyEndpoints === undefined ? w.node === this.nodeName : this.onlyEndpoints.has(w.key);
  }

  private effectiveLabels(w: WepInfo): Record<string, string> {
    const out: Record<string, string> = {};
    // Profiles: the first listed wins, so apply them last-to-first.
    for (let i = w.profiles.length - 1; i >= 0; i--) {
      const name = w.profiles[i]!;
      if (name.startsWith(NAMESPACE_PROFILE_PREFIX)) continue; // namespace labels, not pod labels
      const p = this.profiles.get(name);
      if (p !== undefined) Object.assign(out, p.labelsToApply);
    }
    Object.assign(out, w.ownLabels);
    out[NAMESPACE_LABEL] = w.namespace;
    if (w.orchestrator !== undefined) out[ORCHESTRATOR_LABEL] = w.orchestrator;
    if (w.serviceAccount !== undefined) out[SERVICE_ACCOUNT_LABEL] = w.serviceAccount;
    return sortLabels(out);
  }

  private readonly wepLabels = new Map<string, Record<string, string>>();

  /** What of an endpoint the routes depend on ('' when it is not local). */
  private routeKey(w: WepInfo | undefined): string {
    return w !== undefined && this.isLocal(w) ? `${w.interfaceName}|${w.nets4.join(',')}|${w.nets6.join(',')}` : '';
  }

  private upsertWep(info: WepInfo): void {
    const old = this.weps.get(info.key);
    if (this.routeKey(old) !== this.routeKey(info)) this.routesDirty = true;
    if (old !== undefined) {
      for (const p of old.profiles) removeFrom(this.profileUsers, p, old.key);
      if (this.isLocal(old)) this.unlinkLocal(old);
    }
    this.weps.set(info.key, info);
    for (const p of info.profiles) addTo(this.profileUsers, p, info.key);
    const labels = this.effectiveLabels(info);
    this.wepLabels.set(info.key, labels);
    const ik = `w/${info.key}`;
    this.itemData.set(ik, info);
    this.allIndex.upsertItem({ key: ik, namespace: info.namespace, labels });
    this.dirtySetsOfItem(ik);
    if (this.isLocal(info)) {
      this.linkLocal(info);
      this.localIndex.upsertItem({ key: info.key, namespace: info.namespace, labels });
    } else {
      this.localIndex.deleteItem(info.key);
    }
  }

  private deleteWep(key: string): void {
    const old = this.weps.get(key);
    if (old === undefined) return;
    if (this.routeKey(old) !== '') this.routesDirty = true;
    const ik = `w/${key}`;
    this.allIndex.deleteItem(ik);
    this.itemData.delete(ik);
    if (this.isLocal(old)) this.unlinkLocal(old);
    this.localIndex.deleteItem(key);
    for (const p of old.profiles) removeFrom(this.profileUsers, p, key);
    this.weps.delete(key);
    this.wepLabels.delete(key);
  }

  private linkLocal(w: WepInfo): void {
    addTo(this.ifaceWeps, w.interfaceName, w.key);
    for (const p of w.profiles) {
      addTo(this.localProfileUsers, p, w.key);
      this.dirtyProfiles.add(p);
    }
    this.dirtyIfaces.add(w.interfaceName);
  }

  private unlinkLocal(w: WepInfo): void {
    removeFrom(this.ifaceWeps, w.interfaceName, w.key);
    for (const p of w.profiles) {
      removeFrom(this.localProfileUsers, p, w.key);
      this.dirtyProfiles.add(p);
    }
    this.dirtyIfaces.add(w.interfaceName);
  }

  /** Recomputes an endpoint's labels (its profiles changed) and re-indexes it when they differ. */
  private refreshLabels(key: string): void {
    const w = this.weps.get(key);
    if (w === undefined) return;
    const labels = this.effectiveLabels(w);
    if (JSON.stringify(labels) === JSON.stringify(this.wepLabels.get(key))) return;
    this.wepLabels.set(key, labels);
    this.allIndex.upsertItem({ key: `w/${key}`, namespace: w.namespace, labels });
    if (this.isLocal(w)) {
      this.localIndex.upsertItem({ key, namespace: w.namespace, labels });
      this.dirtyIfaces.add(w.interfaceName);
    }
  }

  /** An item's addresses or ports may have changed: re-record what it gives every set it is in. */
  private dirtySetsOfItem(itemKey: string): void {
    for (const sk of this.allIndex.specsOf(itemKey)) {
      for (const sid of this.setSpecUsers.get(sk) ?? EMPTY) {
        const e = this.activeSets.get(sid);
        if (e === undefined) continue;
        this.memberSets.put(e.req, itemKey);
        this.dirtySets.add(sid);
      }
    }
  }

  // ---- namespaces

  private namespaceLabels(ns: string): Labels {
    let l = this.nsLabelCache.get(ns);
    if (l === undefined) {
      l = this.computeNamespaceLabels(ns);
      this.nsLabelCache.set(ns, l);
    }
    return l;
  }

  private computeNamespaceLabels(ns: string): Labels {
    const p = this.profiles.get(`${NAMESPACE_PROFILE_PREFIX}${ns}`);
    return sortLabels({ ...(p?.labelsToApply ?? {}), [NAMESPACE_NAME_LABEL]: ns });
  }

  private refreshNamespace(ns: string): void {
    const next = this.computeNamespaceLabels(ns);
    const prev = this.nsLabelCache.get(ns);
    if (prev !== undefined && JSON.stringify(prev) === JSON.stringify(next)) return;
    this.nsLabelCache.set(ns, next);
    this.localIndex.namespaceChanged(ns);
    this.allIndex.namespaceChanged(ns);
    for (const keys of this.ifaceWeps.values()) {
      for (const k of keys) {
        const w = this.weps.get(k);
        if (w !== undefined && w.namespace === ns) this.dirtyIfaces.add(w.interfaceName);
      }
    }
  }

  // ---- profiles

  private upsertProfile(p: ParsedProfile, problems: string[]): void {
    problems.push(...p.problems);
    const old = this.profiles.get(p.name);
    this.profiles.set(p.name, p);
    this.profileChanged(p.name, old?.labelsToApply, p.labelsToApply);
  }

  private deleteProfile(name: string): void {
    const old = this.profiles.get(name);
    if (old === undefined) return;
    this.profiles.delete(name);
    this.profileChanged(name, old.labelsToApply, undefined);
  }

  private profileChanged(name: string, before: Record<string, string> | undefined, after: Record<string, string> | undefined): void {
    this.dirtyProfiles.add(name);
    for (const k of this.localProfileUsers.get(name) ?? EMPTY) {
      const w = this.weps.get(k);
      if (w !== undefined) this.dirtyIfaces.add(w.interfaceName);
    }
    if (name.startsWith(NAMESPACE_PROFILE_PREFIX)) {
      this.refreshNamespace(name.slice(NAMESPACE_PROFILE_PREFIX.length));
      return;
    }
    if (JSON.stringify(sortLabels(before ?? {})) === JSON.stringify(sortLabels(after ?? {})) && (before === undefined) === (after === undefined)) {
      return;
    }
    for (const k of [...(this.profileUsers.get(name) ?? EMPTY)]) this.refreshLabels(k);
  }

  // ---- policies

  private upsertPolicy(p: ParsedPolicy): void {
    const old = this.policies.get(p.id);
    this.policies.set(p.id, p);
    this.addLocalSpecUser(p.specKey, p.spec, p.id);
    this.dirtyLocalMembers(p.specKey);
    if (old !== undefined) {
      this.dirtyLocalMembers(old.specKey);
      if (old.specKey !== p.specKey) this.removeLocalSpecUser(old.specKey, p.id);
    }
    this.dirtyPolicies.add(p.id);
  }

  private deletePolicy(id: string): void {
    const old = this.policies.get(id);
    if (old === undefined) return;
    this.dirtyLocalMembers(old.specKey);
    this.policies.delete(id);
    this.removeLocalSpecUser(old.specKey, id);
    this.dirtyPolicies.add(id);
  }

  private addLocalSpecUser(sk: string, spec: MatchSpec, id: string): void {
    addTo(this.localSpecPolicies, sk, id);
    this.localIndex.addSpec(sk, spec);
  }

  private removeLocalSpecUser(sk: string, id: string): void {
    removeFrom(this.localSpecPolicies, sk, id);
    if (!this.localSpecPolicies.has(sk)) this.localIndex.removeSpec(sk);
  }

  private dirtyLocalMembers(sk: string): void {
    for (const k of this.localIndex.members(sk)) {
      const w = this.weps.get(k);
      if (w !== undefined) this.dirtyIfaces.add(w.interfaceName);
    }
  }

  // ---- sets

  /** Makes `owner` hold exactly `reqs` (acquire the new ones first, so shared sets never churn). */
  private setOwnerSets(owner: string, reqs: SetRequest[] | undefined): void {
    const before = this.ownerSets.get(owner) ?? [];
    const after = reqs ?? [];
    for (const r of after) this.acquire(r);
    for (const r of before) this.release(r);
    if (after.length > 0) this.ownerSets.set(owner, after);
    else this.ownerSets.delete(owner);
  }

  private acquire(req: SetRequest): void {
    const e = this.activeSets.get(req.id);
    if (e !== undefined) {
      e.refs++;
      return;
    }
    this.activeSets.set(req.id, { req, refs: 1 });
    this.dirtySets.add(req.id);
    if (req.purpose === 'nets') return;
    addTo(this.setSpecUsers, req.specKey, req.id);
    if (this.allIndex.hasSpec(req.specKey)) {
      for (const ik of this.allIndex.members(req.specKey)) this.memberSets.put(req, ik);
    } else {
      this.allIndex.addSpec(req.specKey, req.spec); // the listener records the members
    }
  }

  private release(req: SetRequest): void {
    const e = this.activeSets.get(req.id);
    if (e === undefined) return;
    if (--e.refs > 0) return;
    this.activeSets.delete(req.id);
    this.dirtySets.add(req.id);
    this.memberSets.drop(req.id);
    if (req.purpose === 'nets') return;
    removeFrom(this.setSpecUsers, req.specKey, req.id);
    if (!this.setSpecUsers.has(req.specKey)) this.allIndex.removeSpec(req.specKey);
  }

  private computeSet(req: SetRequest): IpSetState {
    let members: { members4: string[]; members6: string[] };
    if (req.purpose === 'nets') {
      const m4: string[] = [];
      const m6: string[] = [];
      for (const n of req.nets) {
        const c = canonNet(n);
        (c.family === 4 ? m4 : m6).push(...c.setMembers);
      }
      members = { members4: [...new Set(m4)].sort(), members6: [...new Set(m6)].sort() };
    } else {
      members = this.memberSets.members(req.id);
    }
    return {
      id: req.id,
      type: req.purpose === 'namedPort' ? 'hash:ip,port' : 'hash:net',
      purpose: req.purpose,
      description: req.description,
      ...members,
    };
  }

  // ===========================================================================================
  // Output

  private recompute(): void {
    if (this.configDirty) {
      this.configDirty = false;
      this.config = effectiveConfig(this.fallbackPrefix, this.felixGlobal, this.felixNode);
    }

    for (const id of [...this.dirtyPolicies].sort()) {
      const p = this.policies.get(id);
      const active = p !== undefined && this.localIndex.members(p.specKey).size > 0;
      this.setOwnerSets(`pol:${id}`, active ? p.sets : undefined);
      if (active) this.outPolicies.set(id, p.state);
      else this.outPolicies.delete(id);
    }
    this.dirtyPolicies.clear();

    for (const name of [...this.dirtyProfiles].sort()) {
      const p = this.profiles.get(name);
      const active = p !== undefined && this.localProfileUsers.has(name);
      this.setOwnerSets(`prof:${name}`, active ? p.sets : undefined);
      if (active) this.outProfiles.set(p.id, p.state);
      else this.outProfiles.delete(profileId(name));
    }
    this.dirtyProfiles.clear();

    for (const id of [...this.dirtySets].sort()) {
      const e = this.activeSets.get(id);
      if (e === undefined) this.outSets.delete(id);
      else this.outSets.set(id, this.computeSet(e.req));
    }
    this.dirtySets.clear();

    for (const iface of [...this.dirtyIfaces].sort()) {
      const k = minOf(this.ifaceWeps.get(iface) ?? EMPTY);
      const w = k !== undefined ? this.weps.get(k) : undefined;
      if (w === undefined || iface === '') this.outEndpoints.delete(iface);
      else this.outEndpoints.set(iface, this.computeEndpoint(w));
    }
    this.dirtyIfaces.clear();

    if (this.routesDirty) {
      this.routesDirty = false;
      this.outRoutes.replaceAll(this.computeRoutes());
    }
    if (this.poolsDirty) {
      this.poolsDirty = false;
      this.outPools.replaceAll(this.computePools());
    }
  }

  private computeEndpoint(w: WepInfo): EndpointState {
    const matched: ParsedPolicy[] = [];
    for (const sk of this.localIndex.specsOf(w.key)) {
      for (const pid of this.localSpecPolicies.get(sk) ?? EMPTY) {
        const p = this.policies.get(pid);
        if (p !== undefined) matched.push(p);
      }
    }
    matched.sort(comparePolicies);
    const ref = (p: ParsedPolicy): PolicyRef => ({ id: p.id, tier: p.state.tier, order: p.state.order });
    return {
      interfaceName: w.interfaceName,
      namespace: w.namespace,
      name: w.name,
      mac: w.mac,
      ipv4Nets: w.nets4,
      ipv6Nets: w.nets6,
      labels: this.wepLabels.get(w.key) ?? {},
      namespaceLabels: { ...this.namespaceLabels(w.namespace) },
      ingressPolicies: matched.filter((p) => p.state.types.includes('Ingress')).map(ref),
      egressPolicies: matched.filter((p) => p.state.types.includes('Egress')).map(ref),
      profileIds: w.profiles.filter((p) => this.profiles.has(p)).map(profileId),
      ports: w.ports,
    };
  }

  private computeRoutes(): Map<string, RouteState> {
    const out = new Map<string, RouteState>();
    for (const iface of [...this.ifaceWeps.keys()].sort()) {
      const k = minOf(this.ifaceWeps.get(iface) ?? EMPTY);
      const w = k !== undefined ? this.weps.get(k) : undefined;
      if (w === undefined) continue;
      for (const [family, nets] of [
        [4, w.nets4],
        [6, w.nets6],
      ] as const) {
        for (const dst of nets) {
          if (!out.has(dst)) out.set(dst, { dst, family, type: 'local', interfaceName: iface });
        }
      }
    }
    const confirmed = new Set<string>();
    for (const a of this.myAffinities.values()) if (a.confirmed) confirmed.add(a.cidr);
    for (const name of [...this.myBlocks.keys()].sort()) {
      const b = this.myBlocks.get(name)!;
      if (!confirmed.has(b.cidr) || out.has(b.cidr)) continue;
      out.set(b.cidr, { dst: b.cidr, family: b.cidr.includes(':') ? 6 : 4, type: 'blackhole' });
    }
    return out;
  }

  private computePools(): Map<string, PoolState> {
    const out = new Map<string, PoolState>();
    const problems = new Map<string, string[]>();
    for (const name of [...this.pools.keys()].sort()) {
      const r = this.pools.get(name)!;
      if (r.kind !== 'IPPool') continue;
      try {
        const n = canonNet(r.spec.cidr);
        if (!out.has(n.cidr)) {
          out.set(n.cidr, {
            cidr: n.cidr,
            family: n.family,
            natOutgoing: r.spec.natOutgoing === true,
            disabled: r.spec.disabled === true,
          });
        }
      } catch (e) {
        problems.set(`IPPool ${name}`, [`spec.cidr: ${e instanceof Error ? e.message : String(e)}`]);
      }
    }
    for (const [k, v] of problems) this.problemsByObject.set(k, v);
    return out;
  }

  /** Resolves everything applied so far; returns only what changed since the previous flush. */
  flush(): DesiredStateDelta {
    this.recompute();
    const delta: DesiredStateDelta = {
      endpoints: this.outEndpoints.takeDelta(),
      policies: this.outPolicies.takeDelta(),
      profiles: this.outProfiles.takeDelta(),
      ipsets: this.outSets.takeDelta(),
      routes: this.outRoutes.takeDelta(),
      pools: this.outPools.takeDelta(),
    };
    const cfg = JSON.stringify(this.config);
    if (cfg !== this.reportedConfig) {
      this.reportedConfig = cfg;
      delta.config = this.config;
    }
    return delta;
  }

  /** The whole desired state, including updates not flushed yet (does not consume the delta). */
  snapshot(): DesiredState {
    this.recompute();
    return {
      nodeName: this.nodeName,
      config: this.config,
      endpoints: this.outEndpoints.snapshot(),
      policies: this.outPolicies.snapshot(),
      profiles: this.outProfiles.snapshot(),
      ipsets: this.outSets.snapshot(),
      routes: this.outRoutes.snapshot(),
      pools: this.outPools.snapshot(),
    };
  }

  /** Objects calc had to skip or could not fully honour, sorted. */
  problems(): CalcProblem[] {
    this.recompute();
    const out: CalcProblem[] = [];
    for (const obj of [...this.problemsByObject.keys()].sort()) {
      const problems = this.problemsByObject.get(obj)!;
      for (const message of typeof problems === 'function' ? problems() : problems) out.push({ object: obj, message });
    }
    for (const [iface, keys] of [...this.ifaceWeps].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (keys.size > 1) {
        const sorted = [...keys].sort();
        out.push({
          object: `WorkloadEndpoint ${sorted[1]}`,
          message: `interface ${iface} is already used by WorkloadEndpoint ${sorted[0]} on this node; only that one is programmed`,
        });
      }
      if (!iface.startsWith(this.config.interfacePrefix)) {
        out.push({
          object: `WorkloadEndpoint ${minOf(keys)}`,
          message: `interface ${iface} does not start with the interface prefix "${this.config.interfacePrefix}": its traffic bypasses policy; rename it or change FelixConfiguration interfacePrefix`,
        });
      }
    }
    return out;
  }
}

/** True when a delta carries no change at all. */
export function isEmptyDelta(d: DesiredStateDelta): boolean {
  return (
    d.config === undefined &&
    [d.endpoints, d.policies, d.profiles, d.ipsets, d.routes, d.pools].every(
      (k) => k.upserts.size === 0 && k.deletes.length === 0,
    )
  );
}
