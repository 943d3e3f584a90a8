import { describe, expect, it } from 'vitest';
import { createFakeNetfilter } from '../../../../src/iptables/fake/index.js';
import { IpsetRestoreError, type Ipset } from '../../../../src/iptables/index.js';
import { IpsetReconciler } from '../../../../felix/dataplane/index.js';
import type { RenderedIpSet } from '../../../../felix/rules/types.js';

const set = (name: string, members: string[], type: RenderedIpSet['type'] = 'hash:net'): RenderedIpSet => ({
  name,
  family: name.startsWith('tw6-') ? 6 : 4,
  type,
  members: [...members].sort(),
});

async function members(nf: ReturnType<typeof createFakeNetfilter>, name: string): Promise<string[] | undefined> {
  const m = (await nf.ipset().list('tw')).get(name);
  return m ? [...m.members].sort() : undefined;
}

describe('IpsetReconciler', () => {
  it('creates sets, then adds and removes only the members that changed', async () => {
    const nf = createFakeNetfilter();
    const r = new IpsetReconciler(nf.ipset());
    r.markInSync();
    r.setDesired([set('tw4-aaaa', ['10.65.0.1', '10.65.0.2']), set('tw6-aaaa', ['fd00::1'])]);
    const res = await r.applyUpdates();
    expect(res.created.sort()).toEqual(['tw4-aaaa', 'tw6-aaaa']);
    expect(await members(nf, 'tw4-aaaa')).toEqual(['10.65.0.1', '10.65.0.2']);
    r.setDesired([set('tw4-aaaa', ['10.65.0.2', '10.65.0.3']), set('tw6-aaaa', ['fd00::1'])]);
    const res2 = await r.applyUpdates();
    expect(res2.updated).toEqual(['tw4-aaaa']);
    expect(await members(nf, 'tw4-aaaa')).toEqual(['10.65.0.2', '10.65.0.3']);
    expect(r.isProgrammed('tw4-aaaa')).toBe(true);
  });

  it('a big change goes through a temporary set and a swap; a type change recreates the set', async () => {
    const nf = createFakeNetfilter();
    const r = new IpsetReconciler(nf.ipset());
    r.markInSync();
    r.setDesired([set('tw4-bbbb', ['10.65.0.1'])]);
    await r.applyUpdates();
    const many = Array.from({ length: 600 }, (_, i) => `10.66.${i >> 8}.${i & 255}`);
    r.setDesired([set('tw4-bbbb', many)]);
    await r.applyUpdates();
    expect(await members(nf, 'tw4-bbbb')).toEqual([...many].sort());
    r.setDesired([set('tw4-bbbb', ['10.65.0.5,tcp:80'], 'hash:ip,port')]);
    await r.applyUpdates();
    const info = (await nf.ipset().list('tw')).get('tw4-bbbb');
    expect(info?.type).toBe('hash:ip,port');
    expect([...(info?.members ?? [])]).toEqual(['10.65.0.5,tcp:80']);
    expect((await nf.ipset().listNames('tw')).sort()).toEqual(['tw4-bbbb']);
  });

  it('destroys unwanted sets only after the first in-sync, and a restart adopts what exists', async () => {
    const nf = createFakeNetfilter();
    await nf.ipset().restore('create tw4-old hash:net family inet\nadd tw4-old 10.9.0.0/16\ncreate tw4-keep hash:net family inet\nadd tw4-keep 10.65.0.1\ncreate other hash:net family inet\n');
    const r = new IpsetReconciler(nf.ipset());
    r.setDesired([set('tw4-keep', ['10.65.0.1'])]);
    const res = await r.applyUpdates();
    expect(res.created).toEqual([]);
    expect(res.updated).toEqual([]);
    expect((await r.applyDeletes()).destroyed).toEqual([]);
    expect((await nf.ipset().listNames()).sort()).toEqual(['other', 'tw4-keep', 'tw4-old']);
    r.markInSync();
    expect((await r.applyDeletes()).destroyed).toEqual(['tw4-old']);
    expect((await nf.ipset().listNames()).sort()).toEqual(['other', 'tw4-keep']);
  });

  it('a big write runs as two restores split between sets; a rejected line fails only its own set', async () => {
    const nf = createFakeNetfilter();
    const real = nf.ipset();
    const texts: string[] = [];
    const ipset: Ipset = {
      restore: async (text, o) => {
        texts.push(text);
        // The kernel refuses this one member (as it would an address of the wrong family).
        const bad = text.split('\n').findIndex((l) => l === 'add tw4-s150 10.99.150.7');
        if (bad >= 0) {
          await real.restore(text.split('\n').slice(0, bad).join('\n') + '\n', o);
          throw new IpsetRestoreError({ lineNumber: bad + 1, stderr: `ipset v7.17: Error in line ${bad + 1}: refused`, exitCode: 1 });
        }
        return real.restore(text, o);
      },
      list: (p) => real.list(p),
      listNames: (p) => real.listNames(p),
    };
    const r = new IpsetReconciler(ipset, { initialMs: 60_000 });
    r.markInSync();
    const name = (i: number) => `tw4-s${String(i).padStart(3, '0')}`;
    const want = Array.from({ length: 200 }, (_, i) => set(name(i), Array.from({ length: 30 }, (_, j) => `10.99.${i}.${j}`)));
    r.setDesired(want);
    const res = await r.applyUpdates();
    expect(texts.length).toBe(2);
    // No set is split between the two runs.
    const inFirst = new Set(texts[0]!.split('\n').filter(Boolean).map((l) => l.split(' ')[1]));
    expect(inFirst.size).toBeGreaterThan(50);
    expect(texts[1]!.split('\n').filter((l) => l && inFirst.has(l.split(' ')[1]))).toEqual([]);
    // The first run went through whole; the second stopped at the refused line.
    expect(res.created).toEqual([...inFirst].sort());
    expect(res.pending).toContain('tw4-s150');
    // The next apply writes the rest; only the refused set stays pending (backing off).
    const res2 = await r.applyUpdates();
    expect(res2.pending).toEqual(['tw4-s150']);
    expect(await members(nf, name(3))).toEqual(want[3]!.members);
    expect(await members(nf, name(199))).toEqual(want[199]!.members);
    expect(r.isProgrammed(name(150))).toBe(false);
    expect(r.failing(1).has('tw4-s150')).toBe(true);
  });
});
