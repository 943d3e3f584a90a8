// Where an Explainer finds workload endpoints. One question needs a handful of a cluster's
// endpoints (the two named, the holders of the packet's addresses, those claiming the same
// interface), so the Explainer asks for those instead of walking all of them. Each answer is a
// superset: the Explainer keeps its exact checks on what it gets.
//
// endpointList: endpoints already parsed (the lab's verify matrix; tests).
// endpointSearch: a datastore QuerySnapshot's lazy WorkloadEndpoints, found by their stored JSON
// text and parsed only then (twillctl policy explain on a big file store).
import type { WorkloadEndpointResource } from '../../src/api/types.js';
import { cidrTextHolder, formatIp, type IpAddr } from '../../src/api/cidr.js';
import type { LazyObjects } from '../../src/datastore/query.js';

export interface EndpointSource {
  /** At least every endpoint whose metadata.name, spec.workload or spec.pod is `name`. */
  named(name: string): readonly WorkloadEndpointResource[];
  /** At least every endpoint whose spec.interfaceName is `iface`. */
  onInterface(iface: string | undefined): readonly WorkloadEndpointResource[];
  /** At least every endpoint that may hold one of `ips` (mayHold). */
  holding(ips: readonly IpAddr[]): readonly WorkloadEndpointResource[];
  /** Every endpoint. */
  all(): readonly WorkloadEndpointResource[];
  /**
   * A hint: the queries about to be asked (named, onInterface, holding), for a source that can
   * answer them together more cheaply than one by one.
   */
  warm?(q: EndpointQueries): void;
}

export interface EndpointQueries {
  names?: readonly string[];
  interfaces?: readonly (string | undefined)[];
  holding?: readonly IpAddr[];
}

/**
 * Whether an endpoint's addresses may include one of the holder's: an ipNetworks entry holds one,
 * or the addresses cannot be read (then calc decides what they are).
 */
export function mayHold(w: WorkloadEndpointResource, holder: (text: string) => boolean): boolean {
  const nets: unknown = w.spec?.ipNetworks;
  if (nets === undefined) return false;
  if (!Array.isArray(nets)) return true;
  return nets.some((n: unknown) => typeof n !== 'string' || holdsText(holder, n));
}

function holdsText(holder: (text: string) => boolean, text: string): boolean {
  try {
    return holder(text);
  } catch {
    return true;
  }
}

/** Endpoints already parsed: each answer is the exact set. */
export function endpointList(weps: readonly WorkloadEndpointResource[]): EndpointSource {
  return {
    named: (name) => weps.filter((w) => w.metadata.name === name || w.spec.workload === name || w.spec.pod === name),
    onInterface: (iface) => weps.filter((w) => w.spec.interfaceName === iface),
    holding: (ips) => {
      const holder = cidrTextHolder(ips);
      return weps.filter((w) => mayHold(w, holder));
    },
    all: () => weps,
  };
}

/** An IPv4 host prefix in canonical text, as in a JSON string ("10.0.0.1/32"). */
const V4_HOST = String.raw`"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/32"`;
/**
 * An "ipNetworks" key not followed by a list of canonical IPv4 host prefixes: an endpoint with a
 * wider prefix, IPv6, odd text or layout. Such an endpoint may hold any address. (Matched without
 * the key's opening quote: a pattern starting with a rarer character scans ~2× faster, and the
 * answer is a superset anyway.)
 */
const UNUSUAL_NETS = new RegExp(String.raw`ipNetworks"(?!:\[(?:${V4_HOST},)*${V4_HOST}\])`);

/**
 * A datastore snapshot's endpoints, found by their stored text and parsed only then (a superset:
 * LazyObjects). A name or interface is found as its JSON string. The holders of an address: the
 * endpoints whose text has its canonical host prefix ("10.0.0.1/32", how endpoint addresses are
 * written), and every endpoint with any other kind of ipNetworks entry (UNUSUAL_NETS): a wider
 * prefix may hold it, an IPv6 address has many spellings. warm() finds the candidates of several
 * queries in one scan of the store (one pattern with every needle); their union answers each of
 * those queries (a superset of each).
 */
export function endpointSearch(lazy: LazyObjects<WorkloadEndpointResource>): EndpointSource {
  let warmed: { needles: ReadonlySet<string>; unusual: boolean; found: WorkloadEndpointResource[] } | undefined;
  const hostNeedles = (ips: readonly IpAddr[]): string[] => ips.filter((ip) => ip.family === 4).map((ip) => JSON.stringify(`${formatIp(ip)}/32`));
  const find = (needles: readonly string[], unusual: boolean): WorkloadEndpointResource[] => {
    if (warmed && (!unusual || warmed.unusual) && needles.every((n) => warmed!.needles.has(n))) return warmed.found;
    if (!unusual && needles.length === 1) return lazy.containing(needles[0]!);
    const found = new Set<WorkloadEndpointResource>(unusual ? lazy.matching(UNUSUAL_NETS) : []);
    for (const n of needles) for (const w of lazy.containing(n)) found.add(w);
    return [...found];
  };
  return {
    named: (name) => find([JSON.stringify(name)], false),
    onInterface: (iface) => (typeof iface === 'string' ? find([JSON.stringify(iface)], false) : lazy.all()),
    holding: (ips) => find(hostNeedles(ips), true),
    all: () => lazy.all(),
    warm: (q) => {
      if (q.interfaces?.some((i) => typeof i !== 'string')) return;
      const needles = [...(q.names ?? []), ...((q.interfaces ?? []) as string[])].map((v) => JSON.stringify(v));
      const ips = q.holding ?? [];
      needles.push(...hostNeedles(ips));
      const unusual = ips.length > 0;
      // Each needle without its opening quote (a superset again): the scan looks for rarer first
      // characters than '"', about twice as fast.
      const alternatives = needles.map((n) => n.slice(1).replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'));
      if (unusual) alternatives.push(UNUSUAL_NETS.source);
      if (alternatives.length === 0) return;
      warmed = { needles: new Set(needles), unusual, found: lazy.matching(new RegExp(alternatives.join('|'))) };
    },
  };
}
