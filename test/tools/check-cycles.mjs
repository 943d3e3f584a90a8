#!/usr/bin/env node
// The build's import check (run by `npm run build` after tsc). It fails (exit 1) on
//   - an import cycle: every relative import counts, type-only ones included (a cycle of types is
//     a sign two modules are one concept split badly);
//   - a layer violation (DESIGN.md, src/README.md): libraries import only libraries; components
//     (bgp/, cni/, felix/, ipam/) import libraries, and bgp/, cni/ and felix/ may import ipam/ but never each
//     other; programs import libraries and components, never another program;
//   - a source folder that belongs to no layer (add it to LAYERS below and to src/README.md).
// Each problem names both files. `--root DIR` checks another tree (the unit test plants
// violations in a temporary one).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every source folder and its layer, most specific first. `unit` is what "itself" means: a module
 * may always import modules of its own unit.
 */
export const LAYERS = [
  { prefix: 'src/lib/', layer: 'library', unit: 'src/lib' },
  { prefix: 'src/api/', layer: 'library', unit: 'src/api' },
  { prefix: 'src/datastore/', layer: 'library', unit: 'src/datastore' },
  { prefix: 'src/netlink/', layer: 'library', unit: 'src/netlink' },
  { prefix: 'src/iptables/', layer: 'library', unit: 'src/iptables' },
  { prefix: 'src/nodeapi/', layer: 'library', unit: 'src/nodeapi' },
  { prefix: 'src/workload/', layer: 'library', unit: 'src/workload' },
  { prefix: 'src/kube/', layer: 'library', unit: 'src/kube' },
  { prefix: 'src/errors.ts', layer: 'library', unit: 'src/errors.ts' },
  { prefix: 'src/cli/', layer: 'program', unit: 'src/cli' },
  { prefix: 'src/cni/', layer: 'program', unit: 'src/cni' },
  { prefix: 'src/node/', layer: 'program', unit: 'src/node' },
  { prefix: 'src/lab/', layer: 'program', unit: 'src/lab' },
  { prefix: 'src/k8s/', layer: 'program', unit: 'src/k8s' },
  { prefix: 'bgp/daemon/', layer: 'program', unit: 'bgp/daemon' },
  { prefix: 'bgp/', layer: 'component', unit: 'bgp' },
  { prefix: 'felix/', layer: 'component', unit: 'felix' },
  { prefix: 'ipam/', layer: 'component', unit: 'ipam' },
  { prefix: 'cni/', layer: 'component', unit: 'cni' },
];

/** Components another component may import (DESIGN.md: bgp/ and felix/ use IPAM's blocks). */
const COMPONENT_IMPORTS = { bgp: ['ipam'], felix: ['ipam'], ipam: [], cni: ['ipam'] };

export function layerOf(rel) {
  const p = rel.split(sep).join('/');
  return LAYERS.find((l) => p === l.prefix || p.startsWith(l.prefix));
}

/** Why `from` may not import `to`, or undefined when it may. */
export function layerRule(from, to) {
  if (from.unit === to.unit || to.layer === 'library') return undefined;
  if (from.layer === 'library') return `libraries import only libraries, never a ${to.layer}`;
  if (from.layer === 'component') {
    if (to.layer === 'program') return 'components never import programs';
    if (!(COMPONENT_IMPORTS[from.unit] ?? []).includes(to.unit)) return `${from.unit}/ may not import ${to.unit}/ (components never import each other; only ipam/ is shared)`;
    return undefined;
  }
  if (to.layer === 'program') return 'programs never import another program (move what both need into a library, e.g. src/lib/)';
  return undefined;
}

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Checks the tree under `root`; returns the problems as lines (empty when all is well). */
export function checkImports(root) {
  const roots = ['src', 'bgp', 'cni', 'felix', 'ipam'].map((d) => join(root, d)).filter(existsSync);
  const files = roots.flatMap((r) => walk(r, []));
  const graph = new Map();
  const problems = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const deps = new Set();
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      let target = resolve(dirname(f), spec).replace(/\.js$/, '.ts');
      if (!target.endsWith('.ts')) target += existsSync(target + '.ts') ? '.ts' : '/index.ts';
      if (existsSync(target)) deps.add(target);
    }
    graph.set(f, [...deps]);
  }

  const rel = (f) => relative(root, f).split(sep).join('/');
  const unplaced = new Set();
  for (const [f, deps] of graph) {
    const from = layerOf(rel(f));
    if (!from) {
      unplaced.add(rel(f).split('/').slice(0, 2).join('/'));
      continue;
    }
    for (const d of deps) {
      const to = layerOf(rel(d));
      if (!to) continue; // reported once as unplaced
      const why = layerRule(from, to);
      if (why) problems.push(`layer violation: ${rel(f)} (${from.layer} ${from.unit}) imports ${rel(d)} (${to.layer} ${to.unit}): ${why}`);
    }
  }
  for (const u of unplaced) problems.push(`${u} belongs to no layer: add it to LAYERS in test/tools/check-cycles.mjs and to src/README.md`);

  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map(), low = new Map(), onStack = new Set(), stack = [];
  function strong(v) {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) problems.push('import cycle: ' + comp.map(rel).join(' <-> '));
    }
  }
  for (const f of files) if (!idx.has(f)) strong(f);
  return { modules: files.length, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--root');
  const root = at > 0 ? resolve(process.argv[at + 1] ?? '.') : resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const { modules, problems } = checkImports(root);
  if (problems.length > 0) {
    console.error(`import check failed (${problems.length}):`);
    for (const p of problems) console.error('  ' + p);
    process.exit(1);
  }
  console.log(`imports ok: no cycles, layers kept (${modules} modules)`);
}
