// Live TCP traffic from inside a namespace, counted, for fault tests: an echo server, and a stream
// of long-lived connections (a line every 100 ms each, every line must come back) plus a new short
// connection every 200 ms (connect, one line echoed, close; one whose SYN needed a retransmission,
// i.e. took over 900 ms, counts as failed). Both are separate processes, so a test blocked in a
// synchronous call does not stall them.
import { spawn } from 'node:child_process';
import { spawnIn, type Proc } from './bgp-peers.js';

/** `socat TCP-LISTEN:PORT,fork PIPE` in namespace ns: echoes every connection; stop() kills its forks too. */
export function startEchoServer(ns: string, port: number): { stop(): void } {
  const child = spawn('ip', ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},reuseaddr,fork`, 'PIPE'], { stdio: 'ignore', detached: true });
  return {
    stop(): void {
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    },
  };
}

export interface TcpCounts {
  /** Long-lived connections opened, and those that broke (error or close) before the end. */
  longOpened: number;
  longBroken: number;
  /** Lines sent on the long-lived connections, and lines echoed back by the end. */
  sent: number;
  echoed: number;
  /** Short connections that completed (connected, echoed), and those that failed or were slow to connect. */
  shortOk: number;
  shortFailed: number;
  errors: string[];
}

const STREAM = `
const net = require('node:net');
const [host, port, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const c = { longOpened: 0, longBroken: 0, sent: 0, echoed: 0, shortOk: 0, shortFailed: 0, errors: [] };
let stopping = false;
const err = (w, e) => { if (c.errors.length < 20) c.errors.push(w + ': ' + (e && e.code || e)); };
const long = [];
for (let i = 0; i < n; i++) {
  const s = net.connect({ host, port });
  s.setNoDelay(true);
  s.on('connect', () => c.longOpened++);
  s.on('data', (d) => { for (const ch of d.toString()) if (ch === '\\n') c.echoed++; });
  s.on('error', (e) => err('long', e));
  s.on('close', () => { if (!stopping) c.longBroken++; });
  long.push(s);
}
const tick = setInterval(() => { for (const s of long) if (s.readyState === 'open') { s.write('x\\n'); c.sent++; } }, 100);
const shortTick = setInterval(() => {
  const t0 = Date.now();
  let done = false;
  const s = net.connect({ host, port });
  const fail = (why) => { if (!done) { done = true; c.shortFailed++; err('short', why); } s.destroy(); };
  const timer = setTimeout(() => fail('no echo within 3 s'), 3000);
  s.on('connect', () => { if (Date.now() - t0 > 900) fail('connect took ' + (Date.now() - t0) + ' ms (SYN retransmitted)'); else s.write('y\\n'); });
  s.on('data', () => { if (!done) { done = true; c.shortOk++; clearTimeout(timer); } s.destroy(); });
  s.on('error', (e) => { clearTimeout(timer); fail(e); });
}, 200);
process.on('SIGTERM', () => {
  clearInterval(tick); clearInterval(shortTick);
  setTimeout(() => { stopping = true; for (const s of long) s.destroy(); process.stdout.write(JSON.stringify(c) + '\\n'); process.exit(0); }, 1500);
});
`;

/** Starts the counted stream from namespace ns to host:port (an echo server); finish() stops it and returns the counts. */
export function startTcpStream(ns: string, host: string, port: number, longLived = 3): { proc: Proc; finish(): Promise<TcpCounts> } {
  const proc = spawnIn(ns, `tcp ${host}:${port}`, [process.execPath, '-e', STREAM, host, String(port), String(longLived)]);
  return {
    proc,
    async finish(): Promise<TcpCounts> {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await proc.exited;
      clearTimeout(t);
      const line = proc.output().trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(line) as TcpCounts;
      } catch {
        throw new Error(`the TCP stream from ${ns} to ${host}:${port} printed no counts: ${proc.output().slice(-500)}`);
      }
    },
  };
}
