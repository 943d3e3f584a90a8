// `npm run bench -- spawn [--n 100] [--heap-mb 130]` (no root): how long starting one tool costs
// the calling process, with Node's child_process.spawn (fork + exec) and with libc's posix_spawnp
// (src/iptables/posix-spawn.ts, what the dataplane uses), from a process holding --heap-mb of
// touched memory as twill-node does (~130 MB resident). Each call runs /bin/true with its pipes
// and waits for its exit. Prints
//   spawn heap_mb=… node_ms=… node_cpu_ms=… posix_ms=… posix_cpu_ms=… ratio=…
// wall ms per call (mean) and this process's CPU per call (user + system).
import { spawn } from 'node:child_process';
import { posixSpawn, posixSpawnAvailable } from '../../src/iptables/posix-spawn.js';
import { parseCounts } from './stats.js';

const DEFAULTS = { n: 100, 'heap-mb': 130 };

function nodeSpawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('/bin/true', [], { stdio: ['pipe', 'pipe', 'pipe'] });
    p.on('error', reject);
    p.on('close', () => resolve());
    p.stdin.end();
  });
}

async function measure(n: number, one: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  for (let i = 0; i < 5; i++) await one();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await one();
  const c = process.cpuUsage(c0);
  return { ms: (performance.now() - t0) / n, cpuMs: (c.user + c.system) / 1000 / n };
}

export default async function spawnBench(argv: string[]): Promise<void> {
  const a = parseCounts(argv, DEFAULTS);
  if (!posixSpawnAvailable()) throw new Error('posix_spawn / pidfd_open is not available here');
  // Touched memory, as a long-running agent has: fork copies its page tables and marks it copy-on-write.
  const heap: Buffer[] = [];
  for (let i = 0; i < a['heap-mb']; i++) heap.push(Buffer.alloc(1024 * 1024, i & 0xff));
  const viaNode = await measure(a.n, nodeSpawn);
  const viaPosix = await measure(a.n, () => posixSpawn(['/bin/true']));
  const f = (x: number): string => x.toFixed(2);
  process.stdout.write(
    `spawn heap_mb=${a['heap-mb']} rss_mb=${(process.memoryUsage().rss / 1e6).toFixed(0)} n=${a.n} node_ms=${f(viaNode.ms)} node_cpu_ms=${f(viaNode.cpuMs)} ` +
      `posix_ms=${f(viaPosix.ms)} posix_cpu_ms=${f(viaPosix.cpuMs)} ratio=${(viaNode.ms / viaPosix.ms).toFixed(1)}\n`,
  );
  heap.length = 0;
}
