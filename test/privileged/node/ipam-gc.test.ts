// twill-node collects its own host's leaked IPAM addresses: the built twill-node in a host
// namespace, real etcd. An address allocated for this node with no WorkloadEndpoint is released
// after the grace period; this node's used address and another node's leaked one stay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, type WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { Ipam } from '../../../ipam/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { NetnsPool, ipIn } from '../../support/netns.js';
import { bridgePortIntoNetns, type Bridge } from '../../support/netns-bridge.js';
import { startTwillNode, waitFor, type TwillNodeProcess } from '../felix/harness.js';

const reason = missing({ root: true, tools: ['etcd', 'iptables-restore', 'ipset', 'ip', 'socat'] });

describe.skipIf(reason)('twill-node IPAM garbage collection (privileged: etcd, netns, the built twill-node)', () => {
  const pool = new NetnsPool(uniquePrefix('gc'));
  let etcd: EtcdServer;
  let ds: Datastore;
  let bridge: Bridge | undefined;
  let agent: TwillNodeProcess | undefined;

  beforeAll(async () => {
    etcd = await startEtcd();
    ds = await openDatastore(etcd.url);
    const host = pool.create('h');
    ipIn(host, ['link', 'set', 'lo', 'up']);
    ipIn(host, ['link', 'add', 'gc0', 'type', 'veth', 'peer', 'name', 'gc0p']);
    ipIn(host, ['addr', 'add', '198.18.60.1/24', 'dev', 'gc0']);
    ipIn(host, ['link', 'set', 'gc0', 'up']);
    bridge = await bridgePortIntoNetns(host, Number(new URL(etcd.endpoint).port));
    agent = startTwillNode(host, 'gc1', etcd.url, ['--no-bgp', '--no-ipv6', '--api-socket', '', '--node-ip', '198.18.60.1/24', '--ipam-gc-interval', '300ms', '--ipam-gc-grace', '2s']);
  });

  afterAll(async () => {
    if (process.env.TW_DEBUG) process.stderr.write(`--- twill-node log ---\n${agent?.log() ?? ''}\n`);
    await agent?.stop();
    bridge?.stop();
    pool.cleanup();
    await ds?.close();
    await etcd?.destroy();
  });

  it("releases this node's address without an endpoint after the grace period; its used one and another node's stay", async () => {
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'gc' }, spec: { cidr: '10.67.0.0/24' } });
    const ipam = new Ipam(ds);
    const used = (await ipam.autoAssign({ node: 'gc1', handleID: 'net.used', num4: 1 })).ips[0]!;
    const leaked = (await ipam.autoAssign({ node: 'gc1', handleID: 'net.leak', num4: 1 })).ips[0]!;
    const other = (await ipam.autoAssign({ node: 'gc2', handleID: 'net.other', num4: 1 })).ips[0]!;
    const w: WorkloadEndpointResource = {
      apiVersion: API_VERSION,
      kind: 'WorkloadEndpoint',
      metadata: { name: 'used', namespace: 'default' },
      spec: { node: 'gc1', interfaceName: 'twused', ipNetworks: [`${used.ip}/32`] },
    };
    await ds.create(w);
    const t0 = Date.now();
    await waitFor('the leaked address released', async () => (await ipam.handleAssignments('net.leak')).length === 0, 30_000);
    // Not before the grace period (2 s) from its first sighting by the agent.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect((await ipam.handleAssignments('net.used')).map((a) => a.ip)).toEqual([used.ip]);
    expect((await ipam.handleAssignments('net.other')).map((a) => a.ip)).toEqual([other.ip]);
    expect(agent!.log()).toContain(`IPAM: released ${leaked.ip}`);
  });
});
