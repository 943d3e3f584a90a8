// `twillctl verify [--node NAME | --api-socket PATH | --all [--api-socket-dir DIR]] [-o table|json]`
// Asks each node's agent (its local API, src/nodeapi Verify) to read its kernel afresh and compare
// it with its desired state; prints every difference (kind, object, expected, actual). Exit 0 and
// "no differences" when the kernel is as desired, 1 on any difference, 3 when an agent does not
// answer (the others are still checked and printed).
import { Option, type Command } from 'commander';
import { API_SOCKET_DIR, defaultApiSocket, defaultNodeName } from '../../nodeapi/defaults.js';
import type { NodeVerifyReport, VerifyCounts } from '../../nodeapi/types.js';
import { errorMessage } from '../../errors.js';
import { renderTable } from '../../lib/table.js';
import type { CliContext } from '../context.js';
import { CliUserError, EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, exitCodeFor } from '../exit.js';

interface VerifyOptions {
  node?: string;
  apiSocket?: string;
  all?: boolean;
  apiSocketDir: string;
  output: 'table' | 'json';
}

/** One node's answer, or why there is none. */
export type NodeVerifyResult = { node: string; socket: string; report: NodeVerifyReport } | { node: string; socket: string; error: string; unreachable: boolean };

const two = (n: number): string => String(n).padStart(2, '0');
const clock = (d: Date): string => `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;

/** "3 routes, 40 chains, 5 ipsets (12 members), 3 interfaces (15 sysctls), 2 BGP sessions, 4 BGP routes". */
export function describeCounts(c: VerifyCounts): string {
  return `${c.routes} routes, ${c.chains} chains, ${c.ipsets} ipsets (${c.ipsetMembers} members), ${c.interfaces} interfaces (${c.sysctls} sysctls), ${c.bgpSessions} BGP sessions, ${c.bgpRoutes} BGP routes`;
}

/** What a person reads for one node's report. */
export function renderVerify(rep: NodeVerifyReport): string {
  let out = '';
  const n = rep.differences.length;
  out += n === 0 ? `node ${rep.nodeName}: no differences (checked ${describeCounts(rep.checked)}).\n` : `node ${rep.nodeName}: ${n} difference${n === 1 ? '' : 's'} between the kernel and the agent's desired state:\n`;
  if (n > 0) {
    out += renderTable(
      ['KIND', 'OBJECT', 'EXPECTED', 'ACTUAL'],
      rep.differences.map((d) => [d.kind, d.object, d.expected, d.seenAt ? `${d.actual} (seen at ${clock(d.seenAt)})` : d.actual]),
    );
  }
  for (const note of rep.notes) out += `note: ${note}\n`;
  return out;
}

async function verifyOne(node: string, socket: string): Promise<NodeVerifyResult> {
  // gRPC loads only for the commands that talk to an agent.
  const { NodeApiClient } = await import('../../nodeapi/client.js');
  const c = new NodeApiClient(socket);
  try {
    return { node, socket, report: await c.verify() };
  } catch (e) {
    return { node, socket, error: errorMessage(e), unreachable: exitCodeFor(e) === EXIT_UNREACHABLE };
  } finally {
    c.close();
  }
}

/** The nodes to ask: one (--node / --api-socket / this host), or every Node in the datastore (--all). */
async function targets(o: VerifyOptions, ctx: CliContext): Promise<{ node: string; socket: string }[]> {
  if (o.all && (o.node || o.apiSocket)) throw new CliUserError('VerifyOptions', '--all asks every node: it does not go with --node or --api-socket');
  if (!o.all) {
    const node = o.node ?? defaultNodeName();
    return [{ node, socket: o.apiSocket ?? defaultApiSocket(node) }];
  }
  const ds = await ctx.openStore();
  const nodes = (await ds.list({ kind: 'Node' })).items.map((n) => n.metadata.name).sort();
  if (nodes.length === 0) throw new CliUserError('VerifyNoNodes', `the datastore (${ctx.datastoreUrl()}) has no Node: there is no agent to ask`, { hint: 'start twill-node on each host first' });
  return nodes.map((node) => ({ node, socket: `${o.apiSocketDir}/${node}.sock` }));
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .description('ask each node\'s agent to compare its kernel (routes, chains, ipsets, sysctls, BGP) with its desired state; exit 1 on any difference')
    .option('--node <name>', 'the node whose agent to ask (default: this host\'s name); its socket is /run/twill/<name>.sock')
    .option('--api-socket <path>', 'the agent\'s socket (overrides --node)')
    .option('--all', 'every Node in the datastore, each at <api-socket-dir>/<name>.sock')
    .option('--api-socket-dir <dir>', 'where --all finds the agents\' sockets', API_SOCKET_DIR)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (o: VerifyOptions) => {
      const results: NodeVerifyResult[] = [];
      for (const t of await targets(o, ctx)) results.push(await verifyOne(t.node, t.socket));
      if (o.output === 'json') {
        ctx.io.stdout(JSON.stringify({ nodes: results.map((r) => ('error' in r ? r : { node: r.node, socket: r.socket, ...r.report })) }, null, 2) + '\n');
      } else {
        ctx.io.stdout(results.flatMap((r) => ('report' in r ? [renderVerify(r.report)] : [])).join('\n'));
      }
      for (const r of results) {
        if ('error' in r) ctx.io.stderr(`error: node ${r.node} NOT checked: ${r.error}\n`);
      }
      const failed = results.filter((r) => 'error' in r);
      const differs = results.some((r) => 'report' in r && r.report.differences.length > 0);
      ctx.exitCode = failed.some((r) => 'error' in r && r.unreachable) ? EXIT_UNREACHABLE : failed.length > 0 || differs ? EXIT_FAILED : EXIT_OK;
    });
}
