// The NFLOG reader against the kernel, in a throwaway namespace: a packet an iptables NFLOG rule
// logs arrives with its prefix, interface and headers; a second reader of the same group is
// refused by name; another namespace's group of the same number is its own.
import { afterAll, describe, expect, it } from 'vitest';
import { openNflog, parsePacketHeaders, type NflogPacket, type NflogReader } from '../../../src/netlink/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { NetnsPool, ipIn, nsExec } from '../../support/netns.js';

const reason = missing({ root: true, tools: ['ip', 'iptables'] });

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`never happened: ${what}`);
}

describe.skipIf(reason)('NFLOG reader (real kernel)', () => {
  const pool = new NetnsPool(uniquePrefix('nfl'));
  const readers: NflogReader[] = [];
  afterAll(() => {
    for (const r of readers) r.close();
    pool.cleanup();
  });

  /** A namespace whose OUTPUT logs UDP to port 9999 to `group` with `prefix`, then drops it. */
  const lab = (tag: string, group: number, prefix: string): string => {
    const ns = pool.create(tag);
    ipIn(ns, ['link', 'set', 'lo', 'up']);
    for (const rule of [
      ['-A', 'OUTPUT', '-p', 'udp', '--dport', '9999', '-j', 'NFLOG', '--nflog-group', String(group), '--nflog-prefix', prefix],
      ['-A', 'OUTPUT', '-p', 'udp', '--dport', '9999', '-j', 'DROP'],
    ]) {
      const r = nsExec(ns, ['iptables', ...rule]);
      expect(r.code, r.stderr).toBe(0);
    }
    return ns;
  };
  const send = (ns: string, srcPort: number): void => {
    const js = `const d=require('dgram').createSocket('udp4');d.bind(${srcPort},()=>d.send('x',9999,'127.0.0.1',()=>d.close()));`;
    expect(nsExec(ns, [process.execPath, '-e', js]).code).toBe(0);
  };

  it('delivers a logged packet with its prefix, output interface and headers; a second reader of the group is refused', async () => {
    const ns = lab('a', 20, 'twd:0123456789ab');
    const got: NflogPacket[] = [];
    const r = await openNflog({ group: 20, ns: { name: ns } }, (p) => got.push(p));
    readers.push(r);
    send(ns, 40001);
    await until('the packet arrives', () => got.length === 1);
    expect(got[0]).toMatchObject({ group: 20, family: 2, prefix: 'twd:0123456789ab', hook: 3, outdev: 1 });
    expect(parsePacketHeaders(got[0]!.payload)).toMatchObject({ src: '127.0.0.1', dst: '127.0.0.1', protocolName: 'udp', srcPort: 40001, dstPort: 9999 });
    await expect(openNflog({ group: 20, ns: { name: ns } }, () => undefined)).rejects.toMatchObject({ code: 'NflogGroupBusy' });
    // The group is per namespace: another namespace's group 20 is free, and sees only its own packets.
    const other = lab('b', 20, 'twd:ba9876543210');
    const got2: NflogPacket[] = [];
    readers.push(await openNflog({ group: 20, ns: { name: other } }, (p) => got2.push(p)));
    send(other, 40002);
    await until('the other packet arrives', () => got2.length === 1);
    expect(got2[0]!.prefix).toBe('twd:ba9876543210');
    expect(got.length).toBe(1);
    // Closed, the group is free again.
    r.close();
    readers.push(await openNflog({ group: 20, ns: { name: ns } }, () => undefined));
  });
});
