// TCP MD5 (RFC 2385) and GTSM (RFC 5082) on the speaker's own sockets: two speakers on loopback
// addresses, with matching and mismatching passwords, and ttlSecurity on both sides.
import { afterEach, describe, expect, it } from 'vitest';
import { missing } from '../../support/env.js';
import { established, node, state, until, type Node } from '../../unit/bgp/server/helpers.js';

const skip = missing({ root: true });
const running: Node[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((n) => n.speaker.stop()));
});

async function pair(base: string, pwA: string | undefined, pwB: string | undefined, extra: { ttlSecurity?: number } = {}): Promise<[Node, Node]> {
  const policy = { default: 'accept' as const, rules: [] };
  const A = `${base}.1`;
  const B = `${base}.2`;
  // b only listens (its listener keyed from the start); a connects (its SYN signed).
  const b = await node(B, 65002, {
    neighbors: [{ address: A, asn: 65001, passive: true, localAddress: B, importPolicy: policy, exportPolicy: policy, ...(pwB ? { password: pwB } : {}), ...extra }],
  });
  running.push(b);
  const a = await node(A, 65001, {
    neighbors: [{ address: B, asn: 65002, port: b.speaker.port!, localAddress: A, importPolicy: policy, exportPolicy: policy, ...(pwA ? { password: pwA } : {}), ...extra }],
  });
  running.push(a);
  return [a, b];
}

describe.skipIf(skip)('TCP MD5 and GTSM on the speaker', () => {
  it('comes up with the same password on both sides, and shows md5 in the neighbour status', async () => {
    const [a, b] = await pair('127.0.50', 's3cret', 's3cret');
    await established(a, b);
    expect(a.speaker.listPeers()[0]!.md5).toBe(true);
  });

  it('stays down with a wrong password, and says why', async () => {
    const [a, b] = await pair('127.0.51', 's3cret', 'other');
    await new Promise((r) => setTimeout(r, 2500));
    expect(state(a, b.address)).not.toBe('Established');
    expect(state(b, a.address)).not.toBe('Established');
    const err = await until(() => a.speaker.listPeers()[0]!.lastError, 'lastError', 8000);
    expect(err).toMatch(/MD5 password|not established within/);
  });

  it('stays down when only one side has a password', async () => {
    const [a, b] = await pair('127.0.52', undefined, 's3cret');
    await new Promise((r) => setTimeout(r, 2000));
    expect(state(a, b.address)).not.toBe('Established');
  });

  it('GTSM: a directly connected peer (TTL 255) comes up with ttlSecurity on both sides', async () => {
    const [a, b] = await pair('127.0.53', undefined, undefined, { ttlSecurity: 1 });
    await established(a, b);
  });
});
