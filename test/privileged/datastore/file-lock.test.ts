// The file datastore under concurrent writers: N real `twillctl apply` processes (the built
// program) started at once on a fresh store. Each holds the file's lock for its whole run; the
// others wait their turn, so every apply succeeds and every write is in the file afterwards.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatastore } from '../../../src/datastore/index.js';

const TWILLCTL = resolve(__dirname, '../../../dist/src/cli/main.js');
const N = 8;

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [TWILLCTL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', rej);
    p.on('close', (code) => res({ code, out, err }));
  });
}

describe('file datastore: concurrent twillctl apply (the built program)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-file-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`${N} applies started at once on a fresh store all succeed, and every write is there`, async () => {
    const store = join(dir, 'ds.json');
    const files = Array.from({ length: N }, (_, i) => {
      const f = join(dir, `pool-${i}.yaml`);
      writeFileSync(f, ['apiVersion: twill.io/v1', 'kind: IPPool', 'metadata:', `  name: pool-${i}`, 'spec:', `  cidr: 10.${100 + i}.0.0/16`, ''].join('\n'));
      return f;
    });
    const results = await Promise.all(files.map((f) => run(['--datastore', `file:${store}`, 'apply', '-f', f])));
    for (const r of results) expect(r, r.err).toMatchObject({ code: 0 });
    const ds = await openDatastore(`file:${store}`);
    try {
      const names = (await ds.list({ kind: 'IPPool' })).items.map((p) => p.metadata.name).sort();
      expect(names).toEqual(files.map((_, i) => `pool-${i}`).sort());
    } finally {
      await ds.close();
    }
    // No lock or temp file is left behind.
    expect(readdirSync(dir).filter((n) => n.startsWith('ds.json') && n !== 'ds.json')).toEqual([]);
  });

  it('a lock file still being written (empty, then a live pid) is not taken for abandoned', async () => {
    const store = join(dir, 'held.json');
    const lock = `${store}.lock`;
    const f = join(dir, 'held-pool.yaml');
    writeFileSync(f, ['apiVersion: twill.io/v1', 'kind: IPPool', 'metadata:', '  name: held', 'spec:', '  cidr: 10.99.0.0/16', ''].join('\n'));
    // This process is "another writer" caught between creating its lock file and writing its pid.
    writeFileSync(lock, '');
    const apply = run(['--datastore', `file:${store}`, 'apply', '-f', f]);
    let finished = false;
    void apply.then(() => (finished = true));
    // Long enough for twillctl to start and meet the empty lock (it must not finish meanwhile).
    await new Promise((r) => setTimeout(r, 3000));
    expect(finished).toBe(false);
    const mine = JSON.stringify({ pid: process.pid });
    writeFileSync(lock, mine);
    await new Promise((r) => setTimeout(r, 500));
    // The apply waited: our lock is still ours, and nothing was written behind our back.
    expect(existsSync(lock) ? readFileSync(lock, 'utf8') : 'gone').toBe(mine);
    expect(existsSync(store)).toBe(false);
    unlinkSync(lock);
    const r = await apply;
    expect(r, r.err).toMatchObject({ code: 0 });
    const ds = await openDatastore(`file:${store}`);
    try {
      expect((await ds.list({ kind: 'IPPool' })).items.map((p) => p.metadata.name)).toEqual(['held']);
    } finally {
      await ds.close();
    }
  });
});
