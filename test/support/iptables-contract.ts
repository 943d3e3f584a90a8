// The iptables/ipset contract: one suite that the fake (test/unit/iptables) and the real kernel in a
// fresh network namespace (test/privileged/iptables) must both pass, for each backend.
// `open` must return an EMPTY namespace each time; `cleanup` removes it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  IpsetRestoreError,
  IptablesRestoreError,
  type Family,
  type Ipset,
  type Iptables,
  type IptablesBackend,
  type SavedTable,
} from '../../src/iptables/index.js';

export interface OpenedNetfilter {
  iptables(family: Family): Iptables;
  ipset(): Ipset;
  cleanup(): Promise<void>;
}

const H1 = '0123456789abcdef';
const H2 = 'fedcba9876543210';
const H3 = '00000000000000aa';

function specs(t: SavedTable, chain: string): string[] {
  return (t.chains.get(chain)?.rules ?? []).map((r) => r.spec);
}

function ourChains(t: SavedTable): string[] {
  return [...t.chains.keys()].filter((c) => c.startsWith('tw-'));
}

/** Runs `fn`, expecting it to reject with `cls`; returns the error. */
async function rejection<E>(fn: () => Promise<unknown>, cls: new (...a: never[]) => E): Promise<E> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return e as E;
  }
  throw new Error('expected a rejection');
}

export function iptablesContract(
  label: string,
  backend: IptablesBackend,
  open: () => Promise<OpenedNetfilter>,
  skip?: string,
): void {
  describe.skipIf(skip !== undefined)(`iptables contract: ${label} (${backend})`, () => {
    let nf: OpenedNetfilter;
    let v4: Iptables;
    let v6: Iptables;
    let sets: Ipset;

    beforeEach(async () => {
      nf = await open();
      v4 = nf.iptables(4);
      v6 = nf.iptables(6);
      sets = nf.ipset();
    });
    afterEach(async () => {
      await nf?.cleanup();
    });

    it('reports the family and backend it drives', () => {
      expect(v4.family).toBe(4);
      expect(v6.family).toBe(6);
      expect(v4.backend).toBe(backend);
    });

    it('restore creates chains and rules that iptables-save shows, with our hashes read back', async () => {
      await v4.restore(
        [
          '*filter',
          ':tw-fw - [0:0]',
          ':tw-pol - [0:0]',
          `-A tw-pol -m comment --comment "tw:${H1}" -j ACCEPT`,
          `-A tw-pol -s 10.0.0.0/8 -m comment --comment "tw:${H2}" -j DROP`,
          '-A tw-pol -j RETURN',
          `-A tw-fw -m comment --comment "tw:${H3}" -j tw-pol`,
          '-A FORWARD -j tw-fw',
          'COMMIT',
        ].join('\n'),
      );
      const t = await v4.save('filter');
      expect(t.table).toBe('filter');
      expect(ourChains(t)).toEqual(['tw-fw', 'tw-pol']);
      expect(specs(t, 'tw-pol')).toEqual([
        `-m comment --comment "tw:${H1}" -j ACCEPT`,
        `-s 10.0.0.0/8 -m comment --comment "tw:${H2}" -j DROP`,
        '-j RETURN',
      ]);
      expect(t.chains.get('tw-pol')!.rules.map((r) => r.hash)).toEqual([H1, H2, undefined]);
      expect(t.chains.get('tw-fw')!.rules[0]).toEqual({ chain: 'tw-fw', spec: `-m comment --comment "tw:${H3}" -j tw-pol`, hash: H3 });
      expect(specs(t, 'FORWARD')).toEqual(['-j tw-fw']);
      expect(t.chains.get('FORWARD')!.policy).toBe('ACCEPT');
      expect(t.chains.get('tw-pol')!.policy).toBeUndefined();
      const raw = await v4.saveRaw('filter');
      expect(raw).toContain('*filter');
      expect(raw).toContain(`-A tw-pol -m comment --comment "tw:${H1}" -j ACCEPT`);
    });

    it('prints rules in the canonical form iptables-save uses', async () => {
      await v4.restore(
        [
          '*filter',
          ':tw-c - [0:0]',
          `-A tw-c -j ACCEPT -m comment --comment "tw:${H1}"`,
          '-A tw-c -s 10.1.2.3 -j ACCEPT',
          '-A tw-c -m comment --comment x -s 10.1.2.3/16 -j RETURN',
          '-A tw-c -p tcp --dport 80 -j ACCEPT',
          '-A tw-c -p udp --sport 53 --dport 1000:2000 -j ACCEPT',
          '-A tw-c -i tw+ ! -s 1.2.3.4/32 -j DROP',
          '-A tw-c -m comment --comment "a b" -j ACCEPT',
          'COMMIT',
        ].join('\n'),
      );
      expect(specs(await v4.save('filter'), 'tw-c')).toEqual([
        `-m comment --comment "tw:${H1}" -j ACCEPT`,
        '-s 10.1.2.3/32 -j ACCEPT',
        '-s 10.1.0.0/16 -m comment --comment x -j RETURN',
        '-p tcp -m tcp --dport 80 -j ACCEPT',
        '-p udp -m udp --sport 53 --dport 1000:2000 -j ACCEPT',
        '! -s 1.2.3.4/32 -i tw+ -j DROP',
        '-m comment --comment "a b" -j ACCEPT',
      ]);
    });

    it('with noflush, declaring an existing user chain flushes only it; built-in chains keep their rules', async () => {
      await v4.restore(
        ['*filter', ':tw-a - [0:0]', ':tw-b - [0:0]', '-A tw-a -j ACCEPT', '-A tw-b -j DROP', '-A INPUT -j tw-a', 'COMMIT'].join('\n'),
      );
      await v4.restore(['*filter', ':INPUT ACCEPT [0:0]', ':tw-a - [0:0]', '-A tw-a -j RETURN', 'COMMIT'].join('\n'));
      const t = await v4.save('filter');
      expect(specs(t, 'tw-a')).toEqual(['-j RETURN']);
      expect(specs(t, 'tw-b')).toEqual(['-j DROP']);
      expect(specs(t, 'INPUT')).toEqual(['-j tw-a']);
    });

    it('sets built-in policies with :CHAIN POLICY and -P', async () => {
      await v4.restore(['*filter', ':FORWARD DROP [0:0]', '-P OUTPUT DROP', 'COMMIT'].join('\n'));
      const t = await v4.save('filter');
      expect(t.chains.get('FORWARD')!.policy).toBe('DROP');
      expect(t.chains.get('OUTPUT')!.policy).toBe('DROP');
      expect(t.chains.get('INPUT')!.policy).toBe('ACCEPT');
    });

    it('a full restore (noflush: false) replaces the whole table and leaves other tables alone', async () => {
      await v4.restore(['*filter', ':tw-old - [0:0]', '-A tw-old -j ACCEPT', '-A INPUT -j tw-old', 'COMMIT'].join('\n'));
      await v4.restore(['*nat', ':tw-nat - [0:0]', '-A tw-nat -j RETURN', 'COMMIT'].join('\n'));
      await v4.restore(['*filter', ':tw-new - [0:0]', '-A tw-new -j DROP', 'COMMIT'].join('\n'), { noflush: false });
      const f = await v4.save('filter');
      expect(ourChains(f)).toEqual(['tw-new']);
      expect(specs(f, 'INPUT')).toEqual([]);
      expect(specs(await v4.save('nat'), 'tw-nat')).toEqual(['-j RETURN']);
    });

    it('-I, -R, -D (by number and by spec), -F, -X, -N edit chains in place', async () => {
      await v4.restore(['*filter', ':tw-e - [0:0]', '-A tw-e -j ACCEPT', 'COMMIT'].join('\n'));
      await v4.restore(
        [
          '*filter',
          '-I tw-e -j RETURN', // becomes 1st
          '-I tw-e 3 -s 10.0.0.1/32 -j DROP', // appended at 3
          '-R tw-e 2 -s 10.0.0.2/32 -j ACCEPT',
          '-N tw-n',
          '-A tw-n -j RETURN',
          'COMMIT',
        ].join('\n'),
      );
      let t = await v4.save('filter');
      expect(specs(t, 'tw-e')).toEqual(['-j RETURN', '-s 10.0.0.2/32 -j ACCEPT', '-s 10.0.0.1/32 -j DROP']);
      expect(specs(t, 'tw-n')).toEqual(['-j RETURN']);
      await v4.restore(
        // delete by a spec written in another order than iptables prints it
        ['*filter', '-D tw-e 1', '-D tw-e -j ACCEPT -s 10.0.0.2', '-F tw-n', '-X tw-n', 'COMMIT'].join('\n'),
      );
      t = await v4.save('filter');
      expect(specs(t, 'tw-e')).toEqual(['-s 10.0.0.1/32 -j DROP']);
      expect(t.chains.has('tw-n')).toBe(false);
    });

    it('a jump to a missing chain is reported with its line, table and text, and nothing of that restore is applied', async () => {
      await v4.restore(['*filter', ':tw-keep - [0:0]', '-A tw-keep -j ACCEPT', 'COMMIT'].join('\n'));
      const text = [
        '# a comment line counts too',
        '*filter',
        ':tw-keep - [0:0]',
        ':tw-x - [0:0]',
        '-A tw-x -j ACCEPT',
        '-A tw-x -j tw-missing',
        '-A tw-x -j DROP',
        'COMMIT',
      ].join('\n');
      const e = await rejection(() => v4.restore(text), IptablesRestoreError);
      expect(e.code).toBe('IptablesRestore');
      expect(e.lineNumber).toBe(6);
      expect(e.line).toBe('-A tw-x -j tw-missing');
      expect(e.table).toBe('filter');
      expect(e.family).toBe(4);
      expect(e.backend).toBe(backend);
      expect(e.stderr).not.toBe('');
      expect(e.message).toContain('tw-missing');
      const t = await v4.save('filter');
      expect(ourChains(t)).toEqual(['tw-keep']);
      expect(specs(t, 'tw-keep')).toEqual(['-j ACCEPT']); // not flushed by the failed restore
    });

    it('an unknown option is reported at its line', async () => {
      const e = await rejection(
        () => v4.restore(['*filter', ':tw-b - [0:0]', '-A tw-b -j ACCEPT', '-A tw-b --bogus', 'COMMIT'].join('\n')),
        IptablesRestoreError,
      );
      expect(e.lineNumber).toBe(4);
      expect(e.line).toBe('-A tw-b --bogus');
      expect(ourChains(await v4.save('filter'))).toEqual([]);
    });

    it('refuses deleting a missing rule, creating an existing chain, and deleting a referenced or non-empty chain', async () => {
      await v4.restore(['*filter', ':tw-a - [0:0]', ':tw-c - [0:0]', '-A tw-a -j ACCEPT', '-A tw-c -j tw-a', 'COMMIT'].join('\n'));
      const cases: [string[], number][] = [
        [['*filter', '-A tw-a -j RETURN', '-D tw-a -j DROP', 'COMMIT'], 3],
        [['*filter', '-D tw-a 5', 'COMMIT'], 2],
        [['*filter', '-N tw-a', 'COMMIT'], 2],
        [['*filter', '-F tw-a', '-X tw-a', 'COMMIT'], 3], // empty but still referenced from tw-c
        [['*filter', '-X tw-c', 'COMMIT'], 2], // unreferenced but not empty
        [['*filter', '-A tw-nochain -j ACCEPT', 'COMMIT'], 2],
        [['*filter', '-I tw-a 3 -j ACCEPT', 'COMMIT'], 2],
        [['*filter', '-R tw-a 2 -j ACCEPT', 'COMMIT'], 2],
      ];
      for (const [lines, lineNumber] of cases) {
        const e = await rejection(() => v4.restore(lines.join('\n')), IptablesRestoreError);
        expect({ lines, lineNumber: e.lineNumber }).toEqual({ lines, lineNumber });
        expect(e.line).toBe(lines[lineNumber - 1]);
      }
      const t = await v4.save('filter');
      expect(specs(t, 'tw-a')).toEqual(['-j ACCEPT']);
      expect(specs(t, 'tw-c')).toEqual(['-j tw-a']);
    });

    it('refuses a loop of jumps reachable from a built-in chain, atomically', async () => {
      const e = await rejection(
        () =>
          v4.restore(
            ['*filter', ':tw-l1 - [0:0]', ':tw-l2 - [0:0]', '-A tw-l1 -j tw-l2', '-A tw-l2 -j tw-l1', '-A INPUT -j tw-l1', 'COMMIT'].join('\n'),
          ),
        IptablesRestoreError,
      );
      expect(e.table).toBe('filter');
      const t = await v4.save('filter');
      expect(ourChains(t)).toEqual([]);
      expect(specs(t, 'INPUT')).toEqual([]);
    });

    it('refuses chain names over 28 characters', async () => {
      const ok = `tw-${'a'.repeat(25)}`;
      await v4.restore(['*filter', `:${ok} - [0:0]`, 'COMMIT'].join('\n'));
      const e = await rejection(() => v4.restore(['*filter', `:${ok}b - [0:0]`, 'COMMIT'].join('\n')), IptablesRestoreError);
      expect(e.lineNumber).toBe(2);
      expect(ourChains(await v4.save('filter'))).toEqual([ok]);
    });

    it('commits each table on its own: a failure in the second table leaves the first applied', async () => {
      const text = ['*filter', ':tw-f - [0:0]', 'COMMIT', '*nat', ':tw-n - [0:0]', '-A tw-n -j tw-none', 'COMMIT'].join('\n');
      const e = await rejection(() => v4.restore(text), IptablesRestoreError);
      expect(e.table).toBe('nat');
      expect(e.lineNumber).toBe(6);
      expect(e.line).toBe('-A tw-n -j tw-none');
      expect(ourChains(await v4.save('filter'))).toEqual(['tw-f']);
      expect(ourChains(await v4.save('nat'))).toEqual([]);
    });

    it('keeps IPv4 and IPv6 apart; ip6tables prints IPv6 addresses canonically and refuses IPv4 ones', async () => {
      await v6.restore(
        [
          '*filter',
          ':tw-six - [0:0]',
          `-A tw-six -s FD00:0::1 -p tcp --dport 22 -m comment --comment "tw:${H1}" -j ACCEPT`,
          '-A tw-six -d fd00::/64 -j ACCEPT',
          'COMMIT',
        ].join('\n'),
      );
      const t6 = await v6.save('filter');
      expect(specs(t6, 'tw-six')).toEqual([
        `-s fd00::1/128 -p tcp -m tcp --dport 22 -m comment --comment "tw:${H1}" -j ACCEPT`,
        '-d fd00::/64 -j ACCEPT',
      ]);
      expect(t6.chains.get('tw-six')!.rules[0]!.hash).toBe(H1);
      expect(ourChains(await v4.save('filter'))).toEqual([]);
      const e = await rejection(
        () => v6.restore(['*filter', ':tw-six2 - [0:0]', '-A tw-six2 -s 10.0.0.1 -j ACCEPT', 'COMMIT'].join('\n')),
        IptablesRestoreError,
      );
      expect(e.family).toBe(6);
      expect(e.lineNumber).toBe(3);
      expect(ourChains(await v6.save('filter'))).toEqual(['tw-six']);
    });

    it('ipset restore creates sets whose members list back in canonical form', async () => {
      await sets.restore(
        [
          'create tw4-ip hash:ip family inet',
          'add tw4-ip 10.0.0.1',
          'add tw4-ip 10.0.0.2',
          'create tw4-net hash:net family inet maxelem 1024',
          'add tw4-net 10.1.2.3/16',
          'add tw4-net 10.7.0.0/32',
          'create tw6-net hash:net family inet6',
          'add tw6-net 2001:DB8:0:0::/64',
          'add tw6-net 2001:db8:1::1',
        ].join('\n'),
      );
      const all = await sets.list('tw');
      expect([...all.keys()].sort()).toEqual(['tw4-ip', 'tw4-net', 'tw6-net']);
      expect(all.get('tw4-ip')).toMatchObject({ type: 'hash:ip', family: 'inet', members: new Set(['10.0.0.1', '10.0.0.2']) });
      expect(all.get('tw4-net')).toMatchObject({ type: 'hash:net', family: 'inet', maxelem: 1024, members: new Set(['10.1.0.0/16', '10.7.0.0']) });
      expect(all.get('tw6-net')).toMatchObject({ family: 'inet6', members: new Set(['2001:db8::/64', '2001:db8:1::1']) });
      expect((await sets.listNames('tw4-')).sort()).toEqual(['tw4-ip', 'tw4-net']);
      expect([...(await sets.list('tw6-')).keys()]).toEqual(['tw6-net']);
    });

    it('ipset errors name the line; ipset restore is not atomic', async () => {
      // A line ipset cannot even parse (unknown set) drops the adds it was still batching for the
      // set before it, but what was sent already (the create) stays.
      const e = await rejection(
        () => sets.restore(['create tw4-p hash:ip family inet', 'add tw4-p 10.0.0.1', '', 'add tw4-nope 10.0.0.9', 'add tw4-p 10.0.0.2'].join('\n')),
        IpsetRestoreError,
      );
      expect(e.code).toBe('IpsetRestore');
      expect(e.lineNumber).toBe(4);
      expect(e.line).toBe('add tw4-nope 10.0.0.9');
      expect(await sets.listNames('tw4-p')).toEqual(['tw4-p']);
      expect((await sets.list('tw4-p')).get('tw4-p')!.members).toEqual(new Set());
      // An entry the kernel refuses keeps the entries before it.
      const dup = await rejection(
        () => sets.restore(['add tw4-p 10.0.0.1', 'add tw4-p 10.0.0.2', 'add tw4-p 10.0.0.1', 'add tw4-p 10.0.0.3'].join('\n')),
        IpsetRestoreError,
      );
      expect(dup.lineNumber).toBe(3);
      expect((await sets.list('tw4-p')).get('tw4-p')!.members).toEqual(new Set(['10.0.0.1', '10.0.0.2']));
      const cases: [string, string][] = [
        ['create tw4-p hash:ip family inet', 'already exists'],
        ['add tw4-p 10.0.0.2', 'already added'],
        ['del tw4-p 10.0.0.99', 'not added'],
        ['add tw4-p fd00::1', 'cannot parse'],
        ['destroy tw4-nope', 'does not exist'],
        ['swap tw4-p tw4-nope', 'second set does not exist'],
      ];
      for (const [line, words] of cases) {
        const err = await rejection(() => sets.restore(`${line}\n`), IpsetRestoreError);
        expect({ line, stderr: err.stderr }).toEqual({ line, stderr: expect.stringContaining(words) });
        expect(err.lineNumber).toBe(1);
        expect(err.line).toBe(line);
      }
    });

    it('ipset -exist tolerates re-creating an identical set, re-adding and deleting absent members', async () => {
      await sets.restore('create tw4-x hash:ip family inet\nadd tw4-x 10.0.0.1\n');
      await sets.restore('create tw4-x hash:ip family inet\nadd tw4-x 10.0.0.1\nadd tw4-x 10.0.0.3\ndel tw4-x 10.0.0.9\ndestroy tw4-gone\n', {
        exist: true,
      });
      expect((await sets.list('tw4-x')).get('tw4-x')!.members).toEqual(new Set(['10.0.0.1', '10.0.0.3']));
      // a different type is still refused
      await rejection(() => sets.restore('create tw4-x hash:net family inet\n', { exist: true }), IpsetRestoreError);
    });

    it('swaps a set in use via a temporary set, and refuses to destroy a set a rule uses', async () => {
      await sets.restore('create tw4-s hash:ip family inet\nadd tw4-s 10.0.0.1\ncreate tw6-s hash:ip family inet6\n');
      await v4.restore(['*filter', ':tw-s - [0:0]', '-A tw-s -m set --match-set tw4-s src -j ACCEPT', 'COMMIT'].join('\n'));
      expect(specs(await v4.save('filter'), 'tw-s')).toEqual(['-m set --match-set tw4-s src -j ACCEPT']);
      await sets.restore(
        ['create tw4-s-tmp hash:ip family inet', 'add tw4-s-tmp 10.0.0.7', 'add tw4-s-tmp 10.0.0.8', 'swap tw4-s-tmp tw4-s', 'destroy tw4-s-tmp'].join(
          '\n',
        ),
      );
      const after = await sets.list('tw4-');
      expect([...after.keys()]).toEqual(['tw4-s']);
      expect(after.get('tw4-s')!.members).toEqual(new Set(['10.0.0.7', '10.0.0.8']));
      const inUse = await rejection(() => sets.restore('destroy tw4-s\n'), IpsetRestoreError);
      expect(inUse.stderr).toContain('in use');
      const mismatch = await rejection(() => sets.restore('swap tw4-s tw6-s\n'), IpsetRestoreError);
      expect(mismatch.stderr).toContain('type does not match');
      // once no rule uses it, it can go
      await v4.restore(['*filter', '-F tw-s', '-X tw-s', 'COMMIT'].join('\n'));
      await sets.restore('destroy tw4-s\ndestroy tw6-s\n');
      expect(await sets.listNames('tw')).toEqual([]);
    });

    it('refuses a rule that uses a missing set or a set of the other family', async () => {
      await sets.restore('create tw6-f hash:ip family inet6\n');
      const missing = await rejection(
        () => v4.restore(['*filter', ':tw-m - [0:0]', '-A tw-m -m set --match-set tw4-none src -j DROP', 'COMMIT'].join('\n')),
        IptablesRestoreError,
      );
      expect(missing.lineNumber).toBe(3);
      expect(missing.message).toContain('tw4-none');
      const family = await rejection(
        () => v4.restore(['*filter', ':tw-m - [0:0]', '-A tw-m -m set --match-set tw6-f dst -j DROP', 'COMMIT'].join('\n')),
        IptablesRestoreError,
      );
      expect(family.lineNumber).toBe(3);
      expect(ourChains(await v4.save('filter'))).toEqual([]);
    });
  });
}
