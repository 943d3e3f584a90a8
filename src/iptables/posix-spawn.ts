// Running a tool with libc's posix_spawnp (through koffi), not node:child_process. Node's spawn
// forks: in a process of twill-node's size (130 MB resident) that costs 5–9 ms of the event
// loop's time per call, and the dataplane runs iptables-restore, ip6tables-restore and ipset
// for every change. posix_spawn starts the child without copying the parent (vfork semantics):
// about 1 ms whatever our size. The pipes are read and written on Node's event loop; the exit
// is seen through a pidfd (Linux ≥ 5.3) polled by libuv.
import { Socket } from 'node:net';
import koffi from 'koffi';

export interface SpawnResult {
  /** The exit code; undefined when a signal ended the tool. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** posix_spawnp could not start the tool (its errno: ENOENT when it is not on PATH). */
export class SpawnError extends Error {
  constructor(
    readonly file: string,
    readonly errno: number,
  ) {
    super(errno === 2 ? `cannot run ${file}: not found on PATH` : `cannot run ${file}: errno ${errno}`);
  }
}

type Fn = (...a: unknown[]) => number | bigint;

interface Libc {
  pipe2: Fn;
  close: Fn;
  faInit: Fn;
  faDup2: Fn;
  faDestroy: Fn;
  attrInit: Fn;
  attrSetFlags: Fn;
  attrSetSigDefault: Fn;
  attrSetSigMask: Fn;
  attrDestroy: Fn;
  sigemptyset: Fn;
  sigaddset: Fn;
  spawnp: Fn;
  waitpid: Fn;
  syscall: Fn;
}

const O_CLOEXEC = 0o2000000;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const SIGPIPE = 13;
const SIGXFSZ = 25;
const SYS_PIDFD_OPEN = 434; // x86_64 and arm64 alike (the unified syscall table)
// glibc's opaque types, with room to spare: posix_spawn_file_actions_t is 80 bytes,
// posix_spawnattr_t 336, sigset_t 128.
const FA_BYTES = 256;
const ATTR_BYTES = 1024;
const SIGSET_BYTES = 256;

let libc: Libc | null | undefined;
let supported: boolean | undefined;

function load(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const lib = koffi.load('libc.so.6');
    const f = (decl: string): Fn => lib.func(decl) as unknown as Fn;
    libc = {
      pipe2: f('int pipe2(void *fds, int flags)'),
      close: f('int close(int fd)'),
      faInit: f('int posix_spawn_file_actions_init(void *fa)'),
      faDup2: f('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)'),
      faDestroy: f('int posix_spawn_file_actions_destroy(void *fa)'),
      attrInit: f('int posix_spawnattr_init(void *attr)'),
      attrSetFlags: f('int posix_spawnattr_setflags(void *attr, short flags)'),
      attrSetSigDefault: f('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
      attrSetSigMask: f('int posix_spawnattr_setsigmask(void *attr, void *set)'),
      attrDestroy: f('int posix_spawnattr_destroy(void *attr)'),
      sigemptyset: f('int sigemptyset(void *set)'),
      sigaddset: f('int sigaddset(void *set, int sig)'),
      spawnp: f('int posix_spawnp(void *pid, const char *file, void *fa, void *attr, const char **argv, const char **envp)'),
      waitpid: f('int waitpid(int pid, void *status, int options)'),
      syscall: f('long syscall(long nr, ...)'),
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** Whether posixSpawn can be used here (libc and pidfd_open); checked once. */
export function posixSpawnAvailable(): boolean {
  if (supported !== undefined) return supported;
  const c = load();
  if (!c) return (supported = false);
  // pidfd_open of our own pid tells whether the kernel has it.
  const fd = Number(c.syscall(SYS_PIDFD_OPEN, 'int', process.pid, 'unsigned int', 0));
  if (fd >= 0) c.close(fd);
  return (supported = fd >= 0);
}

function pipe(c: Libc): [number, number] {
  const b = Buffer.alloc(8);
  if (Number(c.pipe2(b, O_CLOEXEC)) < 0) throw new SpawnError('pipe2', koffi.errno());
  return [b.readInt32LE(0), b.readInt32LE(4)];
}

/**
 * Runs argv (argv[0] looked up on PATH) with `input` on its stdin (empty when absent) and this
 * process's environment; resolves with its exit code and output. Rejects with SpawnError when
 * the tool cannot be started. Call only when posixSpawnAvailable().
 */
export function posixSpawn(argv: readonly string[], input?: string): Promise<SpawnResult> {
  const c = load();
  if (!c) return Promise.reject(new SpawnError(argv[0] ?? '', 38 /* ENOSYS */));
  const fds: number[] = [];
  let child: { pid: number; pidfd: number; inW: number; outR: number; errR: number };
  try {
    const [inR, inW] = pipe(c);
    fds.push(inR, inW);
    const [outR, outW] = pipe(c);
    fds.push(outR, outW);
    const [errR, errW] = pipe(c);
    fds.push(errR, errW);
    const fa = Buffer.alloc(FA_BYTES);
    const attr = Buffer.alloc(ATTR_BYTES);
    const sigdef = Buffer.alloc(SIGSET_BYTES);
    const sigmask = Buffer.alloc(SIGSET_BYTES);
    c.faInit(fa);
    c.attrInit(attr);
    try {
      c.faDup2(fa, inR, 0);
      c.faDup2(fa, outW, 1);
      c.faDup2(fa, errW, 2);
      // Node ignores SIGPIPE (and an ignored signal stays ignored across exec): the tool gets the
      // default back, and an empty signal mask.
      c.sigemptyset(sigdef);
      c.sigaddset(sigdef, SIGPIPE);
      c.sigaddset(sigdef, SIGXFSZ);
      c.sigemptyset(sigmask);
      c.attrSetSigDefault(attr, sigdef);
      c.attrSetSigMask(attr, sigmask);
      c.attrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
      const env: (string | null)[] = Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
      const pidBuf = Buffer.alloc(4);
      const rc = Number(c.spawnp(pidBuf, argv[0], fa, attr, [...argv, null], [...env, null]));
      if (rc !== 0) throw new SpawnError(argv[0] ?? '', rc);
      const pid = pidBuf.readInt32LE(0);
      const pidfd = Number(c.syscall(SYS_PIDFD_OPEN, 'int', pid, 'unsigned int', 0));
      if (pidfd < 0) {
        // Cannot happen once posixSpawnAvailable() said yes; reap the child rather than leak it.
        c.waitpid(pid, Buffer.alloc(4), 0);
        throw new SpawnError('pidfd_open', koffi.errno());
      }
      child = { pid, pidfd, inW, outR, errR };
    } finally {
      c.faDestroy(fa);
      c.attrDestroy(attr);
    }
    // The child's ends are its own now.
    for (const fd of [inR, outW, errW]) c.close(fd);
  } catch (e) {
    for (const fd of fds) c.close(fd);
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let exitCode: number | undefined;
    let pending = 3; // stdout closed, stderr closed, exited
    const settle = (): void => {
      if (--pending === 0) resolve({ exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    };
    const reader = (fd: number, into: Buffer[]): void => {
      const s = new Socket({ fd, readable: true, writable: false });
      s.on('data', (d: Buffer) => into.push(d));
      s.on('error', () => undefined);
      s.on('close', settle);
    };
    reader(child.outR, out);
    reader(child.errR, err);
    const stdin = new Socket({ fd: child.inW, readable: false, writable: true });
    // A tool that exits before reading all its input (EPIPE) says why on stderr.
    stdin.on('error', () => undefined);
    stdin.end(input ?? '');
    const h = koffi.node.poll(child.pidfd, { readable: true }, () => {
      h.close();
      const status = Buffer.alloc(4);
      c.waitpid(child.pid, status, 0);
      c.close(child.pidfd);
      const s = status.readInt32LE(0);
      exitCode = (s & 0x7f) === 0 ? (s >> 8) & 0xff : undefined;
      settle();
    });
  });
}
