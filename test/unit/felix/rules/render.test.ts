// felix/rules: the chains, hooks and sets rendered for a desired state, checked the way an
// operator reads iptables-save output.
import { describe, expect, it } from 'vitest';
import { CalcGraph } from '../../../../felix/calc/index.js';
import type { DesiredState } from '../../../../felix/calc/types.js';
import {
  CHAIN,
  MarkMaskError,
  RuleRenderer,
  endpointChain,
  ipsetName,
  markBits,
  policyChain,
  profileChain,
  renderAll,
  ruleHash,
  type Chain,
  type Rendered,
  type RenderedFamily,
} from '../../../../felix/rules/index.js';
import { extractHash } from '../../../../src/iptables/naming.js';
import type { Rule } from '../../../../src/api/types.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';
import { felixConfig, gnp, np, pool, profile, set, wep } from '../calc/builders.js';

function stateOf(events: SyncEvent[]): DesiredState {
  const g = new CalcGraph({ nodeName: 'host1' });
  g.apply(events);
  return g.snapshot();
}

function chain(f: RenderedFamily, name: string, table: 'filter' | 'nat' = 'filter'): Chain {
  const c = f[table].find((x) => x.name === name);
  expect(c, `chain ${name}`).toBeDefined();
  return c!;
}

/** Rule texts without the hash comment. */
function texts(c: Chain): string[] {
  return c.rules.map((r) => r.spec.replace(/^-m comment --comment "tw:[0-9a-f]{16}" /, ''));
}

/** Renders one ingress rule of a policy applied to endpoint "a" (10.0.0.1). */
function renderRule(rule: Rule, extra: SyncEvent[] = []): { r: Rendered; s: DesiredState; v4: string[]; v6: string[] } {
  const s = stateOf([
    set(wep('a', { ips: ['10.0.0.1/32', 'fd00::1/128'], labels: { app: 'db' } })),
    set(np('p', { selector: 'app == "db"', ingress: [rule] })),
    ...extra,
  ]);
  const r = renderAll(s);
  const name = policyChain('np/default/p', 'in');
  return { r, s, v4: texts(chain(r.v4, name)), v6: texts(chain(r.v6!, name)) };
}

describe('policy rules', () => {
  it('Allow TCP 80 from a selector: protocol, port, source set, accept mark, return', () => {
    const { s, v4, v6 } = renderRule({
      action: 'Allow',
      protocol: 'TCP',
      source: { selector: 'app == "web"' },
      destination: { ports: [80] },
    });
    const setId = s.policies.get('np/default/p')!.ingress![0]!.source.selectorSetId!;
    expect(v4).toEqual([
      `-p tcp -m set --match-set ${ipsetName(setId, 4)} src -m multiport --dports 80 -j MARK --set-xmark 0x10000/0x10000`,
      '-m mark --mark 0x10000/0x10000 -j RETURN',
    ]);
    expect(v6[0]).toContain(`--match-set tw6-${setId} src`);
  });

  it('Deny drops, Pass sets the pass mark and returns, Log logs', () => {
    expect(renderRule({ action: 'Deny', protocol: 'UDP' }).v4).toEqual(['-p udp -j DROP']);
    expect(renderRule({ action: 'Pass' }).v4).toEqual([
      '-j MARK --set-xmark 0x20000/0x20000',
      '-m mark --mark 0x20000/0x20000 -j RETURN',
    ]);
    expect(renderRule({ action: 'Log', protocol: 'TCP' }).v4).toEqual(['-p tcp -j LOG --log-prefix "twill-packet: "']);
  });

  it('splits ports into multiport groups of 15 slots (a range takes 2); named ports are alternatives', () => {
    const ports = Array.from({ length: 20 }, (_, i) => 1000 + i);
    const { v4 } = renderRule({ action: 'Deny', protocol: 'TCP', destination: { ports: [...ports, '2000:2010', 'http'] } });
    const drops = v4.filter((t) => t.endsWith('-j DROP'));
    expect(drops).toHaveLength(3);
    expect(drops[0]).toBe(`-p tcp -m multiport --dports ${ports.slice(0, 15).join(',')} -j DROP`);
    expect(drops[1]).toBe(`-p tcp -m multiport --dports ${ports.slice(15).join(',')},2000:2010 -j DROP`);
    expect(drops[2]).toMatch(/^-p tcp -m set --match-set tw4-[0-9a-f]{20} dst,dst -j DROP$/);
  });

  it('source and destination port alternatives multiply; notPorts stay in every rule', () => {
    const { v4 } = renderRule({
      action: 'Deny',
      protocol: 'UDP',
      source: { ports: [53, 'dns'] },
      destination: { ports: [1, 2], notPorts: [2] },
    });
    expect(v4).toHaveLength(2);
    for (const t of v4) expect(t).toContain('-m multiport ! --dports 2');
    expect(v4[0]).toContain('-m multiport --sports 53');
    expect(v4[1]).toMatch(/-m set --match-set tw4-[0-9a-f]{20} src,src/);
  });

  it('ICMP type/code in the right family only; notICMP negated', () => {
    const v4Only = renderRule({ action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 }, notICMP: { type: 8, code: 1 } });
    expect(v4Only.v4[0]).toBe('-p icmp -m icmp --icmp-type 8/0 -m icmp ! --icmp-type 8/1 -j MARK --set-xmark 0x10000/0x10000');
    expect(v4Only.v6).toEqual([]);
    const v6Only = renderRule({ action: 'Allow', protocol: 'ICMPv6', icmp: { type: 128 } });
    expect(v6Only.v4).toEqual([]);
    expect(v6Only.v6[0]).toBe('-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j MARK --set-xmark 0x10000/0x10000');
  });

  it('nets: one → -s, several → a set; notNets → a negated set; other-family nets keep the rule out', () => {
    const one = renderRule({ action: 'Deny', source: { nets: ['10.1.0.0/16'] }, destination: { nets: ['10.2.0.5'] } });
    expect(one.v4).toEqual(['-s 10.1.0.0/16 -d 10.2.0.5/32 -j DROP']);
    expect(one.v6).toEqual([]);
    const many = renderRule({ action: 'Deny', source: { nets: ['10.1.0.0/16', '10.3.0.0/16', 'fd00:1::/64'], notNets: ['10.1.1.0/24'] } });
    const r = many.s.policies.get('np/default/p')!.ingress![0]!.source;
    expect(many.v4).toEqual([
      `-m set --match-set tw4-${r.netSetId} src -m set ! --match-set tw4-${r.notNetSetId} src -j DROP`,
    ]);
    // in IPv6 the single v6 net is a plain -s, and the v4-only notNets add nothing
    expect(many.v6).toEqual(['-s fd00:1::/64 -j DROP']);
    const sets = many.r.v4.ipsets.find((x) => x.name === `tw4-${r.netSetId}`)!;
    expect(sets.members).toEqual(['10.1.0.0/16', '10.3.0.0/16']);
  });

  it('notSelector and notProtocol', () => {
    const { s, v4 } = renderRule({ action: 'Deny', notProtocol: 'TCP', source: { notSelector: 'app == "web"' } });
    const id = s.policies.get('np/default/p')!.ingress![0]!.source.notSelectorSetId!;
    expect(v4).toEqual([`! -p tcp -m set ! --match-set tw4-${id} src -j DROP`]);
  });

  it('a rule that cannot match in a family renders nothing there (and is no error)', () => {
    const { v4 } = renderRule({ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] }, ipVersion: 6 });
    expect(v4).toEqual([]);
  });

  it('an unusable rule (a Deny whose selector does not parse) fails closed: DROP everything, both families', () => {
    const { v4, v6 } = renderRule({ action: 'Deny', source: { selector: 'app = = "x"' } });
    expect(v4).toEqual(['-j DROP']);
    expect(v6).toEqual(['-j DROP']);
  });
});

describe('endpoint chains', () => {
  const s = stateOf([
    set(profile('prof1', { ingress: [{ action: 'Allow' }] })),
    set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'db' }, profiles: ['prof1'] })),
    set(wep('b', { ips: ['10.0.0.2/32'], profiles: ['prof1'] })),
    set(np('second', { order: 20, selector: 'app == "db"', ingress: [{ action: 'Allow' }] })),
    set(gnp('first', { order: 10, selector: 'app == "db"', types: ['Ingress', 'Egress'], ingress: [{ action: 'Deny' }] })),
  ]);
  const r = renderAll(s);

  it('to-workload: replies accepted, invalid dropped, policies in order, tier drop, profiles, drop', () => {
    const pi = (id: string): string => policyChain(id, 'in');
    expect(texts(chain(r.v4, endpointChain('twa', 'to')))).toEqual([
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-m conntrack --ctstate INVALID -j DROP',
      '-j MARK --set-xmark 0x0/0x30000',
      '-j MARK --set-xmark 0x0/0x20000',
      `-m mark --mark 0x0/0x20000 -j ${pi('gnp/first')}`,
      '-m mark --mark 0x10000/0x10000 -j RETURN',
      `-m mark --mark 0x0/0x20000 -j ${pi('np/default/second')}`,
      '-m mark --mark 0x10000/0x10000 -j RETURN',
      '-m mark --mark 0x0/0x20000 -j DROP',
      '-j MARK --set-xmark 0x0/0x20000',
      `-j ${profileChain('prof/prof1', 'in')}`,
      '-m mark --mark 0x10000/0x10000 -j RETURN',
      '-j DROP',
    ]);
  });

  it('from-workload uses the egress policies; an endpoint without policies goes straight to its profiles', () => {
    const fw = texts(chain(r.v4, endpointChain('twa', 'from')));
    expect(fw).toContain(`-m mark --mark 0x0/0x20000 -j ${policyChain('gnp/first', 'out')}`);
    expect(fw.some((t) => t.includes(policyChain('np/default/second', 'out')))).toBe(false);
    expect(texts(chain(r.v4, endpointChain('twb', 'to')))).toEqual([
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-m conntrack --ctstate INVALID -j DROP',
      '-j MARK --set-xmark 0x0/0x30000',
      `-j ${profileChain('prof/prof1', 'in')}`,
      '-m mark --mark 0x10000/0x10000 -j RETURN',
      '-j DROP',
    ]);
  });

  it('an egress-only policy with no rules still isolates (its chain exists, empty)', () => {
    expect(chain(r.v4, policyChain('gnp/first', 'out')).rules).toEqual([]);
  });
  it('an endpoint with no IPv6 address only drops in IPv6, whatever its policies; a dual-stack one is policed in both', () => {
    for (const dir of ['to', 'from'] as const) expect(texts(chain(r.v6!, endpointChain('twa', dir)))).toEqual(['-j DROP']);
    const dual = renderAll(
      stateOf([
        set(wep('d', { ips: ['10.0.0.4/32', 'fd00::4/128'], labels: { app: 'db' } })),
        set(np('second', { selector: 'app == "db"', ingress: [{ action: 'Allow' }] })),
      ]),
    );
    const v4 = texts(chain(dual.v4, endpointChain('twd', 'to')));
    expect(texts(chain(dual.v6!, endpointChain('twd', 'to')))).toEqual(v4);
    expect(v4).toContain(`-m mark --mark 0x0/0x20000 -j ${policyChain('np/default/second', 'in')}`);
  });
});

/** Follows the dispatch tree for a packet on `iface`: the endpoint chain it reaches, or DROP. */
function dispatch(f: RenderedFamily, root: string, iface: string): string {
  let name = root;
  for (let hops = 0; hops < 10; hops++) {
    const c = chain(f, name);
    let next: string | undefined;
    for (const t of texts(c)) {
      if (t === '-j DROP') return 'DROP';
      const m = /^-[io] (\S+) -g (\S+)$/.exec(t);
      expect(m, t).not.toBeNull();
      const pat = m![1]!;
      const hit = pat.endsWith('+') ? iface.startsWith(pat.slice(0, -1)) : iface === pat;
      if (hit) {
        next = m![2]!;
        break;
      }
    }
    if (next === undefined) return 'FELL-THROUGH';
    if (!next.includes('dispatch')) return next;
    name = next;
  }
  return 'LOOP';
}

describe('dispatch', () => {
  it('fails closed: with no endpoints every dispatch chain only drops', () => {
    const r = renderAll(stateOf([]));
    expect(texts(chain(r.v4, CHAIN.toWlDispatch))).toEqual(['-j DROP']);
    expect(texts(chain(r.v4, CHAIN.fromWlDispatch))).toEqual(['-j DROP']);
  });

  it('a shallow tree for many interfaces; each reaches its own chain, unknown ones are dropped', () => {
    const names = Array.from({ length: 120 }, (_, i) => `tw${((i * 2654435761) >>> 0).toString(16).padStart(8, '0').slice(0, 11)}`);
    const s = stateOf(names.map((n, i) => set(wep(`w${i}`, { iface: n, ips: [`10.0.${i >> 8}.${i & 255}/32`] }))));
    const r = renderAll(s, { dispatchFanout: 8 });
    const dispatchChains = r.v4.filter.filter((c) => c.name.includes('dispatch'));
    expect(dispatchChains.length).toBeGreaterThan(2);
    for (const c of dispatchChains) {
      expect(c.name.length).toBeLessThanOrEqual(28);
      expect(texts(c).at(-1)).toBe('-j DROP');
      expect(c.rules.length).toBeLessThanOrEqual(8 + 17); // fanout entries or one per next character, + DROP
    }
    for (const n of names) {
      expect(dispatch(r.v4, CHAIN.toWlDispatch, n)).toBe(endpointChain(n, 'to'));
      expect(dispatch(r.v4, CHAIN.fromWlDispatch, n)).toBe(endpointChain(n, 'from'));
    }
    for (const unknown of ['tw', 'twzzzz', 'eth0', `${names[0]!}x`, names[0]!.slice(0, -1)]) {
      expect(dispatch(r.v4, CHAIN.toWlDispatch, unknown)).toBe('DROP');
    }
  });
});

describe('top chains, hooks, marks, NAT', () => {
  it('FORWARD dispatches on the interface prefix and accepts what policy accepted', () => {
    const r = renderAll(stateOf([set(felixConfig('default', { interfacePrefix: 'cali' }))]));
    expect(texts(chain(r.v4, CHAIN.forward))).toEqual([
      '-j MARK --set-xmark 0x0/0xf0000',
      `-i cali+ -j ${CHAIN.fromWlDispatch}`,
      `-o cali+ -j ${CHAIN.toWlDispatch}`,
      '-m mark --mark 0x10000/0x10000 -j ACCEPT',
    ]);
    expect(texts(chain(r.v4, CHAIN.input))).toEqual([`-i cali+ -g ${CHAIN.wlToHost}`]);
    expect(texts(chain(r.v4, CHAIN.wlToHost))).toEqual([`-j ${CHAIN.fromWlDispatch}`, '-j DROP']);
  });

  it('defaultEndpointToHostAction decides what workload → host traffic gets after egress policy', () => {
    const r = renderAll(stateOf([set(felixConfig('default', { defaultEndpointToHostAction: 'Accept' }))]));
    expect(texts(chain(r.v4, CHAIN.wlToHost)).at(-1)).toBe('-j ACCEPT');
  });

  it('hooks jump from the built-in chains, each with its hash', () => {
    const r = renderAll(stateOf([]));
    expect(r.v4.hooks.map((h) => `${h.table} ${h.chain} ${h.spec.replace(/^-m comment --comment "tw:[0-9a-f]{16}" /, '')}`)).toEqual([
      'filter FORWARD -j tw-FORWARD',
      'filter INPUT -j tw-INPUT',
      'filter OUTPUT -j tw-OUTPUT',
      'nat POSTROUTING -j tw-POSTROUTING',
    ]);
    for (const h of r.v4.hooks) expect(extractHash(h.spec)).toBe(h.hash);
  });

  it('marks come from the mask, lowest bits first; a mask with too few bits is refused', () => {
    expect(markBits(0xffff0000)).toEqual({ accept: 0x10000, pass: 0x20000, scratch0: 0x40000, scratch1: 0x80000 });
    expect(markBits(0x0f00)).toEqual({ accept: 0x100, pass: 0x200, scratch0: 0x400, scratch1: 0x800 });
    const r = renderAll(stateOf([set(felixConfig('default', { iptablesMarkMask: 0xf0 })), set(wep('a', { ips: ['10.0.0.1/32'] }))]));
    expect(texts(chain(r.v4, endpointChain('twa', 'to')))).toContain('-j MARK --set-xmark 0x0/0x30');
    expect(() => markBits(0x7)).toThrow(MarkMaskError);
    // the renderer keeps going with the marks in use (here: the default mask's) and says why
    const rr = new RuleRenderer();
    rr.load(stateOf([set(wep('a', { ips: ['10.0.0.1/32'] }))]));
    rr.load(stateOf([set(felixConfig('default', { iptablesMarkMask: 0x7 })), set(wep('a', { ips: ['10.0.0.1/32'] }))]));
    expect(rr.configError).toBeInstanceOf(MarkMaskError);
    expect(rr.configError!.message).toMatch(/iptablesMarkMask 0x7 has 3 bit\(s\)/);
    expect(texts(chain(rr.current().v4, endpointChain('twa', 'to')))).toContain('-j MARK --set-xmark 0x0/0x30000');
    rr.load(stateOf([set(wep('a', { ips: ['10.0.0.1/32'] }))]));
    expect(rr.configError).toBeUndefined();
  });

  it('natOutgoing: MASQUERADE from natOutgoing pools to outside all pools, per family', () => {
    const r = renderAll(stateOf([set(pool('a', '10.65.0.0/16', true)), set(pool('b', '10.66.0.0/16')), set(pool('c', 'fd00::/48'))]));
    expect(texts(chain(r.v4, CHAIN.natOutgoing, 'nat'))).toEqual([
      '-m set --match-set tw4-masq-pools src -m set ! --match-set tw4-all-pools dst -j MASQUERADE',
    ]);
    expect(r.v4.ipsets.filter((x) => x.name.endsWith('pools'))).toEqual([
      { name: 'tw4-all-pools', family: 4, type: 'hash:net', members: ['10.65.0.0/16', '10.66.0.0/16'] },
      { name: 'tw4-masq-pools', family: 4, type: 'hash:net', members: ['10.65.0.0/16'] },
    ]);
    expect(chain(r.v6!, CHAIN.natOutgoing, 'nat').rules).toEqual([]);
  });

  it('IPv6 off: nothing rendered for ip6tables', () => {
    expect(renderAll(stateOf([set(felixConfig('default', { ipv6Support: false }))])).v6).toBeUndefined();
  });
});

describe('hashes and determinism', () => {
  it('every rule carries its hash; an inserted rule changes only the hashes after it', () => {
    const rules: Rule[] = [
      { action: 'Deny', protocol: 'TCP' },
      { action: 'Deny', protocol: 'UDP' },
      { action: 'Deny', protocol: 'SCTP' },
    ];
    const name = policyChain('np/default/p', 'in');
    const before = chain(renderRule(rules[0]!, [set(np('p', { selector: 'app == "db"', ingress: rules }))]).r.v4, name);
    const inserted = [rules[0]!, { action: 'Log' as const }, rules[1]!, rules[2]!];
    const after = chain(renderRule(rules[0]!, [set(np('p', { selector: 'app == "db"', ingress: inserted }))]).r.v4, name);
    for (const c of [before, after]) {
      for (const r of c.rules) expect(extractHash(r.spec)).toBe(r.hash);
      expect(new Set(c.rules.map((r) => r.hash)).size).toBe(c.rules.length);
    }
    expect(after.rules[0]!.hash).toBe(before.rules[0]!.hash);
    expect(after.rules[2]!.hash).not.toBe(before.rules[1]!.hash);
    expect(ruleHash(name, '', '-p tcp -j DROP')).toBe(before.rules[0]!.hash);
  });

  it('the same input renders byte-identical output, whatever order calc saw it in', () => {
    const events: SyncEvent[] = [
      set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'db' }, profiles: ['p'] })),
      set(wep('b', { ips: ['10.0.0.2/32'], labels: { app: 'web' } })),
      set(profile('p', { egress: [{ action: 'Allow' }] })),
      set(np('x', { selector: 'has(app)', ingress: [{ action: 'Allow', source: { selector: 'app == "web"' } }] })),
      set(pool('pl', '10.0.0.0/16', true)),
    ];
    const one = JSON.stringify(renderAll(stateOf(events)));
    expect(JSON.stringify(renderAll(stateOf([...events].reverse())))).toBe(one);
    expect(JSON.stringify(renderAll(stateOf(events)))).toBe(one);
  });
});

describe('IPv6 specifics', () => {
  it('workloads keep neighbour discovery with their host before egress policy and the to-host action', () => {
    const r = renderAll(stateOf([]));
    const v6 = texts(chain(r.v6!, CHAIN.wlToHost));
    expect(v6.slice(0, 6)).toEqual([130, 131, 132, 133, 135, 136].map((t) => `-p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j ACCEPT`));
    expect(v6.slice(6)).toEqual([`-j ${CHAIN.fromWlDispatch}`, '-j DROP']);
    expect(texts(chain(r.v4, CHAIN.wlToHost))).toEqual([`-j ${CHAIN.fromWlDispatch}`, '-j DROP']);
  });
});
