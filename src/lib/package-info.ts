// The Twill package: its root directory (whose package.json is named "twill") and its version,
// found by walking up from this module: works from the sources (src/lib/) and from the build
// (dist/src/lib/). Every program reports this one version.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: { dir: string; version: string } | null | undefined;

function find(): { dir: string; version: string } | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'twill') return { dir, version: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
    } catch {
      /* not here */
    }
    if (dirname(dir) === dir) return null;
  }
}

/** The package root directory, or undefined when this module runs outside the package. */
export function packageRoot(): string | undefined {
  if (root === undefined) root = find();
  return root?.dir;
}

export function packageVersion(): string {
  if (root === undefined) root = find();
  return root?.version ?? 'unknown';
}
