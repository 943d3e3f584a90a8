// Rendered chains as iptables-restore / ipset restore input. The dataplane writes incrementally
// (only changed chains); these helpers write a whole family at once, for tests, `twillctl`
// debugging output and cold starts.

import type { Chain, RenderedFamily, TableName } from './types.js';

const TABLE_ORDER: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];

/**
 * iptables-restore text (for `--noflush`) that creates/replaces every chain of `fam` and puts
 * each hook at position 1 of its built-in chain. Tables with nothing to write are left out.
 */
export function toRestoreText(fam: RenderedFamily): string {
  const out: string[] = [];
  for (const t of TABLE_ORDER) {
    const chains: Chain[] = fam[t];
    const hooks = fam.hooks.filter((h) => h.table === t);
    if (chains.length === 0 && hooks.length === 0) continue;
    out.push(`*${t}`);
    for (const c of chains) out.push(`:${c.name} - [0:0]`);
    for (const c of chains) for (const r of c.rules) out.push(`-A ${c.name} ${r.spec}`);
    for (const h of hooks) out.push(`-I ${h.chain} 1 ${h.spec}`);
    out.push('COMMIT');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * ipset restore text that creates and fills every set of `fam` (flushing first). Feed it to
 * `ipset restore -exist` (Ipset.restore(text, { exist: true })) so sets that exist are reused.
 */
export function toIpsetRestoreText(fam: RenderedFamily): string {
  const out: string[] = [];
  const inet = fam.family === 4 ? 'inet' : 'inet6';
  for (const s of fam.ipsets) {
    out.push(`create ${s.name} ${s.type} family ${inet} maxelem 1048576`);
    out.push(`flush ${s.name}`);
    for (const m of s.members) out.push(`add ${s.name} ${m}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
