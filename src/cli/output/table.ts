// Plain-text tables: left-aligned columns separated by three spaces, no trailing blanks
// (what calicoctl and kubectl print).

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** A table with borders, headers centred (what `calicoctl node status` prints). */
export function renderBoxTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const centre = (s: string, w: number): string => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const head = `|${headers.map((h, i) => ` ${centre(h, widths[i] ?? 0)} `).join('|')}|`;
  const body = rows.map((r) => `|${widths.map((w, i) => ` ${(r[i] ?? '').padEnd(w)} `).join('|')}|`);
  return [rule, head, rule, ...body, rule].join('\n') + '\n';
}
