// `twill-lab status`: what the lab is made of and how it is doing, from its state and each
// node's local API. The JSON form is for scripts and tests.
import { join } from 'node:path';
import { isAlive } from './procs.js';
import { hostReadiness } from './readiness.js';
import { nodeSessions, type SessionRow } from './sessions.js';
import { loadState, LabStateError } from './state.js';
import { torProcName, torSessions, type TorSession } from './tor.js';

export interface LabStatus {
  name: string;
  dir: string;
  ready: boolean;
  /** etcd URL usable with `twillctl --datastore` from the machine's own namespace. */
  datastore: string | undefined;
  hosts: {
    name: string;
    netns: string;
    address: string;
    rack: string;
    agent: 'running' | 'stopped';
    apiSocket: string;
    sessions: SessionRow[];
    /** The agent's /readiness: ready, or why not (e.g. the datastore is unreachable). */
    ready: boolean;
    reasons: string[];
  }[];
  tors: { rack: string; netns: string; address: string; asn: number; router: 'bird' | 'frr'; daemon: 'running' | 'stopped'; sessions: TorSession[] }[];
  outside: { name: string; netns: string; address: string }[];
  workloads: { name: string; namespace: string; host: string; netns: string; ips: string[]; labels: Record<string, string>; ports: { name?: string; port: number; protocol: string }[] }[];
}

export async function labStatus(name: string): Promise<LabStatus> {
  const s = loadState(name);
  if (!s) throw new LabStateError(`no lab named ${name}`, 'start one with "twill-lab up"');
  const running = (role: string, n: string): boolean => s.procs.some((p) => p.role === role && p.name === n && isAlive(p));
  return {
    name: s.name,
    dir: s.dir,
    ready: s.ready,
    datastore: s.datastore,
    hosts: await Promise.all(
      s.plan.hosts.map(async (h) => {
        const apiSocket = join(s.dir, `${h.name}.sock`);
        const up = running('node', h.name);
        const [sessions, r] = up ? await Promise.all([nodeSessions(apiSocket), hostReadiness(h.ns)]) : [undefined, { ready: false, reasons: ['twill-node is not running'] }];
        return { name: h.name, netns: h.ns, address: h.addr, rack: h.rack, agent: up ? 'running' : 'stopped', apiSocket, sessions: sessions?.peers ?? [], ready: r.ready, reasons: r.reasons } as const;
      }),
    ),
    tors: await Promise.all(
      s.plan.tors.map(async (t) => {
        const up = running('tor', torProcName(t));
        return { rack: t.rack, netns: t.ns, address: t.addr, asn: t.asn, router: t.daemon, daemon: up ? 'running' : 'stopped', sessions: up ? (await torSessions(t, s.dir)).sessions : [] } as const;
      }),
    ),
    outside: s.plan.outside.map((o) => ({ name: o.name, netns: o.ns, address: o.addr })),
    workloads: s.plan.workloads.map((w) => {
      const ws = s.workloads.find((x) => x.id === w.id);
      return {
        name: w.name,
        namespace: w.namespace,
        host: w.host,
        netns: w.ns,
        ips: ws?.ips ?? [],
        labels: w.labels,
        ports: w.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })),
      };
    }),
  };
}

export function formatStatus(st: LabStatus): string {
  const out: string[] = [];
  out.push(`lab ${st.name}${st.ready ? '' : ' (not ready)'} — datastore ${st.datastore ?? '-'} — ${st.dir}`);
  out.push('');
  out.push('HOST        NETNS                 ADDRESS          AGENT     SESSIONS           READY');
  for (const h of st.hosts) {
    const est = h.sessions.filter((x) => x.state === 'Established').length;
    const ready = h.ready ? 'yes' : `no: ${h.reasons.join('; ').split('\n')[0]}`;
    out.push(`${h.name.padEnd(12)}${h.netns.padEnd(22)}${h.address.padEnd(17)}${h.agent.padEnd(10)}${`${est}/${h.sessions.length} Established`.padEnd(19)}${ready}`);
  }
  for (const t of st.tors) {
    const est = t.sessions.filter((x) => x.state === 'Established').length;
    out.push(`${`tor-${t.rack}`.padEnd(12)}${t.netns.padEnd(22)}${t.address.padEnd(17)}${t.daemon.padEnd(10)}${est}/${t.sessions.length} Established (${t.router === 'frr' ? 'FRR' : 'BIRD'}, AS ${t.asn})`);
    for (const x of t.sessions.filter((y) => y.state !== 'Established')) out.push(`${''.padEnd(12)}  ${x.peer} ${x.peerAddress}: ${x.state}${x.info ? ` (${x.info})` : ''}`);
  }
  for (const o of st.outside) out.push(`${o.name.padEnd(12)}${o.netns.padEnd(22)}${o.address.padEnd(17)}outside`);
  out.push('');
  out.push('WORKLOAD              HOST   IPS              PORTS                LABELS');
  for (const w of st.workloads) {
    const ports = w.ports.map((p) => `${p.protocol}/${p.port}`).join(',');
    const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',');
    out.push(`${`${w.namespace}/${w.name}`.padEnd(22)}${w.host.padEnd(7)}${w.ips.join(',').padEnd(17)}${ports.padEnd(21)}${labels}`);
  }
  return `${out.join('\n')}\n`;
}
