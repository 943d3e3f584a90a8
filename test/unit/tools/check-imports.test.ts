// The build's import check (test/tools/check-cycles.mjs, run by `npm run build`): it passes on
// this tree and fails, naming both files, on a layer violation or a cycle planted in a copy.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const script = join(repo, 'test/tools/check-cycles.mjs');

function check(root?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, root ? [script, '--root', root] : [script], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

let tree: string | undefined;
afterEach(() => {
  if (tree) rmSync(tree, { recursive: true, force: true });
  tree = undefined;
});

/** A throwaway tree with these files (path → source). */
function plant(files: Record<string, string>): string {
  tree = mkdtempSync(join(tmpdir(), 'twill-layers-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, p)), { recursive: true });
    writeFileSync(join(tree, p), text);
  }
  return tree;
}

describe('build import check: layers and cycles', () => {
  it('is part of npm run build', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toMatch(/&& node test\/tools\/check-cycles\.mjs/);
  });

  it('passes on the project tree', () => {
    const r = check();
    expect(r.out).toContain('imports ok');
    expect(r.status).toBe(0);
  });

  it.each([
    ['a library importing a program', 'src/api/kinds.ts', "import { run } from '../cli/program.js';\n", 'src/cli/program.ts'],
    ['a library importing a component', 'src/datastore/store.ts', "import { x } from '../../ipam/ipam.js';\n", 'ipam/ipam.ts'],
    ['a program importing another program', 'bgp/daemon/cli/format.ts', "import { renderTable } from '../../../src/cli/output/table.js';\n", 'src/cli/output/table.ts'],
    ['bgp/ importing felix/', 'bgp/rib/rib.ts', "import type { X } from '../../felix/calc/graph.js';\n", 'felix/calc/graph.ts'],
    ['felix/ importing bgp/', 'felix/calc/graph.ts', "export { y } from '../../bgp/rib/rib.js';\n", 'bgp/rib/rib.ts'],
    ['a component importing a program', 'ipam/ipam.ts', "import { x } from '../src/node/main.js';\n", 'src/node/main.ts'],
  ])('fails on %s, naming both files', (_what, from, source, to) => {
    const root = plant({ [from]: source, [to]: 'export const x = 1, y = 2, run = 3, renderTable = 4;\nexport type X = number;\n' });
    const r = check(root);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(new RegExp(`layer violation: ${from}.* imports ${to}`));
  });

  it('allows what DESIGN.md allows', () => {
    const root = plant({
      'src/node/main.ts': "import { a } from '../../felix/calc/graph.js';\nimport { b } from '../api/kinds.js';\nimport { c } from '../lib/table.js';\n",
      'felix/calc/graph.ts': "import { d } from '../../ipam/ipam.js';\nexport const a = 1;\n",
      'bgp/agent/agent.ts': "import { d } from '../../ipam/ipam.js';\nimport { e } from '../rib/rib.js';\n",
      'bgp/rib/rib.ts': "import { b } from '../../src/api/kinds.js';\nexport const e = 1;\n",
      'ipam/ipam.ts': "import { b } from '../src/api/kinds.js';\nexport const d = 1;\n",
      'src/api/kinds.ts': "import { TwillError } from '../errors.js';\nimport { c } from '../lib/table.js';\nexport const b = 1;\n",
      'src/errors.ts': 'export class TwillError {}\n',
      'src/lib/table.ts': 'export const c = 1;\n',
    });
    const r = check(root);
    expect(r.out).toContain('imports ok');
    expect(r.status).toBe(0);
  });

  it('fails on an import cycle, naming the modules', () => {
    const root = plant({
      'src/api/a.ts': "import { b } from './b.js';\nexport const a = 1;\n",
      'src/api/b.ts': "import { a } from './a.js';\nexport const b = 2;\n",
    });
    const r = check(root);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/import cycle: src\/api\/(a|b)\.ts <-> src\/api\/(b|a)\.ts/);
  });

  it('fails on a source folder that belongs to no layer', () => {
    const r = check(plant({ 'src/misc/thing.ts': "import { b } from '../api/kinds.js';\n", 'src/api/kinds.ts': 'export const b = 1;\n' }));
    expect(r.status).toBe(1);
    expect(r.out).toContain('src/misc belongs to no layer');
  });
});
