// What the client subcommands print: tables in the spirit of `gobgp neighbor` and
// `birdc show protocols`, or JSON. Pure functions of the data (and `now`), so tests can pin them.
import type { PeerStatus, RouteView } from '../../server/types.js';
import type { DaemonStatus, WatchEvent } from '../api/convert.js';
import { renderTable } from '../../../src/lib/table.js';

export type OutputFormat = 'table' | 'json';

/** "00:04:12" under a day, "3d04h" above (what `gobgp neighbor` shows). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (d > 0) return `${d}d${two(h)}h`;
  return `${two(h)}:${two(m)}:${two(s % 60)}`;
}

function peerInfo(p: PeerStatus): string {
  const parts: string[] = [];
  if (p.description) parts.push(p.description);
  if (p.state === 'Established') {
    if (p.holdTime !== undefined) parts.push(`hold ${p.holdTime}s`);
    if (p.capabilities) {
      const c = p.capabilities;
      parts.push(c.families.join('+'));
      if (c.gracefulRestart) parts.push('GR');
      const ap = (f: { send: boolean; receive: boolean }): string => (f.send && f.receive ? 'send/receive' : f.send ? 'send' : f.receive ? 'receive' : '');
      const a4 = ap(c.addPath.ipv4);
      const a6 = ap(c.addPath.ipv6);
      if (a4 || a6) parts.push(`ADD-PATH ${a4 === a6 ? a4 : `v4 ${a4 || '-'} v6 ${a6 || '-'}`}`);
    }
    if (p.staleRoutes) parts.push('stale routes kept');
  } else {
    if (p.staleRoutes) parts.push('restarting: stale routes kept');
    if (p.lastError) parts.push(p.lastError);
  }
  if (p.md5) parts.push('MD5');
  if (p.routeReflectorClient) parts.push('RR client');
  return parts.join(', ');
}

export function formatPeers(peers: readonly PeerStatus[], now: Date): string {
  if (peers.length === 0) return 'No neighbours configured.\n';
  const rows = peers.map((p) => [
    p.address,
    String(p.asn),
    p.type === 'ibgp' ? 'iBGP' : 'eBGP',
    p.state,
    formatDuration(now.getTime() - p.since.getTime()),
    `${p.receivedPrefixes}/${p.acceptedPrefixes}/${p.advertisedPrefixes}`,
    peerInfo(p),
  ]);
  return renderTable(['PEER', 'AS', 'TYPE', 'STATE', 'SINCE', 'RCVD/ACPT/ADV', 'INFO'], rows);
}

function bestMark(r: RouteView, table: 'loc' | 'in' | 'out'): string {
  if (table === 'out') return '>';
  const s = r.stale ? 'S' : '';
  if (table === 'in') return s + (r.best ? '*' : ' ');
  return s + (r.best ? '*>' : r.multipath ? '*=' : '*');
}

export function formatRoutes(routes: readonly RouteView[], table: 'loc' | 'in' | 'out', opts: { reasons?: boolean } = {}): string {
  if (routes.length === 0) return 'No routes.\n';
  const reasons = opts.reasons ?? false;
  const headers = ['', 'PREFIX', 'NEXT HOP', 'AS PATH', 'ORIGIN', 'LOCPRF', 'MED', 'COMMUNITIES', 'FROM'];
  if (reasons) headers.push('REASON');
  const rows = routes.map((r) => {
    const row = [
      bestMark(r, table),
      r.prefix,
      r.nextHop,
      r.asPathText || '-',
      r.origin,
      r.localPref === undefined ? '' : String(r.localPref),
      r.med === undefined ? '' : String(r.med),
      [...(r.communities ?? []), ...(r.largeCommunities ?? [])].join(' '),
      r.peer === undefined ? 'local' : r.pathId ? `${r.peer} id ${r.pathId}` : r.peer,
    ];
    if (reasons) row.push(r.reason ?? '');
    return row;
  });
  return renderTable(headers, rows);
}

export function formatStatus(s: DaemonStatus, now: Date): string {
  const lines: [string, string][] = [
    ['Version', s.version],
    ['Router ID', s.routerId],
    ['AS', String(s.asn)],
    ['Listening', s.listen || 'no (outgoing sessions only)'],
    ['Uptime', `${formatDuration(now.getTime() - s.started.getTime())} (since ${s.started.toISOString()}, pid ${s.pid})`],
    ['Neighbours', `${s.peersEstablished} of ${s.peersConfigured} Established`],
    ['Prefixes', `${s.prefixesReceived} received, ${s.prefixesAccepted} accepted, ${s.prefixesAdvertised} advertised, ${s.originated} originated`],
    ['Kernel', s.kernel.install ? `installing: ${s.kernel.routes} routes${s.kernel.error ? ` (last error: ${s.kernel.error})` : ''}` : 'not installing routes'],
  ];
  if (s.configFile) lines.push(['Config', s.configFile]);
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${v}`).join('\n') + '\n';
}

/** One line per event (for `twill-bgp events`). */
export function formatEvent(e: WatchEvent): string {
  const t = e.time.toISOString();
  switch (e.type) {
    case 'peer-state':
      return `${t} peer ${e.peer}: ${e.from} -> ${e.to}${e.reason ? ` (${e.reason})` : ''}\n`;
    case 'notification':
      return `${t} peer ${e.peer}: NOTIFICATION ${e.direction} ${e.code}/${e.subcode}: ${e.message}\n`;
    case 'update-error':
      return `${t} peer ${e.peer}: UPDATE error (${e.handling}, ${e.withdrawn} withdrawn): ${e.message}\n`;
    case 'best-changed':
      return e.changes.map((c) => `${t} best ${c.prefix}: ${c.reachable ? `via ${c.nextHop ?? '?'} from ${c.peer ?? 'local'}` : 'unreachable'}\n`).join('');
    case 'error':
      return `${t} error: ${e.message}\n`;
    case 'end-of-rib':
      return `${t} peer ${e.peer}: End-of-RIB ${e.family}\n`;
    case 'max-prefixes':
      return `${t} peer ${e.peer}: ${e.received} ${e.scope === 'total' ? '' : `${e.scope} `}prefixes over the limit ${e.limit} (${e.action})\n`;
  }
}

/** JSON with dates as ISO strings, two-space indented, newline-terminated. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}
