// Parsing `ipset save` output into sets and members. Pure.
import type { IpsetFamily, IpsetInfo } from './types.js';

export function parseIpsetSave(text: string, prefix?: string): Map<string, IpsetInfo> {
  const sets = new Map<string, IpsetInfo>();
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line.startsWith('add ')) {
      const sp1 = line.indexOf(' ', 4);
      if (sp1 < 0) continue;
      const name = line.slice(4, sp1);
      const set = sets.get(name);
      if (!set) continue; // filtered out by prefix (or add before create: not printed by ipset)
      const sp2 = line.indexOf(' ', sp1 + 1);
      set.members.add(sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2));
    } else if (line.startsWith('create ')) {
      const parts = line.split(/\s+/);
      const name = parts[1];
      const type = parts[2];
      if (name === undefined || type === undefined) continue;
      if (prefix !== undefined && !name.startsWith(prefix)) continue;
      let family: IpsetFamily = 'inet';
      let maxelem: number | undefined;
      for (let i = 3; i + 1 < parts.length; i++) {
        if (parts[i] === 'family') family = parts[i + 1] === 'inet6' ? 'inet6' : 'inet';
        else if (parts[i] === 'maxelem') maxelem = Number(parts[i + 1]);
      }
      const info: IpsetInfo = { type, family, members: new Set() };
      if (maxelem !== undefined && Number.isFinite(maxelem)) info.maxelem = maxelem;
      sets.set(name, info);
    }
  }
  return sets;
}

/** Names from `ipset list -n`. */
export function parseIpsetNames(text: string, prefix?: string): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const name = l.trim();
    if (name === '') continue;
    if (prefix === undefined || name.startsWith(prefix)) out.push(name);
  }
  return out;
}
