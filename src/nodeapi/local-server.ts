// The life of a local gRPC API server on a unix socket: taking the path (refuse one a live server
// still answers on, remove a stale one a killed server left behind) and shutting down (graceful,
// then forced; the socket file removed). Used by twill-node's API (server.ts) and twill-bgp's
// (bgp/daemon/api/server.ts).
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type * as grpc from '@grpc/grpc-js';

export interface SocketPathErrors {
  /** The path exists and is something else. */
  notSocket(): Error;
  /** A live server answers on it. */
  busy(): Error;
}

/** Does a server accept connections on this unix socket? */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise<boolean>((res) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/**
 * Makes the socket's directory (with `dirMode`, applied despite the umask, when this creates it)
 * and clears the path: nothing there, or a stale socket removed. Throws `errors.busy()` /
 * `errors.notSocket()` otherwise.
 */
export async function claimSocketPath(path: string, dirMode: number, errors: SocketPathErrors): Promise<void> {
  const dir = dirname(path);
  const made = mkdirSync(dir, { recursive: true, mode: dirMode });
  if (made !== undefined) chmodSync(dir, dirMode); // mkdir's mode is filtered by the umask
  let isSocket = false;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw errors.notSocket();
  if (await socketAnswers(path)) throw errors.busy();
  unlinkSync(path);
}

/** Lets calls finish for up to `graceMs`, then cuts them; removes the socket file when given. */
export async function shutdownServer(server: grpc.Server, socketPath: string | undefined, graceMs = 1000): Promise<void> {
  await new Promise<void>((res) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      res();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(t);
      res();
    });
  });
  if (socketPath === undefined) return;
  try {
    unlinkSync(socketPath);
  } catch {
    /* already gone */
  }
}
