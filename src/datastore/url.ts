// Datastore URLs: `memory:`, `file:PATH`, `etcd://host:port[,host:port...]`.

import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { DatastoreConfigError } from './errors.js';

export type ParsedDatastoreUrl =
  | { backend: 'memory' }
  | { backend: 'file'; path: string }
  | { backend: 'etcd'; endpoints: { host: string; port: number }[] };

/** `${XDG_STATE_HOME:-~/.local/state}/twill/datastore.json` */
export function defaultDatastorePath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'twill', 'datastore.json');
}

/** The embedded file datastore in the default location. */
export const DEFAULT_DATASTORE_URL: string = `file:${defaultDatastorePath()}`;

/** TWILL_DATASTORE when set, else the default file datastore. */
export function datastoreUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.TWILL_DATASTORE?.trim();
  return v ? v : `file:${defaultDatastorePath(env)}`;
}

function parseEndpoint(url: string, hp: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d+))?$/.exec(hp);
  if (!m) throw new DatastoreConfigError(`datastore URL "${url}": "${hp}" is not host:port`);
  const port = m[2] === undefined ? 2379 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DatastoreConfigError(`datastore URL "${url}": port in "${hp}" is not 1..65535`);
  }
  return { host: m[1] as string, port };
}

export function parseDatastoreUrl(url: string): ParsedDatastoreUrl {
  const u = url.trim();
  if (u === 'memory:' || u === 'memory' || u.startsWith('memory:')) return { backend: 'memory' };
  if (u.startsWith('file:')) {
    let p = u.slice('file:'.length);
    if (p.startsWith('//')) {
      // file:///abs/path (empty host) or file://localhost/abs/path
      const rest = p.slice(2);
      const slash = rest.indexOf('/');
      const host = slash < 0 ? rest : rest.slice(0, slash);
      if (host !== '' && host !== 'localhost') {
        throw new DatastoreConfigError(`datastore URL "${url}": a file datastore must be local (got host "${host}")`);
      }
      p = slash < 0 ? '' : rest.slice(slash);
    }
    if (p === '') throw new DatastoreConfigError(`datastore URL "${url}" has no file path`);
    if (p.startsWith('~/')) p = join(homedir(), p.slice(2));
    return { backend: 'file', path: resolve(p) };
  }
  if (u.startsWith('etcd://')) {
    const rest = u.slice('etcd://'.length).replace(/\/+$/, '');
    if (rest === '') throw new DatastoreConfigError(`datastore URL "${url}" names no etcd endpoint`);
    return { backend: 'etcd', endpoints: rest.split(',').map((hp) => parseEndpoint(url, hp.trim())) };
  }
  throw new DatastoreConfigError(`datastore URL "${url}" is not understood`);
}
