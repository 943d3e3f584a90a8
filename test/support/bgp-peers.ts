// Interop harness: real BIRD 2, GoBGP and FRR (from Debian) and the twill-bgp daemon, each in
// network namespaces this harness makes, joined by veth pairs with addresses in 198.18.0.0/15
// (IPv4 test range) and fd00::/8 (ULA). Each peer is queried through its own control socket and
// its routes are returned in one normalised shape. Every process is started by us, killed by PID,
// and every namespace is deleted by name in cleanup() (call it from afterAll).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BgpApiClient } from '../../bgp/daemon/api/client.js';
import { uniquePrefix } from './env.js';
import { NetnsPool, nsExec, type ExecResult } from './netns.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * The interop tests run their own build of the daemon (other engineers' builds of dist/ may be
 * running at the same time and leave it stale but newer-looking). It lives inside the package, so
 * the daemon still finds its .proto through the package root.
 */
const BUILD_DIR = join(ROOT, 'node_modules', '.cache', 'twill-interop-build');
const BUILD_STAMP = join(BUILD_DIR, '.started');
const FRR_DIR = '/usr/lib/frr';

/** A route as any of the speakers reports it. */
export interface PeerRoute {
  prefix: string;
  /** Flattened AS path (empty for a local or iBGP-originated route). */
  asPath: number[];
  /** The global next hop (IPv6 link-local part dropped). */
  nextHop: string;
  /** "65000:100" style. */
  communities: string[];
}

/** One path as a peer holds it, with the route-reflection attributes (RFC 4456). */
export interface PeerPath extends PeerRoute {
  /** ORIGINATOR_ID, when the path carries one. */
  originatorId?: string;
  /** CLUSTER_LIST in order (empty when absent). */
  clusterList: string[];
  /** The tool marks it best. */
  best: boolean;
  /** The neighbour it came from (undefined for the peer's own routes, or when BIRD omits it). */
  from?: string;
  /** BIRD only: the protocol name it came through. */
  protocol?: string;
}

export interface Proc {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or null when killed by a signal). */
  readonly exited: Promise<number | null>;
  readonly alive: boolean;
  /** stdout + stderr so far. */
  output(): string;
  /** Sends a signal by PID. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

function track(name: string, child: ChildProcess): Proc {
  let out = '';
  let alive = true;
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    // Resolve once its output is all read ('close'): on 'exit' the last chunk (e.g. ping's
    // summary) may still be in the pipe. A grandchild holding the pipe open must not hold us up.
    child.on('exit', (code) => {
      alive = false;
      const t = setTimeout(() => resolve(code), 1000);
      child.on('close', () => {
        clearTimeout(t);
        resolve(code);
      });
    });
    child.on('error', (e) => {
      alive = false;
      out += `spawn error: ${e.message}\n`;
      resolve(-1);
    });
  });
  const p: Proc = {
    name,
    pid: child.pid ?? -1,
    exited,
    get alive() {
      return alive;
    },
    output: () => out,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (alive && child.pid) {
        try {
          process.kill(child.pid, signal);
        } catch {
          /* gone */
        }
      }
    },
    async stop(graceMs = 5000) {
      if (!alive) return exited;
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  return p;
}

/** Starts argv inside namespace `ns` (`ip netns exec` execs, so the PID is the program's). */
export function spawnIn(ns: string, name: string, argv: string[], env?: NodeJS.ProcessEnv): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  return track(name, child);
}

/** Thrown inside an until() condition to stop waiting at once (e.g. the daemon died). */
export class GiveUp extends Error {}

export async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, stepMs = 100): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (e instanceof GiveUp) throw e;
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.proto')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** The built daemon to run (see builtFile). */
export function twillMain(): string {
  return builtFile('bgp/daemon/main.js');
}

/**
 * A compiled file of bgp/ (e.g. "bgp/agent/worker-host.js"): from dist/ when `npm run build`
 * (which `npm test` runs first) is newer than what bgp/ is made of (bgp/, src/errors.ts,
 * src/netlink/, src/cli/output/); otherwise from a private build in BUILD_DIR, made when missing
 * or stale, so a test run started while sources are being edited never runs old code. Type
 * errors elsewhere in the tree do not stop it.
 */
export function builtFile(rel: string): string {
  const dist = join(ROOT, 'dist', rel);
  const cached = join(BUILD_DIR, rel);
  const src = Math.max(
    newestMtime(join(ROOT, 'bgp')),
    newestMtime(join(ROOT, 'src', 'netlink')),
    newestMtime(join(ROOT, 'src', 'cli', 'output')),
    statSync(join(ROOT, 'src', 'errors.ts')).mtimeMs,
  );
  if (existsSync(dist) && statSync(dist).mtimeMs > src) return dist;
  const started = existsSync(BUILD_STAMP) && existsSync(cached) ? Number(readFileSync(BUILD_STAMP, 'utf8')) : 0;
  if (started > src) return cached;
  mkdirSync(BUILD_DIR, { recursive: true });
  const t0 = Date.now();
  const r = spawnSync('npx', ['tsc', '-p', join(ROOT, 'tsconfig.json'), '--outDir', BUILD_DIR], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (!existsSync(cached)) throw new Error(`could not build ${cached}: ${r.stdout}${r.stderr}`);
  writeFileSync(BUILD_STAMP, String(t0));
  return cached;
}

// ---------------------------------------------------------------------------------------------

export interface LinkAddrs {
  /** The A side ("left") and B side addresses. */
  a4: string;
  b4: string;
  a6: string;
  b6: string;
  ifA: string;
  ifB: string;
}

/** One namespace's place on a lan(). */
export interface LanMember {
  ns: string;
  v4: string;
  v6: string;
  ifName: string;
}

export interface TwillDaemon {
  proc: Proc;
  client: BgpApiClient;
  api: string;
  configFile: string;
  /** The JSON log lines so far, parsed. */
  logs(): { level: number; msg: string; [k: string]: unknown }[];
  /** Runs a client subcommand (`twill-bgp neighbors -o json` = cli(['neighbors', '-o', 'json'])) against this daemon. */
  cli(args: string[]): string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface BirdDaemon {
  proc: Proc;
  socket: string;
  /** The config file (rewrite it, then start() or `configure`, to change BIRD's config). */
  confFile: string;
  /** birdc command (e.g. "show protocols all ebgp4"); throws on a failing birdc. */
  cmd(command: string): string;
  routes(family: 4 | 6): PeerRoute[];
  /** Every BGP path (not only the best) with ORIGINATOR_ID / CLUSTER_LIST. */
  paths(family: 4 | 6): PeerPath[];
  established(protocol: string): boolean;
  /** SIGKILL (no NOTIFICATION, kernel routes left behind) and wait for the exit. */
  crash(): Promise<void>;
  /** Starts BIRD again (after crash()) with the current config file. */
  start(): Promise<void>;
  /** crash() then start(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface GobgpDaemon {
  proc: Proc;
  socket: string;
  /** Runs the gobgp CLI against this daemon; throws on failure. */
  cli(args: string[]): string;
  routes(family: 4 | 6): PeerRoute[];
  /** Every path learned from a neighbour (not only the best) with ORIGINATOR_ID / CLUSTER_LIST. */
  paths(family: 4 | 6): PeerPath[];
  established(neighbor: string): boolean;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface FrrDaemon {
  zebra: Proc;
  bgpd: Proc;
  dir: string;
  /** vtysh -c for each command; throws on failure. */
  vtysh(...commands: string[]): string;
  routes(family: 4 | 6): PeerRoute[];
  /** Every path of `prefix` learned from a neighbour, with ORIGINATOR_ID / CLUSTER_LIST. */
  paths(family: 4 | 6, prefix: string): PeerPath[];
  established(neighbor: string): boolean;
  /** Kills bgpd (SIGKILL, no NOTIFICATION) and starts it again with the same config. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** One test file's namespaces, links and daemons. */
export class BgpLab {
  readonly prefix: string;
  readonly dir: string;
  private readonly pool: NetnsPool;
  private readonly procs: Proc[] = [];
  private readonly clients: BgpApiClient[] = [];
  private links = 0;
  private lans = 0;

  constructor(tag: string) {
    this.prefix = uniquePrefix(tag);
    this.pool = new NetnsPool(this.prefix);
    this.dir = mkdtempSync(join(tmpdir(), `twill-interop-${this.prefix}-`));
    // FRR drops privileges to the frr user: it must be able to reach its directory.
    chmodSync(this.dir, 0o755);
  }

  /** Creates namespace "<prefix>-<tag>" with loopback up and IPv6 on. */
  ns(tag: string): string {
    const ns = this.pool.create(tag);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0']);
    return ns;
  }

  /**
   * A veth pair between two namespaces with 198.18.<n>.1/24 + fd00:<n>::1/64 on A and .2 / ::2 on
   * B (n counts links from 1). IPv6 addresses skip duplicate address detection.
   */
  link(nsA: string, nsB: string): LinkAddrs {
    const n = ++this.links;
    const ifA = `${this.prefix}a${n}`;
    const ifB = `${this.prefix}b${n}`;
    run('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    const l: LinkAddrs = { a4: `198.18.${n}.1`, b4: `198.18.${n}.2`, a6: `fd00:${n}::1`, b6: `fd00:${n}::2`, ifA, ifB };
    run('ip', ['-n', nsA, 'addr', 'add', `${l.a4}/24`, 'dev', ifA]);
    run('ip', ['-n', nsB, 'addr', 'add', `${l.b4}/24`, 'dev', ifB]);
    run('ip', ['-n', nsA, '-6', 'addr', 'add', `${l.a6}/64`, 'dev', ifA, 'nodad']);
    run('ip', ['-n', nsB, '-6', 'addr', 'add', `${l.b6}/64`, 'dev', ifB, 'nodad']);
    run('ip', ['-n', nsA, 'link', 'set', ifA, 'up']);
    run('ip', ['-n', nsB, 'link', 'set', ifB, 'up']);
    return l;
  }

  /**
   * One shared Ethernet segment (a bridge in its own namespace "<prefix>-sw<n>") joining every
   * namespace in `members`: member i gets 198.19.<n>.<i+1>/24 and fd01:<n>::<i+1>/64 (n counts
   * LANs from 1; 198.19/16 never meets link()'s 198.18/16). Everyone on it is directly connected,
   * so iBGP next hops need no resolution (route reflection, third-party next hops).
   */
  lan(members: string[]): LanMember[] {
    const n = ++this.lans;
    const sw = this.ns(`sw${n}`);
    const br = `${this.prefix}br${n}`;
    run('ip', ['-n', sw, 'link', 'add', br, 'type', 'bridge']);
    run('ip', ['-n', sw, 'link', 'set', br, 'up']);
    return members.map((ns, i) => {
      const ifName = `${this.prefix}l${n}m${i + 1}`;
      const port = `${this.prefix}p${n}m${i + 1}`;
      run('ip', ['link', 'add', ifName, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
      run('ip', ['-n', sw, 'link', 'set', port, 'master', br]);
      run('ip', ['-n', sw, 'link', 'set', port, 'up']);
      const m: LanMember = { ns, v4: `198.19.${n}.${i + 1}`, v6: `fd01:${n}::${i + 1}`, ifName };
      run('ip', ['-n', ns, 'addr', 'add', `${m.v4}/24`, 'dev', ifName]);
      run('ip', ['-n', ns, '-6', 'addr', 'add', `${m.v6}/64`, 'dev', ifName, 'nodad']);
      run('ip', ['-n', ns, 'link', 'set', ifName, 'up']);
      return m;
    });
  }

  private keep(p: Proc): Proc {
    this.procs.push(p);
    return p;
  }

  // ---- twill-bgp ------------------------------------------------------------------------------

  async startTwill(ns: string, name: string, yaml: string, extraArgs: string[] = []): Promise<TwillDaemon> {
    const main = twillMain();
    const configFile = join(this.dir, `${name}.yaml`);
    writeFileSync(configFile, yaml);
    const api = `unix://${join(this.dir, `${name}.sock`)}`;
    const proc = this.keep(
      spawnIn(ns, `twill-bgp ${name}`, ['node', main, '--config', configFile, '--api', api, '--log-format', 'json', '--log-level', 'debug', ...extraArgs]),
    );
    const client = new BgpApiClient(api, { timeoutMs: 30_000 });
    this.clients.push(client);
    await until(`twill-bgp ${name} API`, async () => {
      if (!proc.alive) throw new GiveUp(`twill-bgp ${name} exited: ${proc.output().slice(-2000)}`);
      await client.status();
      return true;
    });
    const logs = (): { level: number; msg: string }[] =>
      proc
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as { level: number; msg: string };
          } catch {
            return { level: 0, msg: l };
          }
        });
    const cli = (args: string[]): string => {
      const r = spawnSync('node', [main, ...args, '--api', api], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 28 });
      if (r.status !== 0) throw new Error(`twill-bgp ${args.join(' ')}: exit ${r.status}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    return { proc, client, api, configFile, logs, cli, stop: () => proc.stop(10_000) };
  }

  // ---- BIRD -----------------------------------------------------------------------------------

  /** `extraArgs` go on BIRD's command line at every start (e.g. ['-R'] for graceful restart recovery). */
  async startBird(ns: string, name: string, conf: string, extraArgs: string[] = []): Promise<BirdDaemon> {
    const confFile = join(this.dir, `${name}.bird.conf`);
    const socket = join(this.dir, `${name}.bird.ctl`);
    writeFileSync(confFile, conf);
    const start = async (): Promise<Proc> => {
      const p = this.keep(spawnIn(ns, `bird ${name}`, ['bird', '-f', '-c', confFile, '-s', socket, '-P', join(this.dir, `${name}.bird.pid`), ...extraArgs]));
      await until(`bird ${name} control socket`, () => {
        if (!p.alive) throw new GiveUp(`bird ${name} exited: ${p.output()}`);
        return spawnSync('birdc', ['-s', socket, 'show', 'status'], { encoding: 'utf8' }).status === 0;
      });
      return p;
    };
    const d: BirdDaemon = {
      proc: await start(),
      socket,
      confFile,
      cmd(command: string): string {
        const r = spawnSync('birdc', ['-s', socket, ...command.split(' ')], { encoding: 'utf8', timeout: 20_000 });
        if (r.status !== 0) throw new Error(`birdc ${command}: ${r.stderr}${r.stdout}`);
        return r.stdout;
      },
      routes: (family) => parseBirdRoutes(d.cmd(`show route all table master${family}`)),
      paths: (family) => parseBirdPaths(d.cmd(`show route all table master${family}`)),
      established: (protocol) => /\bEstablished\b/.test(d.cmd(`show protocols ${protocol}`)),
      crash: async () => {
        d.proc.kill('SIGKILL');
        await d.proc.exited;
      },
      start: async () => {
        if (d.proc.alive) throw new Error(`bird ${name} is still running`);
        d.proc = await start();
      },
      restart: async () => {
        await d.crash();
        await d.start();
      },
      stop: async () => void (await d.proc.stop()),
    };
    return d;
  }

  // ---- GoBGP ----------------------------------------------------------------------------------

  async startGobgp(ns: string, name: string, toml: string): Promise<GobgpDaemon> {
    const confFile = join(this.dir, `${name}.gobgp.toml`);
    const socket = join(this.dir, `${name}.gobgp.api`);
    writeFileSync(confFile, toml);
    const cli = (args: string[]): string => {
      const r = spawnSync('gobgp', ['--target', `unix://${socket}`, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`gobgp ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    const start = async (): Promise<Proc> => {
      // A killed gobgpd leaves its API socket behind, and a new one cannot bind over it.
      rmSync(socket, { force: true });
      const p = this.keep(
        spawnIn(ns, `gobgpd ${name}`, ['gobgpd', '-f', confFile, '-t', 'toml', `--api-hosts=unix://${socket}`, '--pprof-disable', '-p', '-l', 'info']),
      );
      await until(`gobgpd ${name} API`, () => {
        if (!p.alive) throw new GiveUp(`gobgpd ${name} exited: ${p.output()}`);
        cli(['global']);
        return true;
      });
      return p;
    };
    const d: GobgpDaemon = {
      proc: await start(),
      socket,
      cli,
      routes: (family) => parseGobgpRib(cli(['global', 'rib', '-a', family === 4 ? 'ipv4' : 'ipv6', '-j'])),
      paths: (family) => parseGobgpPaths(cli(['global', 'rib', '-a', family === 4 ? 'ipv4' : 'ipv6', '-j'])),
      established: (neighbor) => gobgpState(cli(['neighbor', '-j']), neighbor) === 'established',
      restart: async () => {
        d.proc.kill('SIGKILL');
        await d.proc.exited;
        d.proc = await start();
      },
      stop: async () => void (await d.proc.stop()),
    };
    return d;
  }

  // ---- FRR ------------------------------------------------------------------------------------

  async startFrr(ns: string, name: string, bgpdConf: string): Promise<FrrDaemon> {
    const dir = join(this.dir, `${name}.frr`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'zebra.conf'), `hostname ${name}\nlog file ${dir}/zebra.log informational\n`);
    writeFileSync(join(dir, 'bgpd.conf'), bgpdConf);
    const frr = frrIds();
    for (const f of [dir, join(dir, 'zebra.conf'), join(dir, 'bgpd.conf')]) chownSync(f, frr.uid, frr.gid);
    const common = ['-z', join(dir, 'zserv.api'), '--vty_socket', dir, '-A', '127.0.0.1', '-P', '0'];
    const zebra = this.keep(spawnIn(ns, `zebra ${name}`, [join(FRR_DIR, 'zebra'), '-f', join(dir, 'zebra.conf'), '-i', join(dir, 'zebra.pid'), ...common]));
    await until(`zebra ${name}`, () => {
      if (!zebra.alive) throw new GiveUp(`zebra ${name} exited: ${zebra.output()}`);
      return existsSync(join(dir, 'zserv.api'));
    });
    const vtysh = (...commands: string[]): string => {
      const r = spawnSync('vtysh', ['--vty_socket', dir, ...commands.flatMap((c) => ['-c', c])], { encoding: 'utf8', timeout: 30_000, maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`vtysh ${commands.join(' / ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    const startBgpd = async (): Promise<Proc> => {
      const p = this.keep(spawnIn(ns, `bgpd ${name}`, [join(FRR_DIR, 'bgpd'), '-f', join(dir, 'bgpd.conf'), '-i', join(dir, 'bgpd.pid'), ...common]));
      await until(`bgpd ${name}`, () => {
        if (!p.alive) throw new GiveUp(`bgpd ${name} exited: ${p.output()}`);
        vtysh('show bgp summary');
        return true;
      });
      return p;
    };
    const d: FrrDaemon = {
      zebra,
      bgpd: await startBgpd(),
      dir,
      vtysh,
      routes: (family) => parseFrrRoutes(vtysh(`show bgp ${family === 4 ? 'ipv4' : 'ipv6'} unicast json`), (p) => vtysh(`show bgp ${family === 4 ? 'ipv4' : 'ipv6'} unicast ${p} json`)),
      paths: (family, prefix) => parseFrrPaths(vtysh(`show bgp ${family === 4 ? 'ipv4' : 'ipv6'} unicast ${prefix} json`)),
      established: (neighbor) => {
        const j = JSON.parse(vtysh(`show bgp neighbors ${neighbor} json`)) as Record<string, { bgpState?: string }>;
        return j[neighbor]?.bgpState === 'Established';
      },
      restart: async () => {
        d.bgpd.kill('SIGKILL');
        await d.bgpd.exited;
        d.bgpd = await startBgpd();
      },
      stop: async () => {
        await d.bgpd.stop();
        await d.zebra.stop();
      },
    };
    return d;
  }

  /** Kills every process we started (by PID) and deletes every namespace we made. */
  async cleanup(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.procs.map((p) => p.stop(3000)));
    // Anything still inside our namespaces was started by us (e.g. a daemon's own children).
    for (const ns of this.pool.names()) {
      const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
      for (const pid of (r.stdout ?? '').split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    this.pool.cleanup();
    if (process.env.KEEP_INTEROP_DIR !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- the forwarding plane: kernel routes, ping, a route watcher ------------------------------------

/** A kernel route as `ip -j route` reports it, reduced to what tests compare. */
export interface KernelRoute {
  dst: string;
  /** Gateways, sorted (one for a plain route, several for a multipath route). */
  gateways: string[];
  protocol: string;
}

interface IpJsonRoute {
  dst?: string;
  gateway?: string;
  protocol?: string;
  nexthops?: { gateway?: string }[];
}

/** Routes of one protocol ("85", "bird", "static", ...) in a namespace's main table. */
export function kernelRoutes(ns: string, family: 4 | 6, protocol: string): KernelRoute[] {
  const r = spawnSync('ip', ['-n', ns, '-j', `-${family}`, 'route', 'show', 'proto', protocol], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${ns} route show proto ${protocol}: ${r.stderr}`);
  return parseIpRoutes(r.stdout);
}

export function parseIpRoutes(json: string): KernelRoute[] {
  const rows = JSON.parse(json.trim() || '[]') as IpJsonRoute[];
  return rows.map((x) => ({
    dst: x.dst ?? '',
    gateways: (x.nexthops ? x.nexthops.map((n) => n.gateway ?? '') : x.gateway ? [x.gateway] : []).sort(),
    protocol: x.protocol ?? '',
  }));
}

/**
 * Lists a namespace's routes of one protocol every `everyMs` (async, so the test's own awaits go
 * on) and remembers every sample where `dst` was missing, until stop().
 */
export class RouteWatch {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  samples = 0;
  readonly gaps: { at: Date; routes: string }[] = [];

  constructor(
    private readonly ns: string,
    private readonly family: 4 | 6,
    private readonly protocol: string,
    private readonly dst: string,
    private readonly everyMs = 100,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      const child = spawn('ip', ['-n', this.ns, '-j', `-${this.family}`, 'route', 'show', 'proto', this.protocol], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', () => {
        this.busy = false;
        this.samples++;
        let routes: KernelRoute[] = [];
        try {
          routes = parseIpRoutes(out);
        } catch {
          /* a torn read counts as missing */
        }
        if (!routes.some((r) => r.dst === this.dst)) this.gaps.push({ at: new Date(), routes: out.trim() });
      });
    }, this.everyMs);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

export interface PingResult {
  /** Highest icmp_seq that got a reply. */
  lastReplied: number;
  /** Sequence numbers up to lastReplied that never got a reply. */
  lost: number[];
  output: string;
}

/**
 * A continuous ping (`ping -n -i INTERVAL TARGET`) from namespace `ns`; finish() stops it with
 * SIGINT and counts the probes below the last answered one that got no answer (a probe still in
 * flight at SIGINT is not counted as lost).
 */
export function startPing(ns: string, target: string, intervalS = 0.1): { proc: Proc; finish(): Promise<PingResult> } {
  const proc = spawnIn(ns, `ping ${target}`, ['ping', '-n', '-i', String(intervalS), target]);
  return {
    proc,
    async finish(): Promise<PingResult> {
      proc.kill('SIGINT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await proc.exited;
      clearTimeout(t);
      const out = proc.output();
      const replied = new Set([...out.matchAll(/bytes from .*icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
      const lastReplied = Math.max(0, ...replied);
      const lost: number[] = [];
      for (let i = 1; i < lastReplied; i++) if (!replied.has(i)) lost.push(i);
      return { lastReplied, lost, output: out };
    },
  };
}

export interface GobgpNeighbor {
  address: string;
  asn: number;
  localAddress?: string;
  family?: 'ipv4-unicast' | 'ipv6-unicast';
}

/** A gobgpd TOML config: one global section, and neighbors that reconnect within a second. */
export function gobgpConfig(o: { asn: number; routerId: string; neighbors: readonly GobgpNeighbor[] }): string {
  const neighbor = (n: GobgpNeighbor): string => `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${n.address}"
    peer-as = ${n.asn}
${n.localAddress !== undefined ? `  [neighbors.transport.config]\n    local-address = "${n.localAddress}"\n` : ''}  [neighbors.timers.config]
    connect-retry = 1
    idle-hold-time-after-reset = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${n.family ?? 'ipv4-unicast'}"
`;
  return `[global.config]
  as = ${o.asn}
  router-id = "${o.routerId}"
${o.neighbors.map(neighbor).join('')}`;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function frrIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('frr:'));
  const f = line?.split(':');
  if (!f) throw new Error('no frr user: install the frr package');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

// ---- parsers (exported for their own unit tests) -----------------------------------------------

/** Strips an IPv6 link-local part ("fd00::1 fe80::1" or "fd00::1%fe80::1") from a next hop. */
function globalNextHop(s: string): string {
  return s.split(/[\s%]/)[0] ?? s;
}

function flatAsPath(s: string): number[] {
  return (s.match(/\d+/g) ?? []).map(Number);
}

/** `birdc show route all` → BGP routes (only routes that came from BGP). */
export function parseBirdRoutes(text: string): PeerRoute[] {
  const out: PeerRoute[] = [];
  let prefix = '';
  let cur: PeerRoute | undefined;
  let isBgp = false;
  const flush = (): void => {
    if (cur && isBgp) out.push(cur);
    cur = undefined;
    isBgp = false;
  };
  for (const line of text.split('\n')) {
    const head = /^(\S+\/\d+)?\s+(unicast|blackhole|unreachable|prohibit)\s+\[/.exec(line);
    if (head) {
      flush();
      if (head[1]) prefix = head[1];
      cur = { prefix, asPath: [], nextHop: '', communities: [] };
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    if (t.startsWith('Type: BGP')) isBgp = true;
    else if (t.startsWith('BGP.as_path:')) cur.asPath = flatAsPath(t.slice('BGP.as_path:'.length));
    else if (t.startsWith('BGP.next_hop:')) cur.nextHop = globalNextHop(t.slice('BGP.next_hop:'.length).trim());
    else if (t.startsWith('BGP.community:')) cur.communities = [...t.matchAll(/\((\d+),(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
  }
  flush();
  return out;
}

/** `birdc show route all` → every BGP path, with the RFC 4456 attributes and where it came from. */
export function parseBirdPaths(text: string): PeerPath[] {
  const out: PeerPath[] = [];
  let prefix = '';
  let cur: PeerPath | undefined;
  let isBgp = false;
  const flush = (): void => {
    if (cur && isBgp) out.push(cur);
    cur = undefined;
    isBgp = false;
  };
  for (const line of text.split('\n')) {
    // "10.1.0.0/24   unicast [refl 13:28:36.113 from 198.19.1.1] * (100) [i]"
    const head = /^(\S+\/\d+)?\s+(unicast|blackhole|unreachable|prohibit)\s+\[(\S+)[^\]]*?(?:\sfrom\s(\S+))?\](\s\*)?/.exec(line);
    if (head) {
      flush();
      if (head[1]) prefix = head[1];
      cur = { prefix, asPath: [], nextHop: '', communities: [], clusterList: [], best: Boolean(head[5]), protocol: head[3] };
      if (head[4]) cur.from = head[4];
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    if (t.startsWith('Type: BGP')) isBgp = true;
    else if (t.startsWith('BGP.as_path:')) cur.asPath = flatAsPath(t.slice('BGP.as_path:'.length));
    else if (t.startsWith('BGP.next_hop:')) cur.nextHop = globalNextHop(t.slice('BGP.next_hop:'.length).trim());
    else if (t.startsWith('BGP.community:')) cur.communities = [...t.matchAll(/\((\d+),(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
    else if (t.startsWith('BGP.originator_id:')) cur.originatorId = t.slice('BGP.originator_id:'.length).trim();
    else if (t.startsWith('BGP.cluster_list:')) cur.clusterList = t.slice('BGP.cluster_list:'.length).trim().split(/\s+/).filter(Boolean);
  }
  flush();
  return out;
}

interface GobgpPath {
  nlri?: { prefix?: string };
  attrs?: { type: number; as_paths?: { asns?: number[] }[]; nexthop?: string; communities?: number[]; value?: unknown }[];
  best?: boolean;
  stale?: boolean;
  'neighbor-ip'?: string;
}

/** `gobgp global rib -j` → every path (locally added ones have no `from`). */
export function parseGobgpPaths(json: string): PeerPath[] {
  const rib = JSON.parse(json || '{}') as Record<string, GobgpPath[]>;
  const out: PeerPath[] = [];
  for (const [prefix, paths] of Object.entries(rib)) {
    for (const p of paths) {
      const r: PeerPath = { prefix, asPath: [], nextHop: '', communities: [], clusterList: [], best: p.best === true };
      const from = p['neighbor-ip'];
      if (from) r.from = from;
      for (const a of p.attrs ?? []) {
        if (a.type === 2) r.asPath = (a.as_paths ?? []).flatMap((s) => s.asns ?? []);
        if ((a.type === 3 || a.type === 14) && a.nexthop) r.nextHop = globalNextHop(a.nexthop);
        if (a.type === 8) r.communities = (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`);
        if (a.type === 9 && typeof a.value === 'string') r.originatorId = a.value;
        if (a.type === 10 && Array.isArray(a.value)) r.clusterList = a.value.map(String);
      }
      out.push(r);
    }
  }
  return out;
}

/** `gobgp global rib -j` → routes (the best path of each prefix). */
export function parseGobgpRib(json: string): PeerRoute[] {
  const rib = JSON.parse(json || '{}') as Record<string, GobgpPath[]>;
  const out: PeerRoute[] = [];
  for (const [prefix, paths] of Object.entries(rib)) {
    const p = paths.find((x) => x.best) ?? paths[0];
    if (!p) continue;
    const r: PeerRoute = { prefix, asPath: [], nextHop: '', communities: [] };
    for (const a of p.attrs ?? []) {
      if (a.type === 2) r.asPath = (a.as_paths ?? []).flatMap((s) => s.asns ?? []);
      if ((a.type === 3 || a.type === 14) && a.nexthop) r.nextHop = globalNextHop(a.nexthop);
      if (a.type === 8) r.communities = (a.communities ?? []).map((c) => `${c >>> 16}:${c & 0xffff}`);
    }
    out.push(r);
  }
  return out;
}

function gobgpState(json: string, neighbor: string): string | undefined {
  const peers = JSON.parse(json || '[]') as { conf?: { neighbor_address?: string }; state?: { neighbor_address?: string; session_state?: number | string } }[];
  const p = peers.find((x) => x.conf?.neighbor_address === neighbor || x.state?.neighbor_address === neighbor);
  const s = p?.state?.session_state;
  if (s === undefined) return undefined;
  if (s === 6 || s === 'ESTABLISHED' || s === 'SESSION_STATE_ESTABLISHED' || s === 'established') return 'established';
  return String(s);
}

interface FrrPath {
  valid?: boolean;
  bestpath?: boolean;
  path?: string;
  nexthops?: { ip?: string; scope?: string }[];
  community?: { string?: string };
  aspath?: { string?: string };
}

interface FrrDetailPath {
  bestpath?: { overall?: boolean };
  aspath?: { string?: string; segments?: { list?: number[] }[] };
  originatorId?: string;
  clusterList?: { list?: string[] };
  nexthops?: { ip?: string; scope?: string }[];
  community?: { string?: string };
  peer?: { peerId?: string };
}

/** `show bgp ipv4 unicast PREFIX json` → the paths learned from neighbours (own ones left out). */
export function parseFrrPaths(json: string): PeerPath[] {
  const d = JSON.parse(json || '{}') as { prefix?: string; paths?: FrrDetailPath[] };
  const out: PeerPath[] = [];
  for (const p of d.paths ?? []) {
    const from = p.peer?.peerId;
    if (!from || from === '(unspec)') continue;
    const r: PeerPath = {
      prefix: d.prefix ?? '',
      asPath: (p.aspath?.segments ?? []).flatMap((s) => s.list ?? []),
      nextHop: (p.nexthops ?? []).find((n) => n.scope !== 'link-local')?.ip ?? '',
      communities: (p.community?.string ?? '').split(/\s+/).filter((c) => /^\d+:\d+$/.test(c)),
      clusterList: p.clusterList?.list ?? [],
      best: p.bestpath?.overall === true,
      from,
    };
    if (p.originatorId) r.originatorId = p.originatorId;
    out.push(r);
  }
  return out;
}

/**
 * `show bgp ipv4 unicast json` → best routes learned from peers (locally originated ones, with
 * next hop 0.0.0.0 / ::, are left out). Communities are fetched per prefix with `detail`.
 */
export function parseFrrRoutes(json: string, detail?: (prefix: string) => string): PeerRoute[] {
  const j = JSON.parse(json) as { routes?: Record<string, FrrPath[]> };
  const out: PeerRoute[] = [];
  for (const [prefix, paths] of Object.entries(j.routes ?? {})) {
    const p = paths.find((x) => x.bestpath) ?? paths.find((x) => x.valid);
    if (!p) continue;
    const nh = (p.nexthops ?? []).find((n) => n.scope !== 'link-local')?.ip ?? '';
    if (nh === '0.0.0.0' || nh === '::') continue;
    const r: PeerRoute = { prefix, asPath: flatAsPath(p.path ?? ''), nextHop: nh, communities: [] };
    if (detail) {
      const d = JSON.parse(detail(prefix)) as { paths?: FrrPath[] };
      const best = d.paths?.find((x) => x.bestpath) ?? d.paths?.[0];
      r.communities = (best?.community?.string ?? '').split(/\s+/).filter((c) => /^\d+:\d+$/.test(c));
    }
    out.push(r);
  }
  return out;
}

export type { ExecResult };
