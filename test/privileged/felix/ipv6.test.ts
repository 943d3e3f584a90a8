// twill-node with dual-stack workloads: IPv6 routes, ip6tables policy, real ping6 / TCP over IPv6.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkPolicyResource, WorkloadEndpointResource } from '../../../src/api/types.js';
import type { Datastore } from '../../../src/datastore/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { NetnsPool, ipIn, nsExec } from '../../support/netns.js';
import { Servers, addWorkload, ping, tcp, type Workload } from '../../support/workload.js';
import { ALLOW_ALL_PROFILE, startFelixHost, startTwillNode, waitFor, type FelixHost, type TwillNodeProcess } from './harness.js';

const reason = missing({ root: true, tools: ['etcd', 'ip6tables-restore', 'ipset', 'ip', 'socat', 'ping'] });

describe.skipIf(reason)('twill-node with IPv6 workloads (privileged)', () => {
  const pool = new NetnsPool(uniquePrefix('f6'));
  const servers = new Servers();
  let lab: FelixHost | undefined;
  let ds: Datastore;
  let agent: TwillNodeProcess | undefined;
  let host: string;
  let e: Workload;
  let f: Workload;

  const wep = (name: string, w: Workload): WorkloadEndpointResource => ({
    apiVersion: 'twill.io/v1',
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: 'default', labels: { name } },
    spec: { node: 'host6', interfaceName: w.iface, ipNetworks: [`${w.ip}/32`, `${w.ip6!}/128`], profiles: ['kns.default'] },
  });

  beforeAll(async () => {
    lab = await startFelixHost(pool);
    ({ ds, host } = lab);
    e = await addWorkload(pool, host, 'e', '10.66.0.1', undefined, 'fd00:66::1');
    f = await addWorkload(pool, host, 'f', '10.66.0.2', undefined, 'fd00:66::2');
    servers.tcp(f, 8080, true);
    servers.tcp(f, 9090, true);
    await ds.create(ALLOW_ALL_PROFILE);
    await ds.create(wep('e', e));
    await ds.create(wep('f', f));
    agent = startTwillNode(host, 'host6', lab.etcd.url, ['--refresh-interval', '2s']);
  });

  afterAll(async () => {
    await lab?.stop(agent, servers);
    pool.cleanup();
  });

  it('programs /128 routes and global IPv6 forwarding; workloads reach each other over IPv6', async () => {
    await waitFor('route to f over IPv6', () => ipIn(host, ['-6', 'route', 'show', `${f.ip6!}/128`]).includes(f.iface));
    expect(nsExec(host, ['cat', '/proc/sys/net/ipv6/conf/all/forwarding']).stdout.trim()).toBe('1');
    expect(nsExec(host, ['cat', `/proc/sys/net/ipv6/conf/${f.iface}/proxy_ndp`]).stdout.trim()).toBe('1');
    await waitFor('ping6 e→f', () => ping(e, f.ip6!));
    expect(tcp(e, f.ip6!, 8080)).toBe(true);
    expect(tcp(e, f.ip6!, 9090)).toBe(true);
  });

  it('an ingress policy is enforced by ip6tables: TCP 8080 allowed, 9090 and ping6 denied', async () => {
    const pol: NetworkPolicyResource = {
      apiVersion: 'twill.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'f-in', namespace: 'default' },
      spec: { selector: "name == 'f'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: "name == 'e'" }, destination: { ports: [8080] } }] },
    };
    await ds.create(pol);
    await waitFor('ping6 e→f denied', () => !ping(e, f.ip6!));
    expect(tcp(e, f.ip6!, 8080)).toBe(true);
    expect(tcp(e, f.ip6!, 9090)).toBe(false);
    expect(nsExec(host, ['ip6tables-save', '-t', 'filter']).stdout).toMatch(/-A FORWARD .*tw:[0-9a-f]{16}/);
  });
});
