import { describe, expect, it } from 'vitest';
import type { Datastore } from '../../../src/datastore/types.js';
import { runIpamPlugin } from '../../../cni/ipam-plugin.js';
import { parseCniArgs } from '../../../cni/protocol.js';
import { Ipam } from '../../../ipam/index.js';
import { memoryStore, pool, snapshot } from './fixtures.js';

function conf(extra: Record<string, unknown> = {}, version = '1.0.0'): string {
  return JSON.stringify({ cniVersion: version, name: 'twnet', type: 'twill-cni', ipam: { type: 'twill-ipam', datastore: 'memory:', nodename: 'h1', ...extra } });
}

async function setup(): Promise<{ ds: Datastore; call: (env: Record<string, string>, stdin: string) => Promise<{ stdout: string; exitCode: number; json: Record<string, unknown> | undefined }> }> {
  const ds = await memoryStore();
  await ds.create(pool('p4', '10.65.0.0/24'));
  await ds.create(pool('p6', 'fd00:65::/120'));
  const shared: Datastore = { ...ds, location: ds.location, get: ds.get.bind(ds), list: ds.list.bind(ds), create: ds.create.bind(ds), update: ds.update.bind(ds), upsert: ds.upsert.bind(ds), delete: ds.delete.bind(ds), txn: ds.txn.bind(ds), watch: ds.watch.bind(ds), close: async () => undefined };
  return {
    ds,
    call: async (env, stdin) => {
      const out = await runIpamPlugin({ env, stdin, openStore: async () => shared });
      return { ...out, json: out.stdout ? (JSON.parse(out.stdout) as Record<string, unknown>) : undefined };
    },
  };
}

const ADD = (cid: string, args = ''): Record<string, string> => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: cid, CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/x', CNI_ARGS: args });

describe('twill-ipam CNI plugin (in-process)', () => {
  it('ADD returns a CNI 1.0 result and records the handle with pod attributes', async () => {
    const { ds, call } = await setup();
    const r = await call(ADD('c1', 'IgnoreUnknown=1;K8S_POD_NAMESPACE=web;K8S_POD_NAME=front-1'), conf());
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({ cniVersion: '1.0.0', routes: [], dns: {} });
    const ips = r.json!.ips as { address: string }[];
    expect(ips).toHaveLength(1);
    expect(ips[0]!.address).toMatch(/^10\.65\.0\.\d+\/32$/);
    const held = await new Ipam(ds).handleAssignments('twnet.c1');
    expect(held.map((a) => a.cidr)).toEqual([ips[0]!.address]);
    const { items } = await ds.list({ kind: 'IPAMBlock' });
    const attrs = JSON.stringify(items);
    expect(attrs).toContain('"namespace":"web"');
    expect(attrs).toContain('"pod":"front-1"');
  });

  it('a repeated ADD returns the same address; DEL frees it and is idempotent', async () => {
    const { ds, call } = await setup();
    const a = await call(ADD('c1'), conf());
    const b = await call(ADD('c1'), conf());
    expect(b.json!.ips).toEqual(a.json!.ips);
    const del = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' };
    expect(await call(del, conf())).toMatchObject({ stdout: '', exitCode: 0 });
    expect(await new Ipam(ds).handleAssignments('twnet.c1')).toEqual([]);
    expect(await call(del, conf())).toMatchObject({ stdout: '', exitCode: 0 });
  });

  it('dual stack, old result versions, and pool restriction', async () => {
    const { call } = await setup();
    const r = await call(ADD('c2'), conf({ assign_ipv6: true, assign_ipv4: 'true' }, '0.4.0'));
    expect(r.exitCode).toBe(0);
    const ips = r.json!.ips as { address: string; version: string }[];
    expect(ips.map((i) => i.version)).toEqual(['4', '6']);
    expect(ips[1]!.address).toMatch(/^fd00:65::[0-9a-f]*\/128$/);
    const only6 = await call(ADD('c3'), conf({ assign_ipv4: false, assign_ipv6: true, pools: ['fd00:65::/120'] }));
    expect((only6.json!.ips as { address: string }[]).map((i) => i.address.includes(':'))).toEqual([true]);
  });

  it('CHECK confirms the allocation and spots a wrong prevResult', async () => {
    const { call } = await setup();
    const a = await call(ADD('c1'), conf());
    const addr = (a.json!.ips as { address: string }[])[0]!.address;
    const check = { CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' };
    const withPrev = (address: string): string => JSON.stringify({ ...JSON.parse(conf()), prevResult: { cniVersion: '1.0.0', ips: [{ address }] } });
    expect((await call(check, withPrev(addr))).exitCode).toBe(0);
    const bad = await call(check, withPrev('10.65.0.250/32'));
    expect(bad.exitCode).toBe(1);
    expect(bad.json).toMatchObject({ code: 111, cniVersion: '1.0.0' });
    expect(bad.json!.msg).toContain('10.65.0.250 of container c1 is not allocated to it');
    const unknown = await call({ ...check, CNI_CONTAINERID: 'zz' }, conf());
    expect(unknown.json).toMatchObject({ code: 3 });
    const old = await call(check, conf({}, '0.3.1'));
    expect(old.json).toMatchObject({ code: 1 });
  });

  it('VERSION lists the supported versions', async () => {
    const { call } = await setup();
    const r = await call({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(r.json).toEqual({ cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
  });

  it('bad input gets a CNI error with the right code and changes nothing', async () => {
    const { ds, call } = await setup();
    const before = await snapshot(ds);
    const cases: [Record<string, string>, string, number, string][] = [
      [{ CNI_CONTAINERID: 'c' }, conf(), 4, 'CNI_COMMAND is not set'],
      [{ CNI_COMMAND: 'ADD' }, conf(), 4, 'CNI_CONTAINERID is required for ADD'],
      [ADD('c'), '{not json', 6, 'not JSON'],
      [ADD('c'), conf({}, '9.9.9'), 1, 'CNI version 9.9.9 is not supported'],
      [ADD('c'), JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 't', ipam: { nodename: 'h1' } }), 7, 'no datastore configured'],
      [ADD('c'), conf({ nodename: undefined }), 7, 'no node name configured'],
      [ADD('c'), conf({ pools: ['nope'] }), 7, 'IP pool "nope" does not exist'],
      [ADD('c'), conf({ pools: 'p4' }), 7, 'ipam.pools must be a list'],
      [ADD('c'), conf({ assign_ipv4: 'yes' }), 7, 'ipam.assign_ipv4 must be true or false'],
    ];
    for (const [env, stdin, code, msg] of cases) {
      const r = await call(env, stdin);
      expect(r.exitCode, msg).toBe(1);
      expect(r.json!.code, msg).toBe(code);
      expect(String(r.json!.msg), msg).toContain(msg);
    }
    expect(await snapshot(ds)).toBe(before);
  });

  it('an exhausted pool is code 110 with the pool fullness in the details', async () => {
    const { ds, call } = await setup();
    await ds.create(pool('tiny', '10.99.0.0/30', { blockSize: 30 }));
    for (let i = 0; i < 4; i++) expect((await call(ADD(`t${i}`), conf({ pools: ['tiny'] }))).exitCode).toBe(0);
    const r = await call(ADD('t4'), conf({ pools: ['tiny'] }));
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ code: 110 });
    expect(String(r.json!.msg)).toContain('no free IPv4 address for node h1 in pool tiny');
    expect(String(r.json!.details)).toContain('4/4 addresses in use');
  });

  it('parses CNI_ARGS', () => {
    expect(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=a=b;;junk')).toEqual({ IgnoreUnknown: '1', K8S_POD_NAME: 'a=b' });
  });
});
