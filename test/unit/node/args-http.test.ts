import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { NodeArgsError, parseNodeArgs } from '../../../src/node/args.js';
import { startHttp } from '../../../src/lib/http.js';
import { AgentMetrics } from '../../../src/node/metrics.js';

describe('twill-node arguments', () => {
  it('reads flags, with the datastore from TWILL_DATASTORE when no flag is given', () => {
    const a = parseNodeArgs(['--node-name', 'host1', '--refresh-interval', '10s', '--health-port', '0'], { TWILL_DATASTORE: 'etcd://127.0.0.1:2379' });
    expect(a).toMatchObject({ nodeName: 'host1', datastore: 'etcd://127.0.0.1:2379', refreshMs: 10_000, healthPort: 0, metricsPort: 0, ipv6: true, iptablesBackend: 'Auto' });
    expect(parseNodeArgs(['--node-name', 'h', '--datastore', 'memory:', '--no-ipv6', '--iptables-backend', 'legacy'], {})).toMatchObject({ ipv6: false, iptablesBackend: 'Legacy' });
  });

  it('the node name defaults to the host name; address, autodetection and API socket flags', () => {
    expect(parseNodeArgs(['--datastore', 'memory:'], {}).nodeName).toBe(hostname().toLowerCase());
    const a = parseNodeArgs(['--datastore', 'memory:', '--node-ip', '198.18.0.1/24', '--ip6-autodetection', 'cidr=2001:db8::/32', '--api-socket', '/tmp/x.sock'], {});
    expect(a).toMatchObject({ nodeIp: '198.18.0.1/24', ip6Autodetection: 'cidr=2001:db8::/32', apiSocket: '/tmp/x.sock' });
    expect(parseNodeArgs(['--datastore', 'memory:', '--api-socket', ''], {}).apiSocket).toBe('');
    expect(() => parseNodeArgs(['--datastore', 'memory:', '--ip-autodetection', 'nearest'], {})).toThrow(/--ip-autodetection: unknown autodetection method "nearest"/);
  });

  it('says what is missing', () => {
    expect(() => parseNodeArgs(['--datastore', 'memory:', '--node-name', ''], {})).toThrow(NodeArgsError);
    expect(() => parseNodeArgs(['--datastore', 'memory:', '--node-name', ''], {})).toThrow(/--node-name/);
    expect(() => parseNodeArgs(['--node-name', 'h'], {})).toThrow(/--datastore/);
    expect(() => parseNodeArgs(['--node-name', 'h', '--datastore', 'memory:', '--iptables-backend', 'x'], {})).toThrow(/Auto, NFT or Legacy/);
  });
});

describe('health and metrics endpoints', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  });

  it('/readiness is 503 until ready, /liveness 200, /metrics in Prometheus text', async () => {
    let ready = false;
    const metrics = new AgentMetrics();
    const { server, port } = await startHttp({
      host: '127.0.0.1',
      port: 0,
      health: { health: () => ({ live: true, ready, detail: { inSync: ready } }) },
      registry: metrics.registry,
    });
    servers.push(server);
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/readiness`)).status).toBe(503);
    expect((await fetch(`${base}/liveness`)).status).toBe(200);
    ready = true;
    metrics.setHealth({ ready: true, inSync: true, failing: [] });
    const r = await fetch(`${base}/readiness`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ready: true, inSync: true });
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/^twill_felix_ready 1$/m);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
