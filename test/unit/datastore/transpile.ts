// Makes plain-JavaScript copies of the datastore sources so a child `node` process (which cannot
// load TypeScript) can run them: TypeScript's transpileModule, file by file, into a temp dir.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..', '..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...tsFiles(p));
    else if (ent.name.endsWith('.ts') && !ent.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Transpiles src/datastore, src/api/types.ts and src/errors.ts into `outDir` (same layout). */
export function transpileDatastore(outDir: string): void {
  const files = [...tsFiles(join(ROOT, 'src', 'datastore')), join(ROOT, 'src', 'api', 'types.ts'), join(ROOT, 'src', 'errors.ts')];
  for (const f of files) {
    const js = ts.transpileModule(readFileSync(f, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: f,
    }).outputText;
    const dest = join(outDir, relative(ROOT, f)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
}
