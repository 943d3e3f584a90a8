// The per-member health etcd calls go through: a member that could not be reached is skipped for
// HOST_DOWN_MS while another may answer, tried again after, and never skipped when all are down.
import { describe, expect, it } from 'vitest';
import { HOST_DOWN_MS, HostHealth, HostSkippedError } from '../../../src/datastore/etcd/host-health.js';

class Unreachable extends Error {}
const hosts = ['https://a:1', 'https://b:1', 'https://c:1'];

function setup(): { health: HostHealth; clock: { t: number }; calls: string[]; run: (h: string, fail?: Error) => Promise<string> } {
  const clock = { t: 1000 };
  const health = new HostHealth((e) => e instanceof Unreachable, () => clock.t);
  const calls: string[] = [];
  const run = (h: string, fail?: Error): Promise<string> =>
    health.policy(h, hosts).execute(() => {
      calls.push(h);
      if (fail) throw fail;
      return h;
    });
  return { health, clock, calls, run };
}

describe('etcd host health', () => {
  it('skips a member that could not be reached, without calling it, until HOST_DOWN_MS has passed', async () => {
    const { clock, calls, run } = setup();
    await expect(run('https://a:1', new Unreachable('refused'))).rejects.toBeInstanceOf(Unreachable);
    await expect(run('https://a:1')).rejects.toBeInstanceOf(HostSkippedError);
    expect(calls).toEqual(['https://a:1']);
    expect(await run('https://b:1')).toBe('https://b:1');
    clock.t += HOST_DOWN_MS;
    expect(await run('https://a:1')).toBe('https://a:1');
    expect(calls).toEqual(['https://a:1', 'https://b:1', 'https://a:1']);
  });

  it('a refusal by etcd (not a connection failure) does not mark the member down', async () => {
    const { run, health } = setup();
    await expect(run('https://a:1', new Error('etcdserver: mvcc: required revision has been compacted'))).rejects.toThrow(/compacted/);
    expect(health.isDown('https://a:1')).toBe(false);
  });

  it('when every member is down, every one is tried (a lone restarted etcd is used at once)', async () => {
    const { run, calls } = setup();
    for (const h of hosts) await expect(run(h, new Unreachable('refused'))).rejects.toBeInstanceOf(Unreachable);
    expect(await run('https://c:1')).toBe('https://c:1');
    expect(calls).toEqual([...hosts, 'https://c:1']);
    // c answered: a and b are skipped again while it is up.
    await expect(run('https://a:1')).rejects.toBeInstanceOf(HostSkippedError);
  });
});
