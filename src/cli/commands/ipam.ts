// `twillctl ipam show [--show-blocks] [-o table|json]`
// `twillctl ipam check [-o report.json] [--grace 60s]`      exit 0 clean, 3 problems found
// `twillctl ipam release --ip X [--ip Y...] | --handle H | --from-report FILE|-`

import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { applyFixes, parseReport, type FixOutcome } from '../../../ipam/repair.js';
import { checkIpam, DEFAULT_CHECK_GRACE_MS, type IpamReport } from '../../../ipam/check.js';
import { releaseByHandle, releaseIps } from '../../../ipam/release.js';
import { readIpamState } from '../../../ipam/state.js';
import { ipamUsage, type IpamUsage } from '../../../ipam/usage.js';
import { durationProblem, parseDuration } from '../../api/duration.js';
import type { CliContext } from '../context.js';
import { CliUserError, EXIT_PROBLEMS } from '../exit.js';
import { renderTable } from '../../lib/table.js';

function pct(part: number, total: string): string {
  const t = Number(total);
  if (!Number.isFinite(t) || t === 0) return `${part}`;
  const p = (100 * part) / t;
  return `${part} (${p > 0 && p < 0.01 ? '<0.01' : p < 1 && p > 0 ? p.toFixed(2) : Math.round(p)}%)`;
}

export function renderUsage(u: IpamUsage, showBlocks: boolean): string {
  let out = '';
  if (u.pools.length === 0) out += 'No IP pools.\n';
  else {
    out += renderTable(
      ['POOL', 'CIDR', 'BLOCK SIZE', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE', 'BLOCKS CLAIMED'],
      u.pools.map((p) => [
        p.disabled ? `${p.name} (disabled)` : p.name,
        p.cidr,
        `/${p.blockSize}`,
        p.total,
        pct(p.inUse, p.total),
        p.free,
        `${p.blocksClaimed}/${p.blocksTotal}`,
      ]),
    );
  }
  if (showBlocks) {
    out += '\n';
    if (u.blocks.length === 0) out += 'No blocks claimed yet.\n';
    else {
      out += renderTable(
        ['BLOCK', 'POOL', 'OWNER', 'IPS TOTAL', 'IPS IN USE', 'IPS FREE', 'BORROWED'],
        u.blocks.map((b) => [
          b.cidr,
          b.pool || '(no pool)',
          b.owner === '' ? '(none)' : b.ownerMissing ? `${b.owner} (no Node resource)` : b.owner,
          String(b.total),
          pct(b.inUse, String(b.total)),
          String(b.free),
          String(b.borrowed),
        ]),
      );
    }
  }
  out += `\n${u.totals.inUse} address(es) in use in ${u.totals.blocks} block(s).\n`;
  return out;
}

const PER_TYPE = 20;

export function renderReport(r: IpamReport, reportFile: string | undefined): string {
  const s = r.summary;
  let out = `IPAM check of ${r.datastore}: ${s.pools} pool(s), ${s.blocks} block(s), ${s.allocations} allocation(s), ${s.handles} handle(s), ${s.workloadEndpoints} workload endpoint(s).\n`;
  if (r.problems.length === 0) return `${out}No problems found.\n`;
  out += `Found ${s.problems} problem(s)${s.warnings ? ` and ${s.warnings} warning(s)` : ''}:\n`;
  // At most PER_TYPE lines of each type: the report file has them all.
  const shown = new Map<string, number>();
  for (const p of r.problems) {
    const n = (shown.get(p.type) ?? 0) + 1;
    shown.set(p.type, n);
    if (n <= PER_TYPE) out += `  ${p.severity === 'problem' ? 'PROBLEM' : 'warning'} [${p.type}] ${p.message}\n`;
  }
  for (const [type, n] of shown) {
    if (n > PER_TYPE) out += `  ... and ${n - PER_TYPE} more [${type}]${reportFile ? '' : ' (write the report with -o FILE to see them all)'}\n`;
  }
  const fixable = r.problems.filter((p) => p.fix && p.severity === 'problem').length;
  if (reportFile) {
    out += `Report with the evidence written to ${reportFile}.\n`;
    if (fixable) out += `${fixable} problem(s) can be fixed with: twillctl ipam release --from-report ${reportFile}\n`;
  } else if (fixable) {
    out += `${fixable} problem(s) can be fixed: write a report with -o report.json, review it, then run twillctl ipam release --from-report report.json\n`;
  }
  return out;
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

export function register(program: Command, ctx: CliContext): void {
  const ipam = program.command('ipam').description('IP address management: usage, consistency check, release of leaked addresses');

  ipam
    .command('show')
    .description('addresses in use and free, per pool (and per block with --show-blocks)')
    .option('--show-blocks', 'also list every block with its owner')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (opts: { showBlocks?: boolean; output: string }) => {
      if (opts.output !== 'table' && opts.output !== 'json') {
        throw new CliUserError('BadOutput', `output format "${opts.output}" is not known`, { hint: 'use -o table or -o json' });
      }
      const ds = await ctx.openStore();
      const usage = ipamUsage(await readIpamState(ds));
      ctx.io.stdout(opts.output === 'json' ? `${JSON.stringify(usage, null, 2)}\n` : renderUsage(usage, opts.showBlocks === true));
    });

  ipam
    .command('check')
    .description('find leaked addresses, orphan handles, blocks of missing nodes and double allocations (exit 4 when any)')
    .option('-o, --output <file>', 'write the full report (JSON, with evidence and fixes) to this file')
    .option('--grace <duration>', 'allocations younger than this without a workload endpoint are warnings, not leaks', `${DEFAULT_CHECK_GRACE_MS / 1000}s`)
    .action(async (opts: { output?: string; grace: string }) => {
      const graceMs = parseDuration(opts.grace);
      if (graceMs === undefined) throw new CliUserError('BadDuration', `--grace: ${durationProblem(opts.grace) ?? 'not a duration'}`);
      const ds = await ctx.openStore();
      const report = await checkIpam(ds, { graceMs });
      if (opts.output) {
        try {
          await writeFile(opts.output, `${JSON.stringify(report, null, 2)}\n`);
        } catch (e) {
          throw new CliUserError('WriteFailed', `cannot write report to ${opts.output}: ${(e as Error).message}`);
        }
      }
      ctx.io.stdout(renderReport(report, opts.output));
      if (report.summary.problems > 0) ctx.exitCode = EXIT_PROBLEMS;
    });

  ipam
    .command('release')
    .description('release addresses: by address, by handle, or the fixes of an ipam check report')
    .option('--ip <address>', 'an allocated address to release (repeatable)', collect)
    .option('--handle <id>', 'release every address of this handle (e.g. <network>.<container id>)')
    .option('--from-report <file>', 'apply the fixes of a report written by "twillctl ipam check -o" ("-" for stdin)')
    .action(async (opts: { ip?: string[]; handle?: string; fromReport?: string }) => {
      const chosen = [opts.ip?.length ? '--ip' : '', opts.handle ? '--handle' : '', opts.fromReport ? '--from-report' : ''].filter((x) => x);
      if (chosen.length !== 1) {
        throw new CliUserError(
          'BadRelease',
          chosen.length === 0 ? 'say what to release: --ip ADDRESS, --handle ID or --from-report FILE' : `use only one of ${chosen.join(', ')}`,
        );
      }
      if (opts.fromReport) {
        const src = opts.fromReport;
        let text: string;
        try {
          text = src === '-' ? String(await ctx.io.readStdin()) : await readFile(src, 'utf8');
        } catch (e) {
          throw new CliUserError('ReadFailed', `cannot read report ${src}: ${(e as Error).message}`);
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw new CliUserError('BadReport', `${src} is not JSON`, { hint: 'write a report with: twillctl ipam check -o report.json' });
        }
        const report = parseReport(value, src);
        const ds = await ctx.openStore();
        const outcomes: FixOutcome[] = await applyFixes(ds, report.problems);
        for (const o of outcomes) ctx.io.stdout(`${o.result === 'done' ? 'fixed  ' : 'skipped'} ${o.detail}\n`);
        const done = outcomes.filter((o) => o.result === 'done').length;
        const skipped = outcomes.length - done;
        ctx.io.stdout(
          outcomes.length === 0
            ? 'The report has nothing to fix.\n'
            : `Applied ${done} fix(es)${skipped ? `; skipped ${skipped} whose objects changed since the report (run ipam check again)` : ''}.\n`,
        );
        return;
      }
      const ds = await ctx.openStore();
      if (opts.handle) {
        const out = await releaseByHandle(ds, opts.handle);
        ctx.io.stdout(out.length ? out.map((o) => `released ${o.ip} (handle ${opts.handle ?? ''})\n`).join('') : `handle ${opts.handle} held no address; removed it\n`);
        return;
      }
      const out = await releaseIps(ds, (opts.ip ?? []).map((ip) => ({ ip })), { strict: true });
      for (const o of out) ctx.io.stdout(`released ${o.ip} (handle ${o.handleID ?? '-'}, block ${o.block ?? '?'})\n`);
    });
}
