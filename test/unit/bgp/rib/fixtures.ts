// Small builders for RIB tests.
import { parseIpv4, parsePrefix, type PathAttributes, type Prefix } from '../../../../bgp/packet/index.js';
import type { AttrSet } from '../../../../bgp/rib/attr-set.js';
import { addressKey } from '../../../../bgp/server/config.js';
import type { Source, SourceKind } from '../../../../bgp/rib/path.js';
import { Rib } from '../../../../bgp/rib/rib.js';

export const LOCAL_AS = 65000;
export const LOCAL_ID = parseIpv4('10.255.0.1');

export function rib(alwaysCompareMed = false): Rib {
  return new Rib({ alwaysCompareMed, localAs: LOCAL_AS, localId: LOCAL_ID });
}

export function source(r: Rib, kind: SourceKind, address: string, asn: number, routerId = address): Source {
  return r.newSource(kind, { address, addressKey: addressKey(address), asn, bgpId: parseIpv4(routerId) });
}

export function set(r: Rib, a: PathAttributes): AttrSet {
  return r.store.internAttrs(a);
}

export function seq(...asns: number[]): PathAttributes['asPath'] {
  return [{ type: 2, asns }];
}

export function nh(addr: string): PathAttributes['nextHop'] {
  return { afi: 1, addr: parseIpv4(addr) };
}

export function pfx(s: string): Prefix {
  return parsePrefix(s);
}

/** /32s from 10.0.0.0 on. */
export function hosts(n: number, start = '10.0.0.0'): Prefix[] {
  const base = parseIpv4(start);
  return Array.from({ length: n }, (_, i) => parsePrefix(`${(base + i) >>> 24}.${((base + i) >>> 16) & 255}.${((base + i) >>> 8) & 255}.${(base + i) & 255}/32`));
}
