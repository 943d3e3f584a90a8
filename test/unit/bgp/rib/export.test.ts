// Adj-RIB-Out: export rules for eBGP and iBGP peers, export policy, UPDATE packing and
// withdrawals. Every UPDATE built is decoded again, as the peer would.
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  formatNextHop,
  formatPrefix,
  makeContext,
  parseIpv4,
  parseIpv6,
  type CodecContext,
  type NextHop,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
} from '../../../../bgp/packet/index.js';
import { AdjRibOut, type ExportTarget } from '../../../../bgp/rib/export.js';
import { ACCEPT_ALL, compilePolicy } from '../../../../bgp/rib/policy.js';
import type { Rib } from '../../../../bgp/rib/rib.js';
import type { Source } from '../../../../bgp/rib/path.js';
import { LOCAL_AS, hosts, nh, pfx, rib, seq, set, source } from './fixtures.js';

const ctx4: CodecContext = makeContext({ fourOctetAs: true });

function target(over: Partial<ExportTarget> = {}): ExportTarget {
  return {
    address: '192.0.2.99',
    localAs: LOCAL_AS,
    ebgp: true,
    nextHopSelf: false,
    selfV4: { afi: 1, addr: parseIpv4('192.0.2.254') },
    selfV6: { afi: 2, addr: parseIpv6('2001:db8::254') },
    families: { ipv4: true, ipv6: true },
    policy: ACCEPT_ALL,
    ctx: ctx4,
    ...over,
  };
}

interface Decoded {
  announced: Map<string, PathAttributes>;
  withdrawn: string[];
  messages: number;
  maxSize: number;
}

function decode(bufs: Buffer[], ctx: CodecContext = ctx4): Decoded {
  const d: Decoded = { announced: new Map(), withdrawn: [], messages: bufs.length, maxSize: 0 };
  for (const b of bufs) {
    d.maxSize = Math.max(d.maxSize, b.length);
    const m = decodeMessage(b, ctx).message as UpdateMessage;
    expect(m.type).toBe('update');
    for (const p of m.withdrawn) d.withdrawn.push(formatPrefix(p));
    for (const p of m.mpUnreach?.withdrawn ?? []) d.withdrawn.push(formatPrefix(p));
    for (const p of m.nlri) d.announced.set(formatPrefix(p), m.attrs);
    for (const p of m.mpReach?.nlri ?? []) d.announced.set(formatPrefix(p), { ...m.attrs, nextHop: m.mpReach!.nextHop });
  }
  return d;
}

function announce(r: Rib, s: Source, ps: Prefix[], a: PathAttributes): void {
  r.announce(s, ps, set(r, a), ACCEPT_ALL);
}

const nhText = (n: NextHop | undefined): string => (n ? formatNextHop(n) : '-');

describe('eBGP export', () => {
  it('prepends our AS, sets next hop self, drops LOCAL_PREF and a MED learned from another AS', () => {
    const r = rib();
    const from = source(r, 'ebgp', '192.0.2.1', 65001);
    announce(r, from, [pfx('10.0.0.0/8')], { origin: 0, asPath: seq(65001, 65010), nextHop: nh('192.0.2.1'), med: 50, communities: [0xfde80064] });
    const out = new AdjRibOut(target());
    const d = decode(out.build(r.loc.drainChanges(), r.loc));
    const a = d.announced.get('10.0.0.0/8')!;
    expect(a.asPath).toEqual([{ type: 2, asns: [LOCAL_AS, 65001, 65010] }]);
    expect(nhText(a.nextHop)).toBe('192.0.2.254');
    expect(a.localPref).toBeUndefined();
    expect(a.med).toBeUndefined();
    expect(a.communities).toEqual([0xfde80064]);
  });

  it('keeps the MED of our own routes and strips ORIGINATOR_ID / CLUSTER_LIST', () => {
    const r = rib();
    announce(r, r.local, [pfx('10.9.0.0/16')], { origin: 0, asPath: [], med: 7, localPref: 300 });
    const i = source(r, 'ibgp', '10.255.0.2', LOCAL_AS);
    announce(r, i, [pfx('10.8.0.0/16')], { origin: 0, asPath: seq(65020), nextHop: nh('10.255.0.7'), localPref: 100, originatorId: 5, clusterList: [6] });
    const d = decode(new AdjRibOut(target()).build(r.loc.drainChanges(), r.loc));
    expect(d.announced.get('10.9.0.0/16')).toMatchObject({ med: 7, asPath: [{ type: 2, asns: [LOCAL_AS] }] });
    expect(d.announced.get('10.9.0.0/16')!.localPref).toBeUndefined();
    const b = d.announced.get('10.8.0.0/16')!;
    expect(b.originatorId).toBeUndefined();
    expect(b.clusterList).toBeUndefined();
    expect(b.asPath).toEqual([{ type: 2, asns: [LOCAL_AS, 65020] }]);
  });

  it('never sends a peer its own routes back, nor routes tagged NO_EXPORT / NO_ADVERTISE', () => {
    const r = rib();
    const peer = source(r, 'ebgp', '192.0.2.99', 65001);
    announce(r, peer, [pfx('10.1.0.0/16')], { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.99') });
    announce(r, r.local, [pfx('10.2.0.0/16')], { origin: 0, asPath: [], communities: [0xffffff01] });
    announce(r, r.local, [pfx('10.3.0.0/16')], { origin: 0, asPath: [], communities: [0xffffff02] });
    announce(r, r.local, [pfx('10.4.0.0/16')], { origin: 0, asPath: [] });
    const out = new AdjRibOut(target());
    const d = decode(out.build(r.loc.drainChanges(), r.loc));
    expect([...d.announced.keys()]).toEqual(['10.4.0.0/16']);
    expect(out.explain(pfx('10.1.0.0/16'), r.loc.best(pfx('10.1.0.0/16')))).toBe('learned from this peer');
    // iBGP peers get NO_EXPORT routes but not NO_ADVERTISE ones.
    const ibgp = new AdjRibOut(target({ ebgp: false, address: '10.255.0.9' }));
    const di = decode(ibgp.build([...r.loc.table.entries()].map(([p]) => p), r.loc));
    expect([...di.announced.keys()].sort()).toEqual(['10.1.0.0/16', '10.2.0.0/16', '10.4.0.0/16']);
  });
});

describe('iBGP export', () => {
  it('keeps the AS path and next hop, adds LOCAL_PREF 100, and uses our address for local routes', () => {
    const r = rib();
    const e = source(r, 'ebgp', '192.0.2.1', 65001);
    announce(r, e, [pfx('10.0.0.0/8')], { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1'), med: 3 });
    announce(r, r.local, [pfx('10.5.0.0/16')], { origin: 0, asPath: [] });
    const out = new AdjRibOut(target({ ebgp: false, address: '10.255.0.2' }));
    const d = decode(out.build(r.loc.drainChanges(), r.loc));
    expect(d.announced.get('10.0.0.0/8')).toMatchObject({ asPath: [{ type: 2, asns: [65001] }], localPref: 100, med: 3 });
    expect(nhText(d.announced.get('10.0.0.0/8')!.nextHop)).toBe('192.0.2.1');
    expect(d.announced.get('10.5.0.0/16')).toMatchObject({ asPath: [], localPref: 100 });
    expect(nhText(d.announced.get('10.5.0.0/16')!.nextHop)).toBe('192.0.2.254');
  });

  it('next-hop-self rewrites the next hop for iBGP too', () => {
    const r = rib();
    announce(r, source(r, 'ebgp', '192.0.2.1', 65001), [pfx('10.0.0.0/8')], { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') });
    const d = decode(new AdjRibOut(target({ ebgp: false, nextHopSelf: true, address: '10.255.0.2' })).build(r.loc.drainChanges(), r.loc));
    expect(nhText(d.announced.get('10.0.0.0/8')!.nextHop)).toBe('192.0.2.254');
  });

  it('does not pass iBGP-learned routes to other iBGP peers (no reflection), but does to eBGP peers', () => {
    const r = rib();
    const i = source(r, 'ibgp', '10.255.0.3', LOCAL_AS);
    announce(r, i, [pfx('10.7.0.0/16')], { origin: 0, asPath: [], nextHop: nh('10.255.0.3'), localPref: 100 });
    const changes = r.loc.drainChanges();
    const ib = new AdjRibOut(target({ ebgp: false, address: '10.255.0.4' }));
    expect(ib.build(changes, r.loc)).toEqual([]);
    expect(ib.explain(pfx('10.7.0.0/16'), r.loc.best(pfx('10.7.0.0/16')))).toContain('iBGP');
    const eb = decode(new AdjRibOut(target()).build(changes, r.loc));
    expect([...eb.announced.keys()]).toEqual(['10.7.0.0/16']);
  });
});

describe('packing and withdrawal', () => {
  it('packs many prefixes with one attribute set into few UPDATEs within 4096 octets, and withdraws them again', () => {
    const r = rib();
    const s = source(r, 'ebgp', '192.0.2.1', 65001);
    const ps = hosts(20_000);
    announce(r, s, ps, { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') });
    const out = new AdjRibOut(target());
    const bufs = out.build(r.loc.drainChanges(), r.loc);
    const d = decode(bufs);
    expect(d.announced.size).toBe(20_000);
    expect(d.maxSize).toBeLessThanOrEqual(4096);
    // 5 octets per /32: at most a handful more messages than the octets strictly need.
    expect(d.messages).toBeLessThanOrEqual(Math.ceil((20_000 * 5) / 4000) + 1);
    expect(out.sent.size).toBe(20_000);
    // Nothing changed: nothing to send.
    expect(out.build(ps, r.loc)).toEqual([]);
    r.withdraw(s, ps.slice(0, 15_000));
    const w = decode(out.build(r.loc.drainChanges(), r.loc));
    expect(w.withdrawn.length).toBe(15_000);
    expect(w.announced.size).toBe(0);
    expect(w.maxSize).toBeLessThanOrEqual(4096);
    expect(out.sent.size).toBe(5000);
  });

  it('groups prefixes by attribute set', () => {
    const r = rib();
    const s = source(r, 'ebgp', '192.0.2.1', 65001);
    const ps = hosts(3000);
    announce(r, s, ps.filter((_, i) => i % 2 === 0), { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') });
    announce(r, s, ps.filter((_, i) => i % 2 === 1), { origin: 0, asPath: seq(65001, 65002), nextHop: nh('192.0.2.1') });
    const d = decode(new AdjRibOut(target()).build(r.loc.drainChanges(), r.loc));
    expect(d.announced.size).toBe(3000);
    expect(d.messages).toBeLessThanOrEqual(6);
    expect(d.announced.get('10.0.0.1/32')!.asPath).toEqual([{ type: 2, asns: [LOCAL_AS, 65001, 65002] }]);
    expect(d.announced.get('10.0.0.2/32')!.asPath).toEqual([{ type: 2, asns: [LOCAL_AS, 65001] }]);
  });

  it('sends IPv6 in MP_REACH_NLRI with our IPv6 next hop (and the link-local one when the session has it), withdraws in MP_UNREACH_NLRI', () => {
    const r = rib();
    const s = source(r, 'ebgp', '2001:db8::1', 65001, '192.0.2.1');
    const v6 = Array.from({ length: 2000 }, (_, i) => pfx(`2001:db8:${(i + 1).toString(16)}::/48`));
    announce(r, s, v6, { origin: 0, asPath: seq(65001), nextHop: { afi: 2, addr: parseIpv6('2001:db8::1') } });
    const ll: ExportTarget['selfV6'] = { afi: 2, addr: parseIpv6('2001:db8::254'), linkLocal: parseIpv6('fe80::254') };
    const out = new AdjRibOut(target({ selfV6: ll }));
    const d = decode(out.build(r.loc.drainChanges(), r.loc));
    expect(d.announced.size).toBe(2000);
    expect(d.maxSize).toBeLessThanOrEqual(4096);
    expect(nhText(d.announced.get('2001:db8:1::/48')!.nextHop)).toBe('2001:db8::254 (link-local fe80::254)');
    r.withdraw(s, v6);
    const w = decode(out.build(r.loc.drainChanges(), r.loc));
    expect(w.withdrawn.length).toBe(2000);
  });

  it('honours the export policy, withdrawing what it no longer allows after a retarget', () => {
    const r = rib();
    announce(r, r.local, [pfx('10.1.0.0/16'), pfx('10.2.0.0/16'), pfx('192.168.0.0/16')], { origin: 0, asPath: [] });
    const only10 = compilePolicy({ default: 'reject', rules: [{ prefix: '10.0.0.0/8', le: 24, action: 'accept' }] }, 'export policy');
    const out = new AdjRibOut(target({ policy: only10 }));
    const d = decode(out.build(r.loc.drainChanges(), r.loc));
    expect([...d.announced.keys()].sort()).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    expect(out.explain(pfx('192.168.0.0/16'), r.loc.best(pfx('192.168.0.0/16')))).toBe('rejected by export policy default');
    out.retarget(target({ policy: compilePolicy({ default: 'reject', rules: [{ prefix: '10.2.0.0/16', action: 'accept' }] }, 'export policy') }));
    const all = [...r.loc.table.entries()].map(([p]) => p);
    const w = decode(out.build(all, r.loc));
    expect(w.withdrawn).toEqual(['10.1.0.0/16']);
    expect(w.announced.size).toBe(0);
  });

  it('sends 2-octet AS paths with AS4_PATH to a peer without 4-octet AS support', () => {
    const r = rib();
    announce(r, source(r, 'ebgp', '192.0.2.1', 4200000001), [pfx('10.0.0.0/8')], { origin: 0, asPath: seq(4200000001), nextHop: nh('192.0.2.1') });
    const ctx2 = makeContext({ fourOctetAs: false });
    const d = decode(new AdjRibOut(target({ ctx: ctx2 })).build(r.loc.drainChanges(), r.loc), ctx2);
    expect(d.announced.get('10.0.0.0/8')!.asPath).toEqual([{ type: 2, asns: [LOCAL_AS, 4200000001] }]);
  });
});
