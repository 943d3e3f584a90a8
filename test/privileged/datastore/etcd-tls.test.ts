// The etcd backend over TLS with client certificates: a real etcd with --client-cert-auth and
// certificates made by openssl for this test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatastore, UnreachableError, type DatastoreOptions } from '../../../src/datastore/index.js';
import { pool } from '../../support/datastore-contract.js';
import { missing } from '../../support/env.js';
import { freePort } from '../../support/etcd.js';
import { makePki } from '../../support/pki.js';

const skip = missing({ tools: ['etcd', 'openssl'] });

describe.skipIf(skip)('etcd backend over TLS', () => {
  let dir: string;
  let proc: ChildProcess | undefined;
  let url: string;
  let good: DatastoreOptions;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-etcd-tls-'));
    makePki(dir);
    const port = await freePort();
    const peer = await freePort();
    url = `etcd://127.0.0.1:${port}`;
    good = { etcdCa: join(dir, 'ca.pem'), etcdCert: join(dir, 'client.pem'), etcdKey: join(dir, 'client.key'), timeoutMs: 3000 };
    proc = spawn(
      'etcd',
      [
        '--name', 'twill-tls', '--data-dir', join(dir, 'data'), '--log-level', 'error',
        '--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `twill-tls=http://127.0.0.1:${peer}`,
        '--cert-file', join(dir, 'server.pem'), '--key-file', join(dir, 'server.key'),
        '--trusted-ca-file', join(dir, 'ca.pem'), '--client-cert-auth',
      ],
      { stdio: 'ignore' },
    );
    // Ready when a correctly configured client gets an answer.
    for (let i = 0; ; i++) {
      try {
        const ds = await openDatastore(url, good);
        await ds.close();
        break;
      } catch (e) {
        if (i > 100 || proc.exitCode !== null) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const p = proc;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      });
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('works with the right CA, client certificate and key', async () => {
    const ds = await openDatastore(url, good);
    try {
      const created = await ds.create(pool('over-tls'));
      expect(await ds.get({ kind: 'IPPool', name: 'over-tls' })).toEqual(created);
    } finally {
      await ds.close();
    }
  });

  it('refuses a server whose certificate the given CA did not sign', async () => {
    const err = await openDatastore(url, { ...good, etcdCa: join(dir, 'other-ca.pem') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toContain(url.replace('etcd://', ''));
    expect((err as UnreachableError).hint).toMatch(/--etcd-ca/);
  });

  it('is refused without a client certificate, and without TLS at all', async () => {
    const noCert = await openDatastore(url, { etcdCa: good.etcdCa, timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(noCert).toBeInstanceOf(UnreachableError);
    const plain = await openDatastore(url, { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect((noCert as UnreachableError).hint).toMatch(/--etcd-cert/);
    expect(plain).toBeInstanceOf(UnreachableError);
  });
});
