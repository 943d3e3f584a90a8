// Choosing the node's address (pure selection over a list of interfaces) and registering its
// Node resource (compare-and-swap against an in-memory datastore).
import { describe, expect, it } from 'vitest';
import type { NodeResource } from '../../../src/api/types.js';
import { openMemoryDatastore } from '../../../src/datastore/memory.js';
import { AutodetectError, candidates, parseAutodetectMethod, selectNodeAddress, type InterfaceAddrs } from '../../../src/node/autodetect.js';
import { addressConflict, heartbeatNode, registerNode, resolveNodeAddresses, type HostView } from '../../../src/node/identity.js';

const v4 = (address: string, prefixLength: number, scope = 0) => ({ family: 4 as const, address, prefixLength, scope });
const v6 = (address: string, prefixLength: number, scope = 0) => ({ family: 6 as const, address, prefixLength, scope });

const HOST: InterfaceAddrs[] = [
  { name: 'lo', index: 1, loopback: true, addresses: [v4('127.0.0.1', 8, 254), v6('::1', 128, 254)] },
  { name: 'eth1', index: 3, loopback: false, addresses: [v4('198.19.0.5', 16), v6('fe80::1', 64, 253)] },
  { name: 'eth0', index: 2, loopback: false, addresses: [v4('198.18.0.10', 24), v6('2001:db8::10', 64), v6('fe80::2', 64, 253)] },
  { name: 'tw1a2b3c4d5e6', index: 9, loopback: false, addresses: [v4('169.254.1.1', 32)] },
  { name: 'cali123', index: 10, loopback: false, addresses: [] },
];
const ONE: InterfaceAddrs[] = HOST.filter((i) => i.name !== 'eth1');

describe('node address candidates', () => {
  it('are global addresses on interfaces that are not loopback or workload veths, in ifindex order', () => {
    expect(candidates(HOST, 4, 'tw').map((c) => `${c.iface} ${c.cidr}`)).toEqual(['eth0 198.18.0.10/24', 'eth1 198.19.0.5/16']);
    expect(candidates(HOST, 6, 'tw').map((c) => c.cidr)).toEqual(['2001:db8::10/64']);
    // Another interface prefix (FelixConfiguration interfacePrefix) makes the tw* veth a candidate.
    expect(candidates(HOST, 4, 'cali').map((c) => c.iface)).toContain('tw1a2b3c4d5e6');
  });
});

describe('selecting the node address', () => {
  const cands = candidates(HOST, 4, 'tw');
  const pick = (method: string | undefined, sourceFor?: string) =>
    selectNodeAddress(4, method === undefined ? undefined : parseAutodetectMethod(method), cands, sourceFor ? { sourceFor } : {})?.cidr;

  it('without a method takes the only candidate', () => {
    expect(selectNodeAddress(4, undefined, candidates(ONE, 4, 'tw'))?.cidr).toBe('198.18.0.10/24');
  });

  it('without a method refuses to guess between two, naming both and the flags that pick one', () => {
    let err: unknown;
    try {
      pick(undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AutodetectError);
    const text = (err as AutodetectError).describe();
    expect(text).toContain('eth0 198.18.0.10/24');
    expect(text).toContain('eth1 198.19.0.5/16');
    expect(text).toContain('--node-ip 198.18.0.10/24');
    expect(text).toContain('--ip-autodetection interface=eth0');
  });

  it('with no candidate at all there is no address (a host with only loopback and workloads)', () => {
    expect(selectNodeAddress(4, undefined, [])).toBeUndefined();
    expect(() => selectNodeAddress(4, parseAutodetectMethod('first-found'), [])).toThrow(/first-found found no candidate; candidates: none/);
  });

  it('each method picks what it says', () => {
    expect(pick('first-found')).toBe('198.18.0.10/24');
    expect(pick('interface=eth1')).toBe('198.19.0.5/16');
    expect(pick('interface=nomatch,eth.*')).toBe('198.18.0.10/24');
    expect(pick('skip-interface=eth0')).toBe('198.19.0.5/16');
    expect(pick('cidr=198.19.0.0/16')).toBe('198.19.0.5/16');
    expect(pick('cidr=10.0.0.0/8,198.18.0.0/24')).toBe('198.18.0.10/24');
    expect(pick('can-reach=198.19.200.1', '198.19.0.5')).toBe('198.19.0.5/16');
    expect(pick('none')).toBeUndefined();
  });

  it('interface= matches whole names, not parts of them', () => {
    expect(() => pick('interface=eth')).toThrow(/no candidate is on an interface matching/);
  });

  it('a method that finds nothing fails with the candidates', () => {
    expect(() => pick('cidr=10.0.0.0/8')).toThrow(/no candidate is inside 10\.0\.0\.0\/8; candidates: eth0 198\.18\.0\.10\/24, eth1 198\.19\.0\.5\/16/);
    expect(() => pick('can-reach=203.0.113.1')).toThrow(/no route to 203\.0\.113\.1/);
    expect(() => pick('can-reach=198.19.200.1', '127.0.0.1')).toThrow(/source 127\.0\.0\.1, which is not a candidate/);
    expect(() => pick('skip-interface=eth.*')).toThrow(/every candidate is on a skipped interface/);
  });

  it('rejects malformed methods with the list of valid ones', () => {
    for (const bad of ['firstfound', 'interface=', 'interface=(', 'can-reach=host.example', 'cidr=10.0.0.0/99', 'first-found=x']) {
      expect(() => parseAutodetectMethod(bad), bad).toThrow(AutodetectError);
    }
    expect(() => parseAutodetectMethod('bogus')).toThrow(expect.objectContaining({ message: 'unknown autodetection method "bogus"', hint: expect.stringContaining('first-found, interface=REGEX') }));
  });
});

describe('resolving the node addresses', () => {
  const host = (ifaces: InterfaceAddrs[], source?: string): HostView => ({ interfaces: async () => ifaces, sourceFor: async () => source, workloadPrefix: 'tw' });
  const stored = (ipv4Address?: string, ipv6Address?: string): NodeResource => ({
    apiVersion: 'twill.io/v1',
    kind: 'Node',
    metadata: { name: 'n1' },
    spec: { bgp: { ...(ipv4Address ? { ipv4Address } : {}), ...(ipv6Address ? { ipv6Address } : {}) } },
  });

  it('--node-ip wins over everything; its form is checked', async () => {
    const a = await resolveNodeAddresses({ nodeIp: '198.19.0.5/16', ipAutodetection: 'first-found' }, stored('10.9.9.9/24'), host(HOST));
    expect(a).toMatchObject({ ipv4: '198.19.0.5/16', source: { ipv4: '--node-ip' } });
    await expect(resolveNodeAddresses({ nodeIp: '198.19.0.5' }, undefined, host(HOST))).rejects.toThrow(/not ADDR\/LEN/);
    await expect(resolveNodeAddresses({ nodeIp: '2001:db8::1/64' }, undefined, host(HOST))).rejects.toMatchObject({ message: '--node-ip 2001:db8::1/64 is not an IPv4 address', hint: 'IPv6 goes in --node-ip6' });
  });

  it('the stored address is kept when no flag asks otherwise, even with several candidates', async () => {
    const a = await resolveNodeAddresses({}, stored('198.19.0.5/16', '2001:db8::10/64'), host(HOST));
    expect(a).toMatchObject({ ipv4: '198.19.0.5/16', ipv6: '2001:db8::10/64', source: { ipv4: 'Node resource', ipv6: 'Node resource' } });
  });

  it('an explicit autodetection method is used even when an address is stored', async () => {
    const a = await resolveNodeAddresses({ ipAutodetection: 'interface=eth1' }, stored('198.18.0.10/24'), host(HOST));
    expect(a.ipv4).toBe('198.19.0.5/16');
  });

  it('with neither: the only candidate, or a failure naming the candidates; IPv6 only on request', async () => {
    const only = await resolveNodeAddresses({}, undefined, host(ONE));
    expect(only.ipv4).toBe('198.18.0.10/24');
    expect(only.ipv6).toBeUndefined();
    await expect(resolveNodeAddresses({}, undefined, host(HOST))).rejects.toThrow(/2 candidates \(eth0 198\.18\.0\.10\/24, eth1 198\.19\.0\.5\/16\)/);
    expect((await resolveNodeAddresses({ ip6Autodetection: 'first-found' }, undefined, host(ONE))).ipv6).toBe('2001:db8::10/64');
    expect((await resolveNodeAddresses({ ipAutodetection: 'can-reach=198.19.1.1' }, undefined, host(HOST, '198.19.0.5'))).ipv4).toBe('198.19.0.5/16');
  });
});

describe('the Node resource', () => {
  const log = { info: () => {}, warn: () => {} };
  const t0 = new Date('2026-01-01T00:00:00Z');

  it('is created with the addresses, version and a heartbeat', async () => {
    const ds = openMemoryDatastore();
    const n = await registerNode({ ds, nodeName: 'n1', version: '1.2.3', log, now: () => t0 }, { ipv4: '198.18.0.10/24', source: { ipv4: 'x', ipv6: 'none' } });
    expect(n.spec.bgp).toEqual({ ipv4Address: '198.18.0.10/24' });
    expect(n.status).toEqual({ agentVersion: '1.2.3', lastHeartbeat: t0.toISOString() });
  });

  it('keeps what the user set (asNumber, routeReflectorClusterID, labels) and survives a concurrent edit', async () => {
    const ds = openMemoryDatastore();
    await ds.create<NodeResource>({
      apiVersion: 'twill.io/v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { rack: 'r1' } },
      spec: { bgp: { ipv4Address: '10.0.0.1/24', asNumber: 64600 } },
    });
    // A user edit lands between our read and our write: the first update conflicts, the retry keeps it.
    const realUpdate = ds.update.bind(ds);
    let raced = false;
    ds.update = async (r, o) => {
      if (!raced) {
        raced = true;
        const cur = (await ds.get<NodeResource>({ kind: 'Node', name: 'n1' }))!;
        await realUpdate({ ...cur, spec: { bgp: { ...cur.spec.bgp, routeReflectorClusterID: '224.0.0.1' } } });
      }
      return realUpdate(r, o);
    };
    const o = { ds, nodeName: 'n1', version: '1.2.3', log, now: () => t0 };
    const n = await registerNode(o, { ipv4: '198.18.0.10/24', ipv6: '2001:db8::10/64', source: { ipv4: 'x', ipv6: 'y' } });
    expect(raced).toBe(true);
    expect(n.metadata.labels).toEqual({ rack: 'r1' });
    expect(n.spec.bgp).toEqual({ ipv4Address: '198.18.0.10/24', ipv6Address: '2001:db8::10/64', asNumber: 64600, routeReflectorClusterID: '224.0.0.1' });
    // The heartbeat touches the status only.
    const later = new Date('2026-01-01T00:01:00Z');
    const h = await heartbeatNode({ ...o, now: () => later }, { ipv4: '1.1.1.1/32', source: { ipv4: 'x', ipv6: 'y' } });
    expect(h.spec.bgp?.ipv4Address).toBe('198.18.0.10/24');
    expect(h.status?.lastHeartbeat).toBe(later.toISOString());
  });

  it('a deleted Node comes back with the next heartbeat', async () => {
    const ds = openMemoryDatastore();
    const o = { ds, nodeName: 'n1', version: '1', log };
    await registerNode(o, { ipv4: '198.18.0.10/24', source: { ipv4: 'x', ipv6: 'none' } });
    await ds.delete({ kind: 'Node', name: 'n1' });
    const h = await heartbeatNode(o, { ipv4: '198.18.0.10/24', source: { ipv4: 'x', ipv6: 'none' } });
    expect(h.spec.bgp?.ipv4Address).toBe('198.18.0.10/24');
  });
});

describe('address conflicts', () => {
  const node = (name: string, ipv4Address?: string, ipv6Address?: string): NodeResource => ({
    apiVersion: 'twill.io/v1',
    kind: 'Node',
    metadata: { name },
    spec: { bgp: { ...(ipv4Address ? { ipv4Address } : {}), ...(ipv6Address ? { ipv6Address } : {}) } },
  });
  const mine = { ipv4: '198.18.0.10/24', ipv6: '2001:db8::10/64', source: { ipv4: 'autodetection (first-found: eth0)', ipv6: '--node-ip6' } };

  it('another Node with the same address (any prefix length) is refused, naming it', () => {
    const e = addressConflict('n1', mine, [node('n1', '198.18.0.10/24'), node('n2', '198.18.0.10/16')]);
    expect(e?.message).toBe("this node's address 198.18.0.10/24 (from autodetection (first-found: eth0)) is already the address of Node n2");
    expect(e?.hint).toContain('twillctl delete node n2');
    expect(addressConflict('n1', mine, [node('n3', undefined, '2001:db8:0::10/128')])?.message).toMatch(/2001:db8::10\/64 \(from --node-ip6\) is already the address of Node n3/);
  });

  it('our own Node, other addresses and malformed ones are no conflict', () => {
    expect(addressConflict('n1', mine, [node('n1', '198.18.0.10/24'), node('n2', '198.18.0.11/24'), node('n4', 'garbage')])).toBeUndefined();
  });
});
