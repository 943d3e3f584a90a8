// twill-node's denied-packet reader over a fake NFLOG socket and the real renderer's id index:
// each packet gives one structured log line, one count and one ring entry; the endpoint comes
// from the interface for a rule's drop; the group follows the config; a busy group is logged,
// not fatal.
import { describe, expect, it } from 'vitest';
import { CalcGraph } from '../../../felix/calc/index.js';
import { RuleRenderer, denyLogId } from '../../../felix/rules/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import type { NflogPacket, NflogReader } from '../../../src/netlink/index.js';
import type { NodeDeniedPacket } from '../../../src/nodeapi/index.js';
import { DeniedPacketLog } from '../../../src/node/denied.js';
import { AgentMetrics } from '../../../src/node/metrics.js';
import { felixConfig, np, profile, set, wep } from '../felix/calc/builders.js';

function tcpSyn(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x45;
  b[9] = 6;
  Buffer.from(src).copy(b, 12);
  Buffer.from(dst).copy(b, 16);
  b.writeUInt16BE(sport, 20);
  b.writeUInt16BE(dport, 22);
  b[33] = 0x02;
  return b;
}

function setup(capacity?: number) {
  const g = new CalcGraph({ nodeName: 'host1' });
  g.apply([
    set(felixConfig('default', { logDeniedPackets: true })),
    set(wep('a', { ips: ['10.65.0.1/32'], labels: { role: 'client' }, profiles: ['kns.default'] })),
    set(wep('b', { ips: ['10.65.0.2/32'], labels: { role: 'server' }, profiles: ['kns.default'] })),
    set(np('server-in', { selector: "role == 'server'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [8080] } }, { action: 'Deny', protocol: 'TCP' }] })),
    set(profile('kns.default', { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] })),
  ]);
  const renderer = new RuleRenderer();
  renderer.update(g.flush());
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ pretty: false, destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  const metrics = new AgentMetrics();
  const opened: { group: number; closed: boolean }[] = [];
  let busy = false;
  const reader = { lost: 0 };
  let deliver: ((p: NflogPacket) => void) | undefined;
  const denied = new DeniedPacketLog({
    log,
    lookup: (id) => renderer.denyLogEntry(id),
    endpointOn: (i) => renderer.endpointOn(i),
    interfaceName: (i) => ({ 7: 'twa', 9: 'twb', 2: 'eth0' })[i],
    open: async (group, onPacket): Promise<NflogReader> => {
      if (busy) throw new Error('NFLOG group 20 is already read by another process');
      const r = { group, closed: false };
      opened.push(r);
      deliver = onPacket;
      return {
        group,
        get lost() {
          return reader.lost;
        },
        close: () => void (r.closed = true),
      };
    },
    count: (p, d) => metrics.countDenied(p, d),
    ...(capacity !== undefined ? { capacity } : {}),
    now: () => new Date('2026-01-01T00:00:00Z'),
  });
  const packet = (prefix: string, indev: number | undefined, outdev: number | undefined, sport = 40001, dport = 9090): NflogPacket => ({
    group: 20,
    family: 2,
    prefix,
    hook: 2,
    indev,
    outdev,
    payload: tcpSyn([10, 65, 0, 1], [10, 65, 0, 2], sport, dport),
  });
  return { denied, lines, metrics, opened, packet, reader, setBusy: (b: boolean) => (busy = b), send: (p: NflogPacket) => deliver!(p) };
}

describe('DeniedPacketLog', () => {
  it('a rule\'s drop: one log line with source, destination, ports, the endpoint from the interface, policy, rule, direction; one count', async () => {
    const t = setup();
    await t.denied.configure({ group: 20, rate: 10, burst: 20 });
    const id = denyLogId({ kind: 'rule', policy: 'np/default/server-in', index: 1, direction: 'ingress' });
    t.send(t.packet(id, 7, 9));
    const logged = t.lines.filter((l) => l.msg === 'policy denied a packet');
    expect(logged.map((l) => l.denied)).toEqual([
      { src: '10.65.0.1', dst: '10.65.0.2', protocol: 'tcp', srcPort: 40001, dstPort: 9090, endpoint: 'default/b', interface: 'twb', policy: 'np/default/server-in', rule: 1, direction: 'ingress', id },
    ]);
    const m = await t.metrics.registry.getSingleMetricAsString('twill_policy_denied_packets_total');
    expect(m).toContain('twill_policy_denied_packets_total{policy="np/default/server-in",direction="ingress"} 1');
    expect(t.denied.recent()).toMatchObject([{ policy: 'np/default/server-in', rule: 1, endpoint: 'default/b', interfaceName: 'twb' }]);
  });

  it('the end of the tier names the endpoint from the id; an unknown id is logged as unknown with the endpoint its interface shows', async () => {
    const t = setup();
    await t.denied.configure({ group: 20, rate: 10, burst: 20 });
    t.send(t.packet(denyLogId({ kind: 'end-of-tier', tier: 'default', interfaceName: 'twb', direction: 'ingress' }), 7, 9));
    t.send(t.packet('twd:000000000000', 7, 2));
    const [tier, unknown] = t.denied.recent();
    expect(tier).toMatchObject({ policy: 'end-of-tier/default', direction: 'ingress', endpoint: 'default/b' });
    expect(unknown).toMatchObject({ policy: 'unknown', endpoint: 'default/a', interfaceName: 'twa' });
    expect(unknown!.direction).toBeUndefined();
    expect(await t.metrics.registry.getSingleMetricAsString('twill_policy_denied_packets_total')).toContain('{policy="unknown",direction="unknown"} 1');
  });

  it('says so, once per overflow, when the kernel could not queue some packets', async () => {
    const t = setup();
    await t.denied.configure({ group: 20, rate: 10, burst: 20 });
    const id = denyLogId({ kind: 'rule', policy: 'np/default/server-in', index: 1, direction: 'ingress' });
    t.reader.lost = 3;
    t.send(t.packet(id, 7, 9));
    t.send(t.packet(id, 7, 9));
    expect(t.lines.filter((l) => l.level === 40).map((l) => l.lost)).toEqual([3]);
  });

  it('keeps the most recent packets up to its capacity, and hands new ones to followers until they abort', async () => {
    const t = setup(3);
    await t.denied.configure({ group: 20, rate: 10, burst: 20 });
    const id = denyLogId({ kind: 'rule', policy: 'np/default/server-in', index: 1, direction: 'ingress' });
    for (let i = 0; i < 5; i++) t.send(t.packet(id, 7, 9, 40000 + i));
    expect(t.denied.recent().map((p) => p.srcPort)).toEqual([40002, 40003, 40004]);
    expect(t.denied.recent(1).map((p) => p.srcPort)).toEqual([40004]);
    const got: NodeDeniedPacket[] = [];
    const abort = new AbortController();
    const done = t.denied.denied({ follow: true, limit: 2 }, (p) => got.push(p), abort.signal);
    t.send(t.packet(id, 7, 9, 40005));
    abort.abort();
    await done;
    t.send(t.packet(id, 7, 9, 40006));
    expect(got.map((p) => p.srcPort)).toEqual([40003, 40004, 40005]);
  });

  it('binds the configured group, moves when it changes, unbinds when logging goes off; a busy group is logged', async () => {
    const t = setup();
    await t.denied.configure(undefined);
    expect(t.opened).toEqual([]);
    await t.denied.configure({ group: 20, rate: 10, burst: 20 });
    await t.denied.configure({ group: 20, rate: 5, burst: 5 });
    expect(t.opened).toEqual([{ group: 20, closed: false }]);
    await t.denied.configure({ group: 21, rate: 5, burst: 5 });
    expect(t.opened).toEqual([{ group: 20, closed: true }, { group: 21, closed: false }]);
    await t.denied.configure(undefined);
    expect(t.opened[1]!.closed).toBe(true);
    t.setBusy(true);
    await t.denied.configure({ group: 20, rate: 10, burst: 20 });
    expect(t.lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual(['cannot read denied packets: the drops still happen, but are not logged']);
    // Once free, the next config change binds it.
    t.setBusy(false);
    await t.denied.configure({ group: 22, rate: 10, burst: 20 });
    expect(t.opened.at(-1)).toEqual({ group: 22, closed: false });
    // close() unbinds and ends every follower's stream (twill-node's API server can then stop at once).
    const following = t.denied.denied({ follow: true }, () => undefined, new AbortController().signal);
    await t.denied.close();
    await following;
    expect(t.opened.at(-1)!.closed).toBe(true);
  });
});
