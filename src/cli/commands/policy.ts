// `twillctl policy explain`: why a packet would pass or be dropped, from the datastore alone, with
// felix's own semantics (felix/explain runs calc for the hosts involved and walks their chains).
// Exit codes here: 0 allow, 1 deny, 2 could not explain (unknown endpoint, bad port, datastore).
import type { Command } from 'commander';
import { endpointSearch, EXPLAIN_KINDS, Explainer, type ExplainedSide, type Explanation, type FlowProtocol } from '../../../felix/explain/index.js';
import type { WorkloadEndpointResource } from '../../api/types.js';
import { errorMessage, TwillError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { CliExit } from '../exit.js';

const PROTOCOLS: Record<string, FlowProtocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp', ICMP: 'icmp', ICMPV6: 'icmpv6' };

function side(title: string, s: ExplainedSide | undefined, party: string): string[] {
  if (!s) return [`${title}: ${party} is outside the cluster (no policy of ours on that side)`];
  const out = [`${title}: ${s.verdict.toUpperCase()} — ${s.reason}`];
  if (s.steps.length === 0) out.push('    (no policy or profile applies)');
  for (const st of s.steps) {
    out.push(`    ${st.what}${st.selector !== undefined ? ` [selector: ${st.selector}]` : ''}: ${st.outcome}`);
    for (const m of st.matched) out.push(`      rule ${m.index} (${m.action}): ${JSON.stringify(m.rule ?? {})}`);
  }
  return out;
}

function format(e: Explanation): string {
  const who = (p: Explanation['from']): string =>
    p.endpoint ? `${p.endpoint.namespace}/${p.endpoint.name} (${p.ip}, node ${p.endpoint.node}, labels ${Object.entries(p.endpoint.labels).map(([k, v]) => `${k}=${v}`).join(',') || 'none'})` : `${p.ip} (outside)`;
  const pkt = `${e.packet.protocol.toUpperCase()}${e.packet.dstPort !== undefined ? ` port ${e.packet.dstPort}` : ''}`;
  return [
    `${e.verdict === 'allow' ? 'ALLOWED' : 'DENIED'}: ${who(e.from)} → ${who(e.to)}, ${pkt}`,
    ...side('  egress of the source', e.egress, e.from.ip),
    ...side('  ingress of the destination', e.ingress, e.to.ip),
    '',
  ].join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('explain policy decisions');
  policy
    .command('explain')
    .description('would a packet pass? The verdict, and the policy and rule (or default) that decided each side')
    .requiredOption('--from <src>', 'NAMESPACE/WORKLOAD, a workload endpoint name, or an IP')
    .requiredOption('--to <dst>', 'NAMESPACE/WORKLOAD, a workload endpoint name, or an IP')
    .option('--port <port>', 'destination port (TCP, UDP, SCTP)')
    .option('--protocol <p>', 'TCP, UDP, SCTP, ICMP or ICMPv6', 'TCP')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (o: { from: string; to: string; port?: string; protocol: string; output: string }) => {
      const protocol = PROTOCOLS[o.protocol.toUpperCase()];
      if (!protocol) throw new CliExit(2, `--protocol ${o.protocol}: use TCP, UDP, SCTP, ICMP or ICMPv6`);
      const port = o.port === undefined ? undefined : Number(o.port);
      if (o.port !== undefined && (!Number.isInteger(port) || port! < 1 || port! > 65535)) throw new CliExit(2, `--port ${o.port} is not a port number (1-65535)`);
      if (o.output !== 'table' && o.output !== 'json') throw new CliExit(2, `-o ${o.output}: use table or json`);
      let e: Explanation;
      try {
        // One question: calc for its two endpoints only, not their whole hosts; of the endpoints
        // only those the question finds are parsed (felix/explain/endpoints.ts).
        const snap = await ctx.readForQuery({ kinds: EXPLAIN_KINDS, lazy: ['WorkloadEndpoint'] });
        const resources = EXPLAIN_KINDS.filter((k) => k !== 'WorkloadEndpoint').flatMap((kind) => snap.list(kind));
        const endpoints = endpointSearch(snap.lazy<WorkloadEndpointResource>('WorkloadEndpoint'));
        e = new Explainer(resources, { scope: 'endpoints', endpoints }).explain({ from: o.from, to: o.to, protocol, ...(port !== undefined ? { port } : {}) });
      } catch (err) {
        // Unknown endpoint, bad input, an unreadable datastore (or endpoint line it needed): exit 2.
        if (err instanceof TwillError) throw new CliExit(2, errorMessage(err));
        throw err;
      }
      ctx.io.stdout(o.output === 'json' ? `${JSON.stringify(e, null, 2)}\n` : format(e));
      ctx.exitCode = e.verdict === 'allow' ? 0 : 1;
    });
}
