// `twill-cni install`: puts the plugin where a runtime looks for it. Writes
//   <bin-dir>/twill-cni: thin-client.sh (hands the call to the CNI server through socat, else
//     runs this node on dist/src/cni/client.cjs of this installation);
//   <bin-dir>/twill-ipam: a shell wrapper exec'ing this node on dist/src/cni/twill-ipam.js;
//   <conf-dir>/10-twill.conflist: manifests/cni/10-twill.conflist, with --datastore, --nodename,
//     --name and --socket filled in when given.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root, from dist/src/cni. */
const ROOT = resolve(HERE, '../../..');

function atomicWrite(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** A word for sh: single-quoted, any ' inside written as '\''. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function wrapper(main: string): string {
  return `#!/bin/sh\n# installed by twill-cni install\nexec ${shQuote(process.execPath)} ${shQuote(main)} "$@"\n`;
}

/** The sh client (src/cni/thin-client.sh) with this node and client.cjs filled in. */
export function thinClientScript(): string {
  const template = readFileSync(join(ROOT, 'src/cni/thin-client.sh'), 'utf8');
  return template.replace('NODE=@NODE@', `NODE=${shQuote(process.execPath)}`).replace('CLIENT=@CLIENT@', `CLIENT=${shQuote(join(HERE, 'client.cjs'))}`);
}

export async function runInstall(argv: string[]): Promise<number> {
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const m = /^--(bin-dir|conf-dir|datastore|nodename|name|socket)(?:=(.*))?$/.exec(a);
    if (!m) {
      process.stderr.write(`twill-cni install: unknown argument ${a}\nusage: twill-cni install --bin-dir DIR --conf-dir DIR [--datastore URL] [--nodename NAME] [--name NETWORK] [--socket PATH]\n`);
      return 2;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined) {
      process.stderr.write(`twill-cni install: ${a} needs a value\n`);
      return 2;
    }
    opts[m[1] as string] = v;
  }
  const binDir = opts['bin-dir'];
  const confDir = opts['conf-dir'];
  if (!binDir || !confDir) {
    process.stderr.write('twill-cni install: --bin-dir and --conf-dir are required (e.g. --bin-dir /opt/cni/bin --conf-dir /etc/cni/net.d)\n');
    return 2;
  }
  mkdirSync(binDir, { recursive: true });
  mkdirSync(confDir, { recursive: true });
  atomicWrite(join(binDir, 'twill-cni'), thinClientScript(), 0o755);
  atomicWrite(join(binDir, 'twill-ipam'), wrapper(join(HERE, 'twill-ipam.js')), 0o755);
  const list = JSON.parse(readFileSync(join(ROOT, 'manifests/cni/10-twill.conflist'), 'utf8')) as { name: string; plugins: Record<string, unknown>[] };
  if (opts.name) list.name = opts.name;
  const first = list.plugins[0] as Record<string, unknown>;
  if (opts.datastore) first.datastore = opts.datastore;
  if (opts.nodename) first.nodename = opts.nodename;
  // Where twill-node serves the calls, when not /run/twill/cni.sock ("" = never hand them over).
  if (opts.socket !== undefined) first.socket = opts.socket;
  atomicWrite(join(confDir, '10-twill.conflist'), `${JSON.stringify(list, null, 2)}\n`, 0o644);
  process.stdout.write(`installed ${join(binDir, 'twill-cni')}, ${join(binDir, 'twill-ipam')} and ${join(confDir, '10-twill.conflist')}\n`);
  return 0;
}
