// Shared by the live-session fuzz tests: a seeded generator of mutated and random UPDATEs, and
// the codec's verdict on each (what RFC 7606 requires the speaker to do with it).
import {
  BgpError,
  decodeMessage,
  encodeMessage,
  formatPrefix,
  makeContext,
  parseIpv4,
  parseIpv6,
  parsePrefix,
  type Ipv4Prefix,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
} from '../../../../bgp/packet/index.js';

export const SPK_ASN = 65000;
export const RAW_ASN = 65001;

/** The raw peer's address (the next hop of the seeds). */
export const RAW_ADDR = '127.0.30.2';

/** The context the speaker decodes this peer's messages with (eBGP, 4-octet AS, no ADD-PATH). */
export const rx = makeContext({ fourOctetAs: true, ebgp: true });
export const tx = makeContext({ fourOctetAs: true });

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const base: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001, 65010] }], nextHop: { afi: 1, addr: parseIpv4(RAW_ADDR) } };
export const v6nh = { afi: 2 as const, addr: parseIpv6('2001:db8::2') };

export function upd(m: Partial<UpdateMessage>): Buffer {
  return encodeMessage({ type: 'update', withdrawn: [], attrs: {}, nlri: [], ...m }, tx);
}

export const SEEDS: Buffer[] = [
  upd({ attrs: { ...base, med: 10, communities: [0xfde80001] }, nlri: ['10.1.0.0/24', '10.1.1.0/24', '10.2.0.0/16'].map(parsePrefix) as Ipv4Prefix[] }),
  upd({ attrs: { ...base, localPref: 5, atomicAggregate: true, aggregator: { as: 65001, address: 1 } }, nlri: [parsePrefix('10.3.0.0/24') as Ipv4Prefix] }),
  upd({ attrs: { origin: 2, asPath: [{ type: 2, asns: [65001] }], largeCommunities: [{ global: 1, local1: 2, local2: 3 }] }, mpReach: { afi: 2, safi: 1, nextHop: v6nh, nlri: ['2001:db8:1::/48', '2001:db8:2::/48'].map(parsePrefix) } }),
  upd({ withdrawn: [parsePrefix('10.1.0.0/24') as Ipv4Prefix], mpUnreach: { afi: 2, safi: 1, withdrawn: [parsePrefix('2001:db8:1::/48')] } }),
  upd({ attrs: { ...base, extendedCommunities: [0x0002fde800000001n], unknown: [{ flags: 0xc0, type: 99, value: Buffer.from([1, 2, 3]) }] }, nlri: [parsePrefix('10.4.0.0/22') as Ipv4Prefix] }),
];

export function mutate(r: () => number): Buffer {
  const seed = SEEDS[Math.floor(r() * SEEDS.length)]!;
  let b = Buffer.from(seed);
  const kind = r();
  if (kind < 0.6) {
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) b[19 + Math.floor(r() * (b.length - 19))] = Math.floor(r() * 256);
  } else if (kind < 0.8) {
    b = b.subarray(0, 23 + Math.floor(r() * (b.length - 23 + 1)));
  } else {
    const extra = Buffer.alloc(1 + Math.floor(r() * 12));
    for (let i = 0; i < extra.length; i++) extra[i] = Math.floor(r() * 256);
    b = Buffer.concat([b, extra]);
    if (r() < 0.5) b.writeUInt16BE(b.readUInt16BE(21) + extra.length, 21); // grow the attribute block
  }
  b = Buffer.from(b);
  b.writeUInt16BE(b.length, 16);
  b[18] = 2;
  return b;
}

export type Verdict = { reset: { code: number; subcode: number } } | { announced: string[]; withdrawn: string[]; treatAsWithdraw: boolean };

export function verdict(m: Buffer): Verdict {
  try {
    const r = decodeMessage(m, rx);
    const u = r.message as UpdateMessage;
    const announced = [...u.nlri, ...(u.mpReach?.nlri ?? [])].map((p) => formatPrefix({ ...p, pathId: 0 } as Prefix));
    const withdrawn = [...u.withdrawn, ...(u.mpUnreach?.withdrawn ?? [])].map((p) => formatPrefix({ ...p, pathId: 0 } as Prefix));
    return { announced, withdrawn, treatAsWithdraw: r.treatAsWithdraw };
  } catch (e) {
    if (!(e instanceof BgpError)) throw e;
    return { reset: { code: e.notification.code, subcode: e.notification.subcode } };
  }
}

/** A random UPDATE: a valid header (marker, length, type 2) around random body bytes. */
export function randomUpdate(r: () => number): Buffer {
  const len = 4 + Math.floor(r() * 120);
  const b = Buffer.alloc(19 + len, 0xff);
  for (let i = 19; i < b.length; i++) b[i] = Math.floor(r() * 256);
  b.writeUInt16BE(b.length, 16);
  b[18] = 2;
  return b;
}
