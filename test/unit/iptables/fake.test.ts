// Behaviour of the fake beyond the shared contract: canonical forms, backend differences the real
// tools show, and that a saved rule re-applies to itself.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpsetRestoreError, IptablesRestoreError } from '../../../src/iptables/errors.js';
import { createFakeNetfilter } from '../../../src/iptables/fake/index.js';
import { canonRule, RuleError, type RuleLookups } from '../../../src/iptables/fake/rule-canon.js';
import { splitArgs } from '../../../src/iptables/tokens.js';

const look: RuleLookups = {
  chainKind: (n) => (['tw-x', 'tw-y', 'tw-b'].includes(n) ? 'user' : ['INPUT', 'FORWARD', 'OUTPUT'].includes(n) ? 'builtin' : undefined),
  setFamily: (n) => (n === 'tw4-a' ? 4 : n === 'tw6-a' ? 6 : undefined),
};

function canon(spec: string, family: 4 | 6 = 4): string {
  return canonRule(splitArgs(spec), family, look).spec;
}

describe('rule canonical form', () => {
  it('orders basic matches, adds lengths, implicit protocol matches and quotes like iptables-save', () => {
    expect(canon('-j ACCEPT -p tcp --dport 80 -s 10.1.2.3')).toBe('-s 10.1.2.3/32 -p tcp -m tcp --dport 80 -j ACCEPT');
    expect(canon('-p tcp -m comment --comment x --dport 80 -j ACCEPT')).toBe('-p tcp -m comment --comment x -m tcp --dport 80 -j ACCEPT');
    expect(canon('-p tcp ! --dport 22 -j ACCEPT')).toBe('-p tcp -m tcp ! --dport 22 -j ACCEPT');
    expect(canon('-p 17 --source-port 53 -j RETURN')).toBe('-p udp -m udp --sport 53 -j RETURN');
    expect(canon('--in-interface tw+ --destination 10.0.0.0/8 ! --source 10.1.0.0/16 -j DROP')).toBe('! -s 10.1.0.0/16 -d 10.0.0.0/8 -i tw+ -j DROP');
    expect(canon('-m set ! --match-set tw4-a src,dst -j DROP')).toBe('-m set ! --match-set tw4-a src,dst -j DROP');
    expect(canon('-j LOG --log-prefix "hello "')).toBe('-j LOG --log-prefix "hello "');
    expect(canon('-p icmpv6 --icmpv6-type 128 -d FD00::1 -j ACCEPT', 6)).toBe('-d fd00::1/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT');
    expect(canon('-p all -j ACCEPT')).toBe('-j ACCEPT');
    expect(canon('-g tw-x')).toBe('-g tw-x');
  });

  it('reports jumps and sets', () => {
    expect(canonRule(splitArgs('-m set --match-set tw4-a src -j tw-b'), 4, look)).toEqual({
      spec: '-m set --match-set tw4-a src -j tw-b',
      jump: 'tw-b',
      sets: ['tw4-a'],
    });
  });

  it('refuses what iptables refuses', () => {
    const bad: [string, string][] = [
      ['-j tw-missing', "Chain 'tw-missing' does not exist"],
      ['-g ACCEPT', "Chain 'ACCEPT' does not exist"],
      ['-j INPUT', 'built-in chain'],
      ['-m frobz -j ACCEPT', "Couldn't load match `frobz'"],
      ['--dport 80 -j ACCEPT', 'unknown option "--dport"'],
      ['-s 10.0.0.1 -s 10.0.0.2', 'multiple -s flags'],
      ['-s 300.0.0.1', "host/network `300.0.0.1' not found"],
      ['-m set --match-set tw4-none src', "Set tw4-none doesn't exist."],
      ['-m set --match-set tw6-a src', 'The protocol family of set tw6-a is IPv6'],
      ['-i abcdefghijklmnopq', 'shorter than 16'],
      ['bogus', 'Bad argument'],
      ['-j', 'requires an argument'],
    ];
    for (const [spec, msg] of bad) {
      expect(() => canon(spec), spec).toThrow(RuleError);
      expect(() => canon(spec), spec).toThrow(msg);
    }
  });

  const rulePart = fc.oneof(
    fc.constantFrom('', '-s 10.1.2.3', '-s 10.0.0.0/8', '! -d 192.168.1.0/24'),
    fc.constantFrom('', '-i tw+', '-o eth0', '! -i lo'),
    fc.constantFrom('', '-p tcp --dport 80', '-p udp --sport 53', '-p tcp -m multiport --dports 80,443'),
    fc.constantFrom('', '-m comment --comment "tw:0123456789abcdef"', '-m comment --comment "a b"', '-m conntrack --ctstate INVALID'),
    fc.constantFrom('', '-m set --match-set tw4-a src', '-m mark --mark 0x10000/0x10000'),
    fc.constantFrom('', '-j ACCEPT', '-j DROP', '-j tw-x', '-g tw-y', '-j MARK --set-xmark 0x1/0x1'),
  );

  it('is a fixed point: a saved spec canonicalises to itself, whatever the order it was written in', () => {
    fc.assert(
      fc.property(fc.array(rulePart, { minLength: 1, maxLength: 6 }), fc.boolean(), (parts, shuffle) => {
        // basic matches and -m groups may be written in any order; the target goes anywhere too
        const written = (shuffle ? [...parts].reverse() : parts).filter((p) => p !== '').join(' ');
        let once: string;
        try {
          once = canon(written);
        } catch (e) {
          expect(e).toBeInstanceOf(RuleError);
          return;
        }
        expect(canon(once)).toBe(once);
      }),
    );
  });
});

describe('fake iptables', () => {
  it('save → restore of the saved text reproduces the table (round trip)', async () => {
    const a = createFakeNetfilter();
    await a.ipset().restore('create tw4-a hash:ip family inet\n');
    const t = a.iptables({ family: 4, backend: 'nft' });
    await t.restore(
      ['*filter', ':tw-x - [0:0]', ':tw-y - [0:0]', '-A tw-x -j ACCEPT -p tcp --dport 80 -m comment --comment "tw:0123456789abcdef"',
        '-A tw-y -m set --match-set tw4-a src -g tw-x', '-A FORWARD -j tw-y', ':OUTPUT DROP [0:0]', 'COMMIT'].join('\n'),
    );
    const saved = await t.saveRaw('filter');
    const b = createFakeNetfilter();
    await b.ipset().restore('create tw4-a hash:ip family inet\n');
    const t2 = b.iptables({ family: 4, backend: 'nft' });
    await t2.restore(saved, { noflush: false });
    expect(await t2.saveRaw('filter')).toBe(saved);
  });

  it('differs by backend where the real tools differ', async () => {
    for (const backend of ['nft', 'legacy'] as const) {
      const t = createFakeNetfilter().iptables({ family: 4, backend });
      const userPolicy = t.restore('*filter\n:tw-q DROP [0:0]\nCOMMIT\n');
      if (backend === 'legacy') await expect(userPolicy).rejects.toThrow("Can't set policy");
      else await expect(userPolicy).resolves.toBeUndefined();
      await t.restore('*filter\n:FORWARD DROP [0:0]\nCOMMIT\n');
      await t.restore('*filter\n:tw-z - [0:0]\nCOMMIT\n', { noflush: false });
      // a full restore resets undeclared built-in policies on nft, keeps them on legacy
      const policy = (await t.save('filter')).chains.get('FORWARD')!.policy;
      expect({ backend, policy }).toEqual({ backend, policy: backend === 'legacy' ? 'DROP' : 'ACCEPT' });
    }
  });

  it('counts applied restores, and a failed restore is not counted', async () => {
    const nf = createFakeNetfilter();
    const t = nf.iptables({ family: 4, backend: 'nft' });
    await t.restore('*filter\n:tw-a - [0:0]\nCOMMIT\n*nat\n:tw-a - [0:0]\nCOMMIT\n');
    await expect(t.restore('*filter\n-A tw-none -j ACCEPT\nCOMMIT\n')).rejects.toBeInstanceOf(IptablesRestoreError);
    expect(nf.tableState({ family: 4, backend: 'nft' }).restores).toBe(2);
    expect(nf.tableState({ family: 4, backend: 'legacy' }).restores).toBe(0);
  });

  it('reports a missing COMMIT and lines outside a table', async () => {
    const t = createFakeNetfilter().iptables({ family: 4, backend: 'nft' });
    await expect(t.restore('*filter\n:tw-a - [0:0]\n')).rejects.toMatchObject({ table: 'filter', message: expect.stringContaining('COMMIT expected') });
    await expect(t.restore(':tw-a - [0:0]\n')).rejects.toMatchObject({ lineNumber: 1 });
    await expect(t.restore('*bogus\nCOMMIT\n')).rejects.toMatchObject({ lineNumber: 1, line: '*bogus' });
    expect([...(await t.save('filter')).chains.keys()]).toEqual(['INPUT', 'FORWARD', 'OUTPUT']);
  });

  it('-X without a chain deletes every (empty, unreferenced) user chain; -F without one flushes all', async () => {
    const t = createFakeNetfilter().iptables({ family: 4, backend: 'nft' });
    await t.restore('*filter\n:tw-a - [0:0]\n:tw-b - [0:0]\n-A tw-a -j tw-b\n-A INPUT -j ACCEPT\nCOMMIT\n');
    await expect(t.restore('*filter\n-X\nCOMMIT\n')).rejects.toBeInstanceOf(IptablesRestoreError);
    await t.restore('*filter\n-F\n-X\nCOMMIT\n');
    const s = await t.save('filter');
    expect([...s.chains.keys()]).toEqual(['INPUT', 'FORWARD', 'OUTPUT']);
    expect(s.chains.get('INPUT')!.rules).toEqual([]);
  });
});

describe('fake ipset', () => {
  it('expands an IPv4 CIDR added to a hash:ip set, like the kernel', async () => {
    const s = createFakeNetfilter().ipset();
    await s.restore('create tw4-w hash:ip family inet\nadd tw4-w 10.0.0.0/30\n');
    expect((await s.list()).get('tw4-w')!.members).toEqual(new Set(['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3']));
  });

  it('refuses unknown types, long names, unknown options, and a full set', async () => {
    const s = createFakeNetfilter().ipset();
    const bad: [string, string][] = [
      ['create tw4-x hash:bogus', "typename 'hash:bogus' is unknown"],
      [`create tw4-${'x'.repeat(28)} hash:ip`, 'longer than 31'],
      ['create tw4-x hash:ip garbage', 'Unknown argument'],
      ['create tw4-f hash:ip maxelem 1\nadd tw4-f 10.0.0.1\nadd tw4-f 10.0.0.2', 'Hash is full'],
    ];
    for (const [text, msg] of bad) {
      const e = await s.restore(text).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, text).toBeInstanceOf(IpsetRestoreError);
      expect((e as IpsetRestoreError).stderr, text).toContain(msg);
    }
  });

  it('destroy and flush without a name act on every set', async () => {
    const nf = createFakeNetfilter();
    const s = nf.ipset();
    await s.restore('create tw4-a hash:ip\nadd tw4-a 10.0.0.1\ncreate tw6-a hash:ip family inet6\n');
    await s.restore('flush\n');
    expect((await s.list()).get('tw4-a')!.members.size).toBe(0);
    await nf.iptables({ family: 6, backend: 'legacy' }).restore('*raw\n-A PREROUTING -m set --match-set tw6-a src -j ACCEPT\nCOMMIT\n');
    await expect(s.restore('destroy\n')).rejects.toThrow('in use');
    expect(await s.listNames()).toEqual(['tw4-a', 'tw6-a']);
  });
});
