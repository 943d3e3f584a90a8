// Parsing iptables-save output. Pure and fast: one pass over the lines, no regex per line except
// for rules that carry a `tw:` comment.
import { extractHash } from './naming.js';
import type { SavedChain, SavedRule, SavedTable } from './types.js';

export function parseSave(text: string): SavedTable[] {
  const tables: SavedTable[] = [];
  let cur: SavedTable | undefined;
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0) continue;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    const c = line.charCodeAt(0);
    if (c === 35 /* # */) continue;
    if (c === 91 /* [ counters ] prefix from iptables-save -c */) {
      const close = line.indexOf('] ');
      if (close < 0) continue;
      line = line.slice(close + 2);
    }
    if (line.charCodeAt(0) === 42 /* * */) {
      cur = { table: line.slice(1).trim(), chains: new Map() };
      tables.push(cur);
      continue;
    }
    if (cur === undefined) continue;
    if (line.charCodeAt(0) === 58 /* : */) {
      const sp = line.indexOf(' ');
      const name = sp < 0 ? line.slice(1) : line.slice(1, sp);
      let policy: string | undefined;
      if (sp >= 0) {
        const sp2 = line.indexOf(' ', sp + 1);
        const p = sp2 < 0 ? line.slice(sp + 1) : line.slice(sp + 1, sp2);
        if (p !== '-' && p !== '') policy = p;
      }
      const existing = cur.chains.get(name);
      if (existing) {
        if (policy !== undefined) existing.policy = policy;
      } else {
        const chain: SavedChain = { name, rules: [] };
        if (policy !== undefined) chain.policy = policy;
        cur.chains.set(name, chain);
      }
      continue;
    }
    if (line.startsWith('-A ')) {
      const sp = line.indexOf(' ', 3);
      const chainName = sp < 0 ? line.slice(3) : line.slice(3, sp);
      const spec = sp < 0 ? '' : line.slice(sp + 1);
      let chain = cur.chains.get(chainName);
      if (!chain) {
        chain = { name: chainName, rules: [] };
        cur.chains.set(chainName, chain);
      }
      const rule: SavedRule = { chain: chainName, spec };
      const hash = extractHash(spec);
      if (hash !== undefined) rule.hash = hash;
      chain.rules.push(rule);
      continue;
    }
    if (line === 'COMMIT') cur = undefined;
  }
  return tables;
}

/** The one table `iptables-save -t table` printed, or an empty one when it printed nothing. */
export function parseSaveTable(text: string, table: string): SavedTable {
  for (const t of parseSave(text)) if (t.table === table) return t;
  return { table, chains: new Map() };
}
