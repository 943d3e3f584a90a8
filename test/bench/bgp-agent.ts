// `npm run bench -- bgp-agent [--nodes 1000,5000] [--runs 50]`
//
// The cost of one BgpAgentInputs.build() (datastore objects → SpeakerConfig) for a cluster of N
// nodes in a full mesh, each with one full /26 block (every 7th address borrowed by the next
// node), a ToR BGPPeer for a tenth of the nodes and a peerSelector BGPPeer. twill-node rebuilds
// after each batch of datastore changes (a new pod changes a block), so this is the latency the
// agent adds to every change:
//
//   bgp-agent nodes=1000 neighbours=999 originated=2 build_ms_p50=6.1 build_ms_p99=9.8

import { API_VERSION, type Resource } from '../../src/api/types.js';
import { parseCidr } from '../../src/api/cidr.js';
import type { SyncEvent } from '../../src/datastore/syncer.js';
import { allocateOrdinals, newBlockSpec } from '../../ipam/block.js';
import { blockName } from '../../ipam/names.js';
import { BgpAgentInputs } from '../../bgp/agent/index.js';

function cluster(n: number): SyncEvent[] {
  const out: Resource[] = [];
  for (let i = 0; i < n; i++) {
    const name = `node-${i}`;
    out.push({
      apiVersion: API_VERSION,
      kind: 'Node',
      metadata: { name, labels: { rack: `r${i % 10}`, ...(i < 2 ? { rr: 'true' } : {}) } },
      spec: { bgp: { ipv4Address: `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/12` } },
    });
    const cidr = `10.${200 + (i >> 10)}.${(i >> 2) & 255}.${(i & 3) * 64}/26`;
    const spec = newBlockSpec(parseCidr(cidr), `host:${name}`, false);
    for (let o = 0; o < 64; o++) allocateOrdinals(spec, 1, `k8s.${name}.${o}`, { node: o % 7 === 0 ? `node-${(i + 1) % n}` : name });
    out.push({ apiVersion: API_VERSION, kind: 'IPAMBlock', metadata: { name: blockName(cidr) }, spec });
  }
  out.push({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'default' }, spec: { cidr: '10.200.0.0/12' } });
  out.push({ apiVersion: API_VERSION, kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { nodeSelector: 'rack == "r1"', peerIP: '198.18.0.1', asNumber: 65000 } });
  out.push({ apiVersion: API_VERSION, kind: 'BGPPeer', metadata: { name: 'rrs' }, spec: { peerSelector: 'has(rr)' } });
  return out.map((resource) => ({ type: 'set', resource }));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export default async function bench(argv: string[]): Promise<void> {
  let sizes = [1000, 5000];
  let runs = 50;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nodes' && argv[i + 1]) sizes = argv[++i]!.split(',').map(Number).filter((x) => Number.isInteger(x) && x > 1);
    else if (argv[i] === '--runs' && argv[i + 1]) runs = Math.max(5, Number(argv[++i]));
  }
  for (const n of sizes) {
    const inputs = new BgpAgentInputs();
    inputs.apply(cluster(n));
    const me = 'node-11';
    for (let i = 0; i < 5; i++) inputs.build(me); // warm up
    const ms: number[] = [];
    let last = inputs.build(me);
    for (let i = 0; i < runs; i++) {
      const t = process.hrtime.bigint();
      last = inputs.build(me);
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ms.sort((a, b) => a - b);
    process.stdout.write(
      `bgp-agent nodes=${n} neighbours=${last.config?.neighbors.length ?? 0} originated=${last.config?.originate?.length ?? 0} ` +
        `problems=${last.problems.length} build_ms_p50=${quantile(ms, 0.5).toFixed(1)} build_ms_p99=${quantile(ms, 0.99).toFixed(1)}\n`,
    );
  }
}
