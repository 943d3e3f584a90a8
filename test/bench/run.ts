// `npm run bench -- NAME [args]`: runs test/bench/NAME.ts (compiled), which prints its own
// result lines. With no NAME, runs every benchmark in BENCHES order.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// `soak` (30 min) runs only when named: `npm run bench -- soak`.
const BENCHES = ['netlink', 'spawn', 'bgp-codec', 'bgp', 'ipam', 'felix', 'node', 'cni', 'lab', 'explain', 'k8s'];

async function runOne(name: string, args: string[]): Promise<void> {
  const file = join(dirname(fileURLToPath(import.meta.url)), `${name}.js`);
  if (!existsSync(file)) {
    throw new Error(`unknown benchmark "${name}" (known: ${BENCHES.join(', ')})`);
  }
  const mod = (await import(pathToFileURL(file).href)) as { default: (args: string[]) => Promise<void> };
  await mod.default(args);
}

const [name, ...rest] = process.argv.slice(2);
try {
  if (name) await runOne(name, rest);
  else for (const b of BENCHES) if (existsSync(join(dirname(fileURLToPath(import.meta.url)), `${b}.js`))) await runOne(b, []);
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exit(1);
}
