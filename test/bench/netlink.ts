// `npm run bench -- netlink [--routes N] [--rounds N]`: installs, dumps and deletes N (100,000)
// /32 routes in a fresh namespace through Twill's netlink layer and through `ip -batch`, in the
// same run, and prints one line per operation:
//   netlink install routes=100000 twill_s=0.41 iproute2_s=0.52 ratio=0.79
// Each figure is the best of --rounds (3) rounds, each round in fresh namespaces. Needs root.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNetlink, RTPROT_TWILL, type NetlinkHandle, type NetlinkOp, type Route } from '../../src/netlink/index.js';

type Op = 'install' | 'dump' | 'delete';

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i === -1) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive integer`);
  return v;
}

function dst(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Wall time of a child process, its output thrown away (as a user would redirect it). */
function timeIp(args: string[]): number {
  const devnull = openSync('/dev/null', 'w');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('ip', args, { stdio: ['ignore', devnull, 'pipe'] });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`ip ${args.slice(0, 4).join(' ')} ... failed: ${r.stderr?.toString().trim()}`);
    return s;
  } finally {
    closeSync(devnull);
  }
}

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** A namespace with an up veth pair bench0/bench1; returns an open handle and bench0's index. */
async function prepare(ns: string): Promise<{ h: NetlinkHandle; ifindex: number }> {
  ip(['netns', 'add', ns]);
  const h = await openNetlink({ name: ns });
  await h.vethAdd({ name: 'bench0', peerName: 'bench1' });
  await h.linkSetUp('bench0', true);
  await h.linkSetUp('bench1', true);
  return { h, ifindex: (await h.linkGet('bench0'))!.index };
}

async function countRoutes(h: NetlinkHandle): Promise<number> {
  return (await h.routeList({ family: 4, protocol: RTPROT_TWILL })).length;
}

export default async function bench(args: string[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the netlink benchmark needs root (it creates network namespaces)');
  const n = arg(args, '--routes', 100_000);
  const rounds = arg(args, '--rounds', 3);
  const dir = mkdtempSync(join(tmpdir(), 'twill-bench-'));
  const tag = `twb${process.pid}`;
  const best: Record<Op, { twill: number; iproute2: number }> = {
    install: { twill: Infinity, iproute2: Infinity },
    dump: { twill: Infinity, iproute2: Infinity },
    delete: { twill: Infinity, iproute2: Infinity },
  };
  const made: string[] = [];
  try {
    const addFile = join(dir, 'add.batch');
    const delFile = join(dir, 'del.batch');
    const addLines: string[] = [];
    const delLines: string[] = [];
    for (let i = 0; i < n; i++) {
      addLines.push(`route add ${dst(i)} dev bench0 proto ${RTPROT_TWILL}`);
      delLines.push(`route del ${dst(i)} dev bench0 proto ${RTPROT_TWILL}`);
    }
    writeFileSync(addFile, addLines.join('\n') + '\n');
    writeFileSync(delFile, delLines.join('\n') + '\n');

    for (let round = 0; round < rounds; round++) {
      const nsT = `${tag}-t${round}`;
      const nsI = `${tag}-i${round}`;
      made.push(nsT, nsI);
      const t = await prepare(nsT);
      const i = await prepare(nsI);
      try {
        const routes: Route[] = new Array<Route>(n);
        for (let k = 0; k < n; k++) routes[k] = { family: 4, dst: dst(k), ifindex: t.ifindex, protocol: RTPROT_TWILL };
        const adds: NetlinkOp[] = routes.map((route) => ({ op: 'routeAdd', route }));
        const dels: NetlinkOp[] = routes.map((route) => ({ op: 'routeDel', route }));

        let failed = 0;
        const tInstall = await timeIt(async () => {
          for (const r of await t.h.batch(adds)) if (!r.ok) failed++;
        });
        if (failed) throw new Error(`twill: ${failed} route installs failed`);
        const iInstall = timeIp(['-n', nsI, '-batch', addFile]);
        if ((await countRoutes(i.h)) !== n) throw new Error('iproute2 did not install every route');

        let dumped = 0;
        const tDump = await timeIt(async () => {
          dumped = (await t.h.routeList({ family: 4, protocol: RTPROT_TWILL })).length;
        });
        if (dumped !== n) throw new Error(`twill dumped ${dumped} routes, expected ${n}`);
        const iDump = timeIp(['-n', nsI, '-4', 'route', 'show', 'table', 'main', 'proto', String(RTPROT_TWILL)]);

        const tDelete = await timeIt(async () => {
          for (const r of await t.h.batch(dels)) if (!r.ok) failed++;
        });
        if (failed) throw new Error(`twill: ${failed} route deletes failed`);
        const iDelete = timeIp(['-n', nsI, '-batch', delFile]);
        if ((await countRoutes(t.h)) !== 0 || (await countRoutes(i.h)) !== 0) throw new Error('routes left after delete');

        const upd = (op: Op, tw: number, ir: number): void => {
          best[op].twill = Math.min(best[op].twill, tw);
          best[op].iproute2 = Math.min(best[op].iproute2, ir);
        };
        upd('install', tInstall, iInstall);
        upd('dump', tDump, iDump);
        upd('delete', tDelete, iDelete);
      } finally {
        t.h.close();
        i.h.close();
        spawnSync('ip', ['netns', 'del', nsT], { stdio: 'ignore' });
        spawnSync('ip', ['netns', 'del', nsI], { stdio: 'ignore' });
      }
    }
    for (const op of ['install', 'dump', 'delete'] as const) {
      const { twill, iproute2 } = best[op];
      process.stdout.write(
        `netlink ${op} routes=${n} twill_s=${twill.toFixed(2)} iproute2_s=${iproute2.toFixed(2)} ratio=${(twill / iproute2).toFixed(2)}\n`,
      );
    }
  } finally {
    for (const ns of made) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}
