#!/usr/bin/env node
// The lab's prober, run inside a workload's (or an outside client's) namespace by `verify`:
// reads {targets: [{ip, port, protocol}], timeoutMs} on stdin, tries every target at once — a TCP
// connection whose greeting is read, or a UDP datagram and its answer — and prints one JSON result
// per target, in order. Loads nothing but Node's own modules.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

export interface ProbeTarget {
  ip: string;
  port: number;
  protocol: 'TCP' | 'UDP';
}

export interface ProbeResult extends ProbeTarget {
  /** What the server answered (its workload's name), when it answered. */
  answer?: string;
  error?: string;
}

export function probeTcp(t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const finish = (r: Partial<ProbeResult>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...t, ...r });
    };
    const sock = connect({ host: t.ip, port: t.port });
    const timer = setTimeout(() => finish(data ? { answer: data.trim() } : { error: 'timed out' }), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      data += d;
      if (data.includes('\n')) finish({ answer: data.trim() });
    });
    sock.on('end', () => finish(data ? { answer: data.trim() } : { error: 'closed without an answer' }));
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code ?? e.message }));
  });
}

export function probeUdp(t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = createSocket(t.ip.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const finish = (r: Partial<ProbeResult>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve({ ...t, ...r });
    };
    const timer = setTimeout(() => finish({ error: 'no answer' }), timeoutMs);
    sock.on('message', (m) => finish({ answer: m.toString('utf8').trim() }));
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code ?? e.message }));
    sock.send('probe\n', t.port, t.ip);
  });
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { targets: ProbeTarget[]; timeoutMs?: number };
  const timeoutMs = req.timeoutMs ?? 1500;
  const results = await Promise.all(req.targets.map((t) => (t.protocol === 'UDP' ? probeUdp(t, timeoutMs) : probeTcp(t, timeoutMs))));
  process.stdout.write(JSON.stringify(results));
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
