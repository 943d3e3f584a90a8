// Where the lab finds the programs it runs: the built Twill programs next to it in dist/, and the
// Debian tools it needs on PATH.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { TwillError } from '../errors.js';

/** dist/src/lab → dist/ */
const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const PROGRAMS = {
  node: join(DIST, 'src/node/main.js'),
  cni: join(DIST, 'src/cni/main.js'),
  ipam: join(DIST, 'src/cni/twill-ipam.js'),
  twillctl: join(DIST, 'src/cli/main.js'),
  probe: join(DIST, 'src/lab/probe.js'),
  serve: join(DIST, 'src/lab/serve.js'),
} as const;

export class LabToolError extends TwillError {
  constructor(message: string, hint: string) {
    super('LabTool', message, { hint });
  }
}

const DEBIAN_PACKAGE: Record<string, string> = {
  ip: 'iproute2',
  nsenter: 'util-linux',
  etcd: 'etcd-server',
  bird: 'bird2',
  birdc: 'bird2',
  vtysh: 'frr',
  '/usr/lib/frr/zebra': 'frr',
  '/usr/lib/frr/bgpd': 'frr',
  socat: 'socat',
  'iptables-restore': 'iptables',
  ipset: 'ipset',
};

/** Fails with one message naming every missing tool and the Debian packages that bring them. */
export function checkTools(tools: string[]): void {
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  const notBuilt = Object.values(PROGRAMS).filter((p) => !existsSync(p));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => DEBIAN_PACKAGE[t] ?? t))];
    throw new LabToolError(`missing: ${missing.join(', ')}`, `install them: apt-get install ${pkgs.join(' ')} (or run test/tools/install-deps.sh)`);
  }
  if (notBuilt.length > 0) throw new LabToolError(`Twill is not built: ${notBuilt.join(', ')} missing`, 'run "npm run build" first');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabToolError('twill-lab needs root (it creates network namespaces)', 'run it as root, e.g. with sudo');
  }
}
