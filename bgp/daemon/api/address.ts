// The --api address: a unix socket (unix:///run/twill/bgp.sock, the default) or, for tests and
// remote tooling, host:port over TCP (no TLS: keep it on loopback).
import { isAbsolute, resolve } from 'node:path';
import { ApiAddressError } from '../errors.js';

export const DEFAULT_API = 'unix:///run/twill/bgp.sock';

export type ApiAddress =
  | { kind: 'unix'; path: string; target: string }
  | { kind: 'tcp'; host: string; port: number; target: string };

export function parseApiAddress(s: string): ApiAddress {
  if (s.startsWith('unix://')) {
    const path = s.slice('unix://'.length);
    if (!isAbsolute(path)) throw new ApiAddressError(s);
    return { kind: 'unix', path, target: `unix://${path}` };
  }
  if (s.startsWith('unix:')) {
    const path = resolve(s.slice('unix:'.length));
    if (path === '/' || s.length === 5) throw new ApiAddressError(s);
    return { kind: 'unix', path, target: `unix://${path}` };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(s);
  if (!m) throw new ApiAddressError(s);
  const port = Number(m[3]);
  if (port > 65535) throw new ApiAddressError(s);
  const host = m[1] ?? m[2] ?? '';
  return { kind: 'tcp', host, port, target: m[1] ? `[${host}]:${port}` : `${host}:${port}` };
}
