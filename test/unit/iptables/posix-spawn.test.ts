// posix-spawn.ts: tools run through libc's posix_spawnp (no fork of this process) behave as
// node:child_process runs them — stdin, stdout, stderr, exit codes, signals, PATH lookup, the
// environment, large input — and a tool that is missing is an error, not a hang. No root.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { posixSpawn, posixSpawnAvailable, SpawnError } from '../../../src/iptables/posix-spawn.js';
import { run } from '../../../src/iptables/exec.js';

describe('posixSpawn', () => {
  it('is available on this kernel (pidfd_open) and libc', () => {
    expect(posixSpawnAvailable()).toBe(true);
  });

  it('feeds stdin and returns stdout, stderr and the exit code', async () => {
    expect(await posixSpawn(['cat'], 'hello\nworld\n')).toEqual({ exitCode: 0, stdout: 'hello\nworld\n', stderr: '' });
    expect(await posixSpawn(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    // Nothing on stdin: the tool sees end of input at once.
    expect(await posixSpawn(['wc', '-c'])).toMatchObject({ exitCode: 0, stdout: '0\n' });
  });

  it('passes a megabyte of input through and back', async () => {
    const big = `${'x'.repeat(1023)}\n`.repeat(1024);
    const r = await posixSpawn(['cat'], big);
    expect(r.stdout.length).toBe(big.length);
    expect(r.stdout === big).toBe(true);
  });

  it('reports a signal as no exit code, gives SIGPIPE its default back, and keeps the environment', async () => {
    expect((await posixSpawn(['sh', '-c', 'kill -TERM $$'])).exitCode).toBeUndefined();
    // Node ignores SIGPIPE; a child that writes into a closed pipe must die of it quietly as
    // usual (with SIGPIPE still ignored, yes says "Broken pipe").
    expect(await posixSpawn(['sh', '-c', 'yes | head -c 1 >/dev/null'])).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    process.env.TWILL_SPAWN_TEST = 'a b=c';
    try {
      expect((await posixSpawn(['sh', '-c', 'printf %s "$TWILL_SPAWN_TEST"'])).stdout).toBe('a b=c');
    } finally {
      delete process.env.TWILL_SPAWN_TEST;
    }
  });

  it('a tool that does not exist is a SpawnError (ENOENT) and exec.run names it', async () => {
    await expect(posixSpawn(['twill-no-such-tool'])).rejects.toBeInstanceOf(SpawnError);
    await expect(posixSpawn(['twill-no-such-tool'])).rejects.toMatchObject({ errno: 2 });
    await expect(run({}, ['twill-no-such-tool'])).rejects.toMatchObject({ code: 'NetfilterCommand', hint: 'twill-no-such-tool is not installed or not on PATH' });
  });

  it('leaves no child behind (each one reaped) and no file descriptor open', async () => {
    const fds = (): number => Number(spawnSync('sh', ['-c', `ls /proc/${process.pid}/fd | wc -l`], { encoding: 'utf8' }).stdout.trim());
    await posixSpawn(['true']);
    const before = fds();
    await Promise.all(Array.from({ length: 20 }, () => posixSpawn(['sh', '-c', 'cat; echo x >&2'], 'in')));
    await new Promise((r) => setTimeout(r, 50));
    expect(fds()).toBe(before);
    const children = spawnSync('sh', ['-c', `ps -o stat= --ppid ${process.pid}`], { encoding: 'utf8' }).stdout;
    expect(children).not.toMatch(/Z/);
  });
});
