// `twillctl node status [--node NAME] [--api-socket PATH] [-o table|json]`
// `twillctl node routes [--node NAME] [--api-socket PATH] [--learned|--advertised] [--family 4|6]
//                       [--prefix P] [--peer ADDR] [--limit N] [-o table|json]`
// `twillctl node denied [--node NAME] [--api-socket PATH] [--follow] [--limit N] [-o table|json]`
// All ask the running twill-node over its local API (src/nodeapi), not the datastore. With no
// agent answering they say which socket they tried and exit 1.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { defaultApiSocket, defaultNodeName } from '../../nodeapi/defaults.js';
import type { NodeDeniedPacket, NodePeerRow, NodePeerState, NodeRouteQuery, NodeRouteRow, NodeStatusReport } from '../../nodeapi/types.js';
import type { CliContext } from '../context.js';
import { renderTable } from '../../lib/table.js';

interface Target {
  node?: string;
  apiSocket?: string;
}

function socketOf(o: Target): string {
  return o.apiSocket ?? defaultApiSocket(o.node ?? defaultNodeName());
}

async function withClient<T>(o: Target, fn: (c: import('../../nodeapi/client.js').NodeApiClient) => Promise<T>): Promise<T> {
  // gRPC loads only for the commands that talk to an agent.
  const { NodeApiClient } = await import('../../nodeapi/client.js');
  const c = new NodeApiClient(socketOf(o));
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

const two = (n: number): string => String(n).padStart(2, '0');

/** Calico's SINCE: the time of day when it is today, else the date (local time). */
export function formatSince(d: Date, now: Date): string {
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}` : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/** Calico's STATE column: up (Established), start (connecting), down (Idle); INFO has the FSM state. */
export function calicoState(s: NodePeerState): 'up' | 'start' | 'down' {
  if (s === 'Established') return 'up';
  return s === 'Idle' ? 'down' : 'start';
}

function policyLine(s: NodeStatusReport): string {
  const p = s.policy;
  const parts = [p.inSync ? 'in sync with the datastore' : 'NOT in sync with the datastore yet', `${p.programmedEndpoints} of ${p.localEndpoints} local endpoints programmed`];
  if (p.failing.length > 0) {
    parts.push(`${p.failing.length} kernel write(s) failing: ${p.failing.map((f) => `${f.key} (${f.attempts} attempts: ${f.error})`).join('; ')}`);
  }
  const why = !p.ready && p.reasons.length > 0 ? `: ${p.reasons.join('; ')}` : '';
  return `Policy: ${p.ready ? 'ready' : `NOT ready${why}`} (${parts.join('; ')}).\n`;
}

export function renderNodeStatus(s: NodeStatusReport, peers: readonly NodePeerRow[], now = new Date()): string {
  const addrs = [s.ipv4Address && `IPv4 ${s.ipv4Address}`, s.ipv6Address && `IPv6 ${s.ipv6Address}`].filter(Boolean).join(', ');
  let out = `twill-node is running on node ${s.nodeName} (version ${s.version}${addrs ? `, ${addrs}` : ''}).\n`;
  out += policyLine(s);
  out += s.bgp ? `BGP: AS ${s.bgp.asn}, router id ${s.bgp.routerId}.\n` : 'BGP: the speaker is not running.\n';
  for (const family of [4, 6] as const) {
    const rows = peers.filter((p) => p.peerAddress.includes(':') === (family === 6));
    out += `\nIPv${family} BGP status\n`;
    if (rows.length === 0) {
      out += `No IPv${family} peers found.\n`;
      continue;
    }
    out += renderTable(
      ['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'],
      rows.map((p) => [p.peerAddress, p.peerType, calicoState(p.state), formatSince(p.since, now), p.info]),
    );
  }
  return out;
}

export function renderNodeRoutes(rows: readonly NodeRouteRow[]): string {
  if (rows.length === 0) return 'No routes.\n';
  return renderTable(
    ['DIRECTION', 'PREFIX', 'NEXT HOP', 'PEER', 'AS PATH', 'BEST', 'REASON'],
    // A Loc-RIB path without a peer is this node's own: say "originated", not "learned".
    rows.map((r) => [r.direction === 'learned' && r.peer === undefined ? 'originated' : r.direction, r.prefix, r.nextHop, r.peer ?? '(local)', r.asPath || '(empty)', r.best ? 'yes' : 'no', r.reason ?? '']),
  );
}

const DENIED_HEADER = ['TIME', 'DIRECTION', 'ENDPOINT', 'SOURCE', 'DESTINATION', 'PROTOCOL', 'POLICY', 'RULE'];

function hostPort(addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function deniedCells(p: NodeDeniedPacket): string[] {
  return [
    p.time.toISOString(),
    p.direction ?? '?',
    p.endpoint ?? p.interfaceName ?? '?',
    hostPort(p.src, p.srcPort),
    hostPort(p.dst, p.dstPort),
    p.protocol,
    p.policy,
    p.rule !== undefined ? String(p.rule) : '-',
  ];
}

/** The recent denied packets as a table. */
export function renderDenied(rows: readonly NodeDeniedPacket[]): string {
  if (rows.length === 0) return 'No denied packets logged (is FelixConfiguration logDeniedPackets true?).\n';
  return renderTable(DENIED_HEADER, rows.map(deniedCells));
}

/** One followed packet: the table's columns, space separated. */
export function renderDeniedLine(p: NodeDeniedPacket): string {
  return deniedCells(p).join('  ') + '\n';
}

function targetOptions(cmd: Command): Command {
  return cmd
    .option('--node <name>', 'the node whose agent to ask (default: this host\'s name); its socket is /run/twill/<name>.sock')
    .option('--api-socket <path>', 'the agent\'s socket (overrides --node)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'));
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${v} is not a whole number >= 0`);
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  const node = program.command('node').description('ask the twill-node agent on a host: BGP sessions, readiness, routes');
  targetOptions(node.command('status').description('the agent\'s readiness and its BGP sessions (Calico\'s table)')).action(
    async (o: Target & { output: 'table' | 'json' }) => {
      const [status, peers] = await withClient(o, async (c) => [await c.status(), await c.peers()] as const);
      ctx.io.stdout(o.output === 'json' ? JSON.stringify({ status, peers }, null, 2) + '\n' : renderNodeStatus(status, peers));
    },
  );
  targetOptions(node.command('routes').description('routes learned and advertised, with the reason each best path won'))
    .option('--learned', 'only routes learned from peers (and originated here)')
    .option('--advertised', 'only routes advertised to peers')
    .addOption(new Option('--family <n>', 'only IPv4 or IPv6').choices(['4', '6']))
    .option('--prefix <cidr>', 'only this prefix')
    .option('--peer <addr>', 'only routes from / to this peer')
    .option('--limit <n>', 'at most this many routes (0 = all)', positiveInt, 1000)
    .action(async (o: Target & { output: 'table' | 'json'; learned?: boolean; advertised?: boolean; family?: '4' | '6'; prefix?: string; peer?: string; limit: number }) => {
      const q: NodeRouteQuery = { limit: o.limit };
      if (o.learned && !o.advertised) q.direction = 'learned';
      if (o.advertised && !o.learned) q.direction = 'advertised';
      if (o.family) q.family = o.family === '6' ? 6 : 4;
      if (o.prefix) q.prefix = o.prefix;
      if (o.peer) q.peer = o.peer;
      const rows = await withClient(o, (c) => c.routes(q));
      ctx.io.stdout(o.output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : renderNodeRoutes(rows));
    });
  targetOptions(node.command('denied').description('packets policy denied, with the policy and rule that did (needs FelixConfiguration logDeniedPackets)'))
    .option('-f, --follow', 'after the recent ones, print each new one as it is denied (one line each; JSON lines with -o json) until interrupted')
    .option('--limit <n>', 'how many recent ones first (0 = every one the node keeps, up to 1000)', positiveInt, 100)
    .action(async (o: Target & { output: 'table' | 'json'; follow?: boolean; limit: number }) => {
      const json = o.output === 'json';
      if (!o.follow) {
        const rows: NodeDeniedPacket[] = [];
        await withClient(o, (c) => c.denied({ limit: o.limit }, (p) => rows.push(p)));
        ctx.io.stdout(json ? JSON.stringify(rows, null, 2) + '\n' : renderDenied(rows));
        return;
      }
      if (!json) ctx.io.stdout(DENIED_HEADER.join('  ') + '\n');
      await withClient(o, (c) => c.denied({ limit: o.limit, follow: true }, (p) => ctx.io.stdout(json ? JSON.stringify(p) + '\n' : renderDeniedLine(p))));
    });
}
