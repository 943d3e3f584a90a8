// `twillctl version`: the client version, and — when the datastore answers — where it is and
// which agent versions the nodes run (so CLI/cluster version skew is visible).

import type { Command } from 'commander';
import type { NodeResource } from '../../api/types.js';
import type { CliContext } from '../context.js';
import { packageVersion } from '../../lib/package-info.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description('print the twillctl version and, when reachable, the datastore and node agent versions')
    .option('--client', 'only the client version; do not contact the datastore')
    .action(async (opts: { client?: boolean }) => {
      const mine = packageVersion();
      ctx.io.stdout(`Client Version:    ${mine}\n`);
      if (opts.client) return;
      let nodes: NodeResource[];
      let location: string;
      try {
        const ds = await ctx.openStore();
        nodes = (await ds.list<NodeResource>({ kind: 'Node' })).items;
        location = ds.location;
      } catch (e) {
        // The client version is printed; the error (exit 2 when unreachable) says why there is no more.
        ctx.io.stdout(`Datastore:         not available (${ctx.datastoreUrl()})\n`);
        throw e;
      }
      ctx.io.stdout(`Datastore:         ${location}\n`);
      const byVersion = new Map<string, number>();
      for (const n of nodes) {
        const v = n.status?.agentVersion ?? 'unknown';
        byVersion.set(v, (byVersion.get(v) ?? 0) + 1);
      }
      const summary = [...byVersion.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([v, n]) => `${v} (${n} node${n === 1 ? '' : 's'})`)
        .join(', ');
      ctx.io.stdout(`Node Agents:       ${nodes.length === 0 ? 'no nodes registered' : summary}\n`);
      const skewed = [...byVersion.keys()].filter((v) => v !== 'unknown' && v !== mine);
      if (skewed.length > 0) {
        ctx.io.stderr(`warning: twillctl ${mine} differs from node agent version(s) ${skewed.join(', ')}\n`);
      }
    });
}
