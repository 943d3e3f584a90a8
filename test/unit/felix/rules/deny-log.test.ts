// Denied-packet logging in the rendered chains: off by default (no NFLOG anywhere); on, a
// rate-limited NFLOG with the cause's id right before every drop policy decides, and the
// renderer maps each id back to its policy, rule, direction and endpoint.
import { describe, expect, it } from 'vitest';
import { CalcGraph } from '../../../../felix/calc/index.js';
import type { DesiredState } from '../../../../felix/calc/types.js';
import {
  RuleRenderer,
  deniedLogSettings,
  denyLogId,
  endpointChain,
  policyChain,
  profileChain,
  renderAll,
  toIpsetRestoreText,
  toRestoreText,
  type Chain,
  type RenderedFamily,
} from '../../../../felix/rules/index.js';
import { createFakeNetfilter } from '../../../../src/iptables/fake/index.js';
import type { FelixConfigurationSpec } from '../../../../src/api/types.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';
import { felixConfig, np, profile, set, wep } from '../calc/builders.js';

const ON: FelixConfigurationSpec = { logDeniedPackets: true };

function events(config?: FelixConfigurationSpec): SyncEvent[] {
  return [
    ...(config ? [set(felixConfig('default', config))] : []),
    set(wep('a', { ips: ['10.0.0.1/32', 'fd00::1/128'], labels: { app: 'db' }, profiles: ['prof1'] })),
    set(wep('b', { ips: ['10.0.0.2/32'], profiles: ['prof1'] })),
    set(
      np('p', {
        selector: 'app == "db"',
        types: ['Ingress'],
        ingress: [
          { action: 'Allow', protocol: 'TCP', destination: { ports: [5432] } },
          // Two alternatives (a numeric and a named port): each gets its own NFLOG + DROP.
          { action: 'Deny', protocol: 'TCP', destination: { ports: [22, 'ssh'] } },
        ],
      }),
    ),
    set(profile('prof1', { ingress: [{ action: 'Deny', protocol: 'UDP' }], egress: [{ action: 'Allow' }] })),
  ];
}

function stateOf(evs: SyncEvent[]): DesiredState {
  const g = new CalcGraph({ nodeName: 'host1' });
  g.apply(evs);
  return g.snapshot();
}

function chain(f: RenderedFamily, name: string): Chain {
  const c = f.filter.find((x) => x.name === name);
  expect(c, `chain ${name}`).toBeDefined();
  return c!;
}

const texts = (c: Chain): string[] => c.rules.map((r) => r.spec.replace(/^-m comment --comment "tw:[0-9a-f]{16}" /, ''));
const nflog = (id: string, rate = 10, burst = 20, group = 20): string =>
  `-m limit --limit ${rate}/second --limit-burst ${burst} -j NFLOG --nflog-group ${group} --nflog-prefix ${id}`;

describe('denied-packet logging rules', () => {
  it('off by default: no NFLOG rule in any chain of either family', () => {
    const r = renderAll(stateOf(events()));
    const all = [...r.v4.filter, ...r.v6!.filter].flatMap((c) => c.rules.map((x) => x.spec));
    expect(all.some((s) => s.includes('DROP'))).toBe(true);
    expect(all.filter((s) => s.includes('NFLOG'))).toEqual([]);
    expect(deniedLogSettings(undefined)).toBeUndefined();
    expect(deniedLogSettings({ logDeniedPackets: false, logDeniedPacketsRate: 5 })).toBeUndefined();
  });

  it('on: each Deny alternative is preceded by an NFLOG with the rule\'s id', () => {
    const r = renderAll(stateOf(events(ON)));
    const id = denyLogId({ kind: 'rule', policy: 'np/default/p', index: 1, direction: 'ingress' });
    const t = texts(chain(r.v4, policyChain('np/default/p', 'in')));
    const drops = t.flatMap((x, i) => (x.endsWith('-j DROP') ? [i] : []));
    expect(drops.length).toBe(2);
    for (const i of drops) {
      const match = t[i]!.replace(/ -j DROP$/, '');
      expect(t[i - 1]).toBe(`${match} ${nflog(id)}`);
    }
    // Profiles too, with the profile's id.
    const pt = texts(chain(r.v4, profileChain('prof/prof1', 'in')));
    expect(pt).toEqual([`-p udp ${nflog(denyLogId({ kind: 'rule', policy: 'prof/prof1', index: 0, direction: 'ingress' }))}`, '-p udp -j DROP']);
  });

  it('on: the end of the tier and the final drop of an endpoint chain are logged with the endpoint\'s ids', () => {
    const r = renderAll(stateOf(events(ON)));
    const t = texts(chain(r.v4, endpointChain('twa', 'to')));
    const tierEnd = t.findIndex((x) => /^-m mark --mark 0x0\/0x20000 -j DROP$/.test(x));
    expect(t[tierEnd - 1]).toBe(`-m mark --mark 0x0/0x20000 ${nflog(denyLogId({ kind: 'end-of-tier', tier: 'default', interfaceName: 'twa', direction: 'ingress' }))}`);
    expect(t.slice(-2)).toEqual([nflog(denyLogId({ kind: 'no-profile-allowed', interfaceName: 'twa', direction: 'ingress' })), '-j DROP']);
    // Egress of b: no policy, so no tier; the final drop is logged.
    const fb = texts(chain(r.v4, endpointChain('twb', 'from')));
    expect(fb.slice(-2)).toEqual([nflog(denyLogId({ kind: 'no-profile-allowed', interfaceName: 'twb', direction: 'egress' })), '-j DROP']);
    // Every DROP policy decides is logged (conntrack INVALID and unknown interfaces are not policy).
    for (const f of [r.v4, r.v6!]) {
      for (const c of f.filter.filter((x) => /^tw-(tw|fw|pi|po|pri|pro)-/.test(x.name))) {
        const ct = texts(c);
        ct.forEach((x, i) => {
          if (x.endsWith('-j DROP') && !x.includes('INVALID') && ct.length > 1) expect(ct[i - 1], `${c.name} rule ${i}`).toContain('-j NFLOG');
        });
      }
    }
  });

  it('the rate, burst and group come from FelixConfiguration; ids are short, stable and fit iptables\' 64 characters', () => {
    const r = renderAll(stateOf(events({ logDeniedPackets: true, logDeniedPacketsRate: 3, logDeniedPacketsBurst: 7, logDeniedPacketsGroup: 42 })));
    const t = texts(chain(r.v4, endpointChain('twa', 'to')));
    expect(t.at(-2)).toBe(nflog(denyLogId({ kind: 'no-profile-allowed', interfaceName: 'twa', direction: 'ingress' }), 3, 7, 42));
    const id = denyLogId({ kind: 'rule', policy: 'gnp/' + 'x'.repeat(253), index: 99, direction: 'egress' });
    expect(id).toMatch(/^twd:[0-9a-f]{12}$/);
    expect(denyLogId({ kind: 'rule', policy: 'gnp/' + 'x'.repeat(253), index: 99, direction: 'egress' })).toBe(id);
    expect(denyLogId({ kind: 'rule', policy: 'gnp/' + 'x'.repeat(253), index: 99, direction: 'ingress' })).not.toBe(id);
  });

  it('the renderer maps every id back to its policy, rule, direction and endpoint; a removed rule is still known once', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply(events(ON));
    const rr = new RuleRenderer();
    rr.update(g.flush());
    const ruleId = denyLogId({ kind: 'rule', policy: 'np/default/p', index: 1, direction: 'ingress' });
    expect(rr.denyLogEntry(ruleId)).toMatchObject({ policy: 'np/default/p', rule: 1, direction: 'ingress', endpoint: undefined });
    const tierId = denyLogId({ kind: 'end-of-tier', tier: 'default', interfaceName: 'twa', direction: 'ingress' });
    expect(rr.denyLogEntry(tierId)).toMatchObject({ policy: 'end-of-tier/default', rule: undefined, endpoint: { namespace: 'default', name: 'a', interfaceName: 'twa' } });
    expect(rr.denyLogEntry(denyLogId({ kind: 'no-profile-allowed', interfaceName: 'twb', direction: 'egress' }))).toMatchObject({ policy: 'no-profile-allowed', direction: 'egress' });
    expect(rr.denyLogEntry(denyLogId({ kind: 'rule', policy: 'prof/prof1', index: 0, direction: 'ingress' }))).toMatchObject({ policy: 'prof/prof1', rule: 0 });
    // Allow rules have no id.
    expect(rr.denyLogEntry(denyLogId({ kind: 'rule', policy: 'np/default/p', index: 0, direction: 'ingress' }))).toBeUndefined();
    expect(rr.endpointOn('twa')).toMatchObject({ namespace: 'default', name: 'a' });
    // The policy goes: a packet logged just before is still explained after the next update, not after two.
    g.apply([{ type: 'deleted', key: { kind: 'NetworkPolicy', namespace: 'default', name: 'p' } }]);
    rr.update(g.flush());
    expect(rr.denyLogEntry(ruleId)).toMatchObject({ policy: 'np/default/p', rule: 1 });
    g.apply([set(wep('c', { ips: ['10.0.0.3/32'] }))]);
    rr.update(g.flush());
    expect(rr.denyLogEntry(ruleId)).toBeUndefined();
  });

  it('turning logging on and off rewrites the chains (a config change re-renders everything)', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply(events());
    const rr = new RuleRenderer();
    rr.update(g.flush());
    g.apply([set(felixConfig('default', ON))]);
    const on = rr.update(g.flush());
    expect(on.v4.filter.upserts.map((c) => c.name)).toContain(policyChain('np/default/p', 'in'));
    expect(rr.current().v4.filter.flatMap((c) => c.rules).some((x) => x.spec.includes('NFLOG'))).toBe(true);
    g.apply([set(felixConfig('default', { logDeniedPackets: false }))]);
    rr.update(g.flush());
    expect(rr.current().v4.filter.flatMap((c) => c.rules).some((x) => x.spec.includes('NFLOG'))).toBe(false);
  });

  it('the logged ruleset is accepted by iptables-restore (the fake) and reads back with its hashes', async () => {
    const r = renderAll(stateOf(events(ON)));
    const nf = createFakeNetfilter();
    for (const f of [r.v4, r.v6!]) {
      await nf.ipset().restore(toIpsetRestoreText(f), { exist: true });
      await nf.iptables({ family: f.family, backend: 'nft' }).restore(toRestoreText(f));
      const saved = await nf.iptables({ family: f.family, backend: 'nft' }).saveRaw('filter');
      const nflogs = saved.split('\n').filter((l) => l.includes('-j NFLOG'));
      expect(nflogs.length).toBe(f.filter.flatMap((c) => c.rules).filter((x) => x.spec.includes('NFLOG')).length);
      expect(nflogs.every((l) => /--nflog-prefix "?twd:[0-9a-f]{12}"?/.test(l) && /tw:[0-9a-f]{16}/.test(l))).toBe(true);
    }
  });
});
