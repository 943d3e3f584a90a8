// Differential test: the same restore scripts go to the fake and to the real kernel (fresh
// namespace), per backend; outcomes (ok / rejected line) and what save / ipset list show must
// be identical. This is what keeps the fake honest beyond the contract suite.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IpsetRestoreError,
  IptablesRestoreError,
  ipset,
  iptables,
  type Family,
  type Ipset,
  type Iptables,
  type IptablesBackend,
} from '../../../src/iptables/index.js';
import { createFakeNetfilter, type FakeNetfilter } from '../../../src/iptables/fake/index.js';
import { missing } from '../../support/env.js';
import { addNetns, delNetns } from '../../support/iptables-netns.js';

const skip = missing({
  root: true,
  tools: ['ip', 'nsenter', 'ipset', 'iptables-nft-restore', 'ip6tables-nft-restore', 'iptables-legacy-restore', 'ip6tables-legacy-restore'],
});

type Step = { kind: 'ip'; family: Family; text: string; noflush?: boolean } | { kind: 'set'; text: string; exist?: boolean };

interface Side {
  ipt(f: Family): Iptables;
  set: Ipset;
}

async function outcome(side: Side, step: Step): Promise<string> {
  try {
    if (step.kind === 'ip') await side.ipt(step.family).restore(step.text, { noflush: step.noflush ?? true });
    else await side.set.restore(step.text, { exist: step.exist ?? false });
    return 'ok';
  } catch (e) {
    if (e instanceof IptablesRestoreError || e instanceof IpsetRestoreError) return `rejected at line ${String(e.lineNumber)}`;
    throw e;
  }
}

async function snapshot(side: Side): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const f of [4, 6] as const)
    for (const table of ['filter', 'nat', 'mangle']) {
      const t = await side.ipt(f).save(table);
      out[`v${f}/${table}`] = [...t.chains.values()].map((c) => ({ name: c.name, policy: c.policy, rules: c.rules.map((r) => r.spec) }));
    }
  const sets = await side.set.list();
  out.sets = [...sets.entries()].map(([n, s]) => ({ n, type: s.type, family: s.family, members: [...s.members].sort() })).sort((a, b) => (a.n < b.n ? -1 : 1));
  return out;
}

const SCRIPT: Step[] = [
  { kind: 'set', text: 'create tw4-a hash:ip family inet\nadd tw4-a 10.0.0.1\ncreate tw6-a hash:net family inet6\nadd tw6-a 2001:db8::/48\n' },
  { kind: 'ip', family: 4, text: '*filter\n:tw-fw - [0:0]\n:tw-from - [0:0]\n-A FORWARD -i tw+ -j tw-from\n-A tw-from -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A tw-from -m set --match-set tw4-a dst -p tcp --dport 443 -j ACCEPT\n-A tw-from -j DROP\nCOMMIT\n' },
  { kind: 'ip', family: 6, text: '*filter\n:tw-fw - [0:0]\n-A tw-fw -m set --match-set tw6-a src -p ipv6-icmp --icmpv6-type 128 -j ACCEPT\n-A INPUT -j tw-fw\nCOMMIT\n' },
  { kind: 'ip', family: 4, text: '*nat\n:tw-nat - [0:0]\n-A POSTROUTING -j tw-nat\n-A tw-nat -s 10.65.0.0/16 ! -d 10.65.0.0/16 -j MASQUERADE\nCOMMIT\n' },
  { kind: 'ip', family: 4, text: '*filter\n:tw-from - [0:0]\n-A tw-from -j RETURN\n-D FORWARD -i tw+ -j tw-from\nCOMMIT\n' },
  { kind: 'ip', family: 4, text: '*filter\n-D FORWARD -i tw+ -j tw-from\nCOMMIT\n' },
  { kind: 'ip', family: 4, text: '*filter\n-X tw-from\nCOMMIT\n' },
  { kind: 'ip', family: 4, text: '*filter\n-F tw-from\n-X tw-from\n-I INPUT 1 -s 10.9.0.0/16 -j DROP\n-I INPUT 1 -d 10.9.0.0/16 -j DROP\nCOMMIT\n' },
  { kind: 'ip', family: 4, text: '*mangle\n:tw-m - [0:0]\n-A PREROUTING -j tw-m\n-A tw-m -j MARK --set-xmark 0x10000/0x10000\n-A tw-m -m mark --mark 0x10000/0x10000 -j RETURN\nCOMMIT\n' },
  { kind: 'set', text: 'destroy tw4-a\n' },
  { kind: 'set', text: 'create tw4-a-tmp hash:ip family inet\nadd tw4-a-tmp 10.0.0.5\nswap tw4-a-tmp tw4-a\ndestroy tw4-a-tmp\n' },
  { kind: 'set', text: 'create tw4-b hash:net family inet\nadd tw4-b 10.1.0.0/16\nadd tw4-b 10.2.3.4/8\ndel tw4-b 10.1.0.0/16\n' },
  { kind: 'set', text: 'add tw4-b 10.0.0.0/8\n' },
  { kind: 'set', text: 'add tw4-b 10.0.0.0/8\ndel tw4-b 192.0.2.0/24\n', exist: true },
  { kind: 'ip', family: 6, text: '*filter\n:tw-six - [0:0]\n-A tw-six -s 10.0.0.1 -j ACCEPT\nCOMMIT\n' },
  { kind: 'ip', family: 4, text: '*filter\n:tw-q - [0:0]\n-A tw-q -m set --match-set tw6-a src -j DROP\nCOMMIT\n' },
  { kind: 'ip', family: 4, text: '*filter\n:tw-fresh - [0:0]\n-A tw-fresh -j ACCEPT\nCOMMIT\n', noflush: false },
];

const VOCAB = fc.oneof(
  fc.constantFrom('-s 10.1.2.3', '-s 10.0.0.0/8', '! -d 192.168.1.7/24', '--source 172.16.0.1', '-d 0.0.0.0/0'),
  fc.constantFrom('-i tw+', '-o eth0', '! -i lo', '--in-interface tw1234'),
  fc.constantFrom('-p tcp --dport 80', '-p udp --sport 53 --dport 1000:2000', '-p tcp ! --dport 22', '-p tcp -m multiport --dports 80,443', '-p icmp --icmp-type 8', '-p tcp --syn', '-p 17 --destination-port 53'),
  fc.constantFrom('-m comment --comment "tw:0123456789abcdef"', '-m comment --comment "a b"', '-m comment --comment x', '-m conntrack --ctstate INVALID', '-m conntrack ! --ctstate INVALID'),
  fc.constantFrom('-m set --match-set tw4-r src', '-m set ! --match-set tw4-r src,dst', '-m mark --mark 0x10000/0x10000', '-m addrtype --dst-type LOCAL'),
  fc.constantFrom('-j ACCEPT', '-j DROP', '-j RETURN', '-j tw-t', '-g tw-t', '-j LOG --log-prefix "tw drop "', '-j REJECT'),
  fc.constantFrom('-j MARK --set-xmark 0x1/0x1', '-j MARK --set-mark 0x10000', '-j MARK --or-mark 0x4', '-j MARK --and-mark 0xfff', '-j MARK --set-mark 0x10000/0x30000', '-m mark --mark 1/0x00ff'),
);

const VOCAB6 = fc.oneof(
  fc.constantFrom('-s fd00::1', '-s 2001:DB8::/32', '! -d fd00:0:0:1::7/64', '-d ::/0'),
  fc.constantFrom('-i tw+', '! -o lo'),
  fc.constantFrom('-p tcp --dport 80', '-p ipv6-icmp --icmpv6-type 128', '-p icmpv6 --icmpv6-type 135', '-p udp --sport 547'),
  fc.constantFrom('-m comment --comment "tw:0123456789abcdef"', '-m set --match-set tw6-r dst', '-m conntrack --ctstate RELATED,ESTABLISHED'),
  fc.constantFrom('-j ACCEPT', '-j DROP', '-j tw-t', '-j REJECT'),
);

for (const backend of ['nft', 'legacy'] as IptablesBackend[]) {
  describe.skipIf(skip !== undefined)(`fake vs real kernel (${backend})`, () => {
    let netns: string;
    let real: Side;
    let fake: Side;
    let nf: FakeNetfilter;

    beforeAll(() => {
      netns = addNetns('fr');
      real = { ipt: (family) => iptables({ family, backend, netns }), set: ipset({ netns }) };
      nf = createFakeNetfilter();
      fake = { ipt: (family) => nf.iptables({ family, backend }), set: nf.ipset() };
    });
    afterAll(() => delNetns(netns));

    it('a script of restores gives the same outcomes and the same tables and sets', async () => {
      for (const [i, step] of SCRIPT.entries()) {
        const r = await outcome(real, step);
        const f = await outcome(fake, step);
        expect({ step: i, text: step.text, fake: f }).toEqual({ step: i, text: step.text, fake: r });
        expect(await snapshot(fake)).toEqual(await snapshot(real));
      }
    });

    it('random rules are printed the same way by the fake and by iptables-save', async () => {
      const prep = '*filter\n:tw-t - [0:0]\n:tw-r - [0:0]\nCOMMIT\n';
      await real.set.restore('create tw4-r hash:ip family inet\n', { exist: true });
      await fake.set.restore('create tw4-r hash:ip family inet\n', { exist: true });
      await fc.assert(
        fc.asyncProperty(fc.array(VOCAB, { minLength: 1, maxLength: 5 }), async (parts) => {
          const step: Step = { kind: 'ip', family: 4, text: `${prep}*filter\n-A tw-r ${parts.join(' ')}\nCOMMIT\n` };
          const r = await outcome(real, step);
          const f = await outcome(fake, step);
          expect({ parts, f }).toEqual({ parts, f: r });
          const rs = (await real.ipt(4).save('filter')).chains.get('tw-r')?.rules.map((x) => x.spec);
          const fs = (await fake.ipt(4).save('filter')).chains.get('tw-r')?.rules.map((x) => x.spec);
          expect({ parts, fs }).toEqual({ parts, fs: rs });
        }),
        { numRuns: Number(process.env.TW_FUZZ_RUNS ?? 60) },
      );
    });

    it('random IPv6 rules are printed the same way by the fake and by ip6tables-save', async () => {
      const prep = '*filter\n:tw-t - [0:0]\n:tw-r - [0:0]\nCOMMIT\n';
      await real.set.restore('create tw6-r hash:net family inet6\n', { exist: true });
      await fake.set.restore('create tw6-r hash:net family inet6\n', { exist: true });
      await fc.assert(
        fc.asyncProperty(fc.array(VOCAB6, { minLength: 1, maxLength: 4 }), async (parts) => {
          const step: Step = { kind: 'ip', family: 6, text: `${prep}*filter\n-A tw-r ${parts.join(' ')}\nCOMMIT\n` };
          const r = await outcome(real, step);
          const f = await outcome(fake, step);
          expect({ parts, f }).toEqual({ parts, f: r });
          const rs = (await real.ipt(6).save('filter')).chains.get('tw-r')?.rules.map((x) => x.spec);
          const fs = (await fake.ipt(6).save('filter')).chains.get('tw-r')?.rules.map((x) => x.spec);
          expect({ parts, fs }).toEqual({ parts, fs: rs });
        }),
        { numRuns: Math.ceil(Number(process.env.TW_FUZZ_RUNS ?? 60) / 2) },
      );
    });
  });
}
