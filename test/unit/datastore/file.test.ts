import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptDatastoreError,
  EmbeddedDatastore,
  InUseError,
  openDatastore,
  type Resource,
} from '../../../src/datastore/index.js';
import { datastoreContract, EventLog, pool } from '../../support/datastore-contract.js';
import { transpileDatastore } from './transpile.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'twill-ds-file-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

datastoreContract('file:', async () => {
  const dir = tempDir();
  const ds = await openDatastore(`file:${join(dir, 'ds.json')}`);
  return {
    ds,
    cleanup: async () => {
      await ds.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** Each file content fails to open with CorruptDatastoreError naming the file and matching its pattern; the file is left untouched. */
async function expectCorrupt(dir: string, cases: readonly (readonly [string, RegExp])[]): Promise<void> {
  for (const [i, [content, why]] of cases.entries()) {
    const path = join(dir, `bad${i}.json`);
    writeFileSync(path, content);
    const err = await openDatastore(`file:${path}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDatastoreError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(why);
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(existsSync(`${path}.lock`)).toBe(false);
  }
}

// A child process that runs the real datastore code (transpiled to JS).
const CHILD = `
const [mode, path] = process.argv.slice(1);
const { openFileDatastore } = await import(process.env.TWILL_DS_JS);
let ds;
try {
  ds = await openFileDatastore(path);
} catch (e) {
  console.log(JSON.stringify({ error: e.code ?? String(e), pid: e.pid, message: e.message }));
  process.exit(0);
}
if (mode === 'open') { console.log(JSON.stringify({ ok: true })); await ds.close(); process.exit(0); }
if (mode === 'hold') { console.log(JSON.stringify({ ok: true })); process.stdin.resume(); process.stdin.on('end', () => ds.close().then(() => process.exit(0))); }
if (mode === 'write') {
  for (let i = 0; ; i++) {
    await ds.create({ apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name: 'p' + i, labels: { pad: 'x'.repeat(200) } }, spec: { cidr: '10.0.0.0/8' } });
    console.log(JSON.stringify({ acked: i }));
  }
}
`;

describe('file: specifics', () => {
  let jsDir: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    jsDir = tempDir();
    transpileDatastore(jsDir);
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  /** Starts the child; `lines` yields its JSON output lines. */
  function child(mode: 'open' | 'hold' | 'write', path: string): { proc: ChildProcess; next(): Promise<Record<string, unknown>> } {
    const proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD, mode, path], {
      env: { ...process.env, TWILL_DS_JS: join(jsDir, 'src', 'datastore', 'file', 'open.js') },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(proc);
    const rl = createInterface({ input: proc.stdout! });
    const queue: string[] = [];
    const waiters: ((l: string | undefined) => void)[] = [];
    let ended = false;
    rl.on('line', (l) => (waiters.length ? waiters.shift()!(l) : queue.push(l)));
    rl.on('close', () => {
      ended = true;
      while (waiters.length) waiters.shift()!(undefined);
    });
    return {
      proc,
      next: () =>
        new Promise((resolve, reject) => {
          const take = (l: string | undefined): void =>
            l === undefined ? reject(new Error('child ended without output')) : resolve(JSON.parse(l) as Record<string, unknown>);
          if (queue.length) take(queue.shift());
          else if (ended) take(undefined);
          else waiters.push(take);
        }),
    };
  }

  function exited(p: ChildProcess): Promise<void> {
    return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
  }

  it('keeps objects, revisions and identity across close and reopen', async () => {
    const path = join(tempDir(), 'state', 'ds.json');
    const a = await openDatastore(`file:${path}`);
    const p1 = await a.create(pool('p1', '10.1.0.0/16'));
    const p2 = await a.create(pool('p2', '10.2.0.0/16'));
    const p2b = await a.update({ ...p2, spec: { cidr: '10.3.0.0/16' } } as Resource);
    await a.create(pool('p3'));
    await a.delete({ kind: 'IPPool', name: 'p3' });
    const listed = await a.list({ kind: 'IPPool' });
    await a.close();

    const b = await openDatastore(`file:${path}`);
    expect(await b.get({ kind: 'IPPool', name: 'p1' })).toEqual(p1);
    expect(await b.get({ kind: 'IPPool', name: 'p2' })).toEqual(p2b);
    expect(await b.get({ kind: 'IPPool', name: 'p3' })).toBeUndefined();
    const again = await b.list({ kind: 'IPPool' });
    expect(again).toEqual(listed);
    // Revisions continue, and compare-and-swap on a pre-restart revision still works.
    const p1b = await b.update(p1);
    expect(Number(p1b.metadata.resourceVersion)).toBeGreaterThan(Number(listed.revision));
    await b.close();
  });

  it('gives resync to a watch from before the reopen (history is not persisted)', async () => {
    const path = join(tempDir(), 'ds.json');
    const a = await openDatastore(`file:${path}`);
    const { revision } = await a.list({ kind: 'IPPool' });
    await a.create(pool('p1'));
    await a.close();
    const b = await openDatastore(`file:${path}`);
    const log = new EventLog();
    const w = b.watch({ kind: 'IPPool', afterRevision: revision }, log.handler);
    await log.until((e) => e.length >= 1, 'resync');
    expect(log.changes().map((e) => e.type)).toEqual(['resync']);
    await w.close();
    await b.close();
  });

  it('writes the file with owner-only permissions', async () => {
    const path = join(tempDir(), 'ds.json');
    const a = await openDatastore(`file:${path}`);
    await a.create(pool('p1'));
    await a.close();
    expect(statSync(path).mode & 0o077).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ format: 'twill-datastore', version: 1 });
  });

  it('ignores and removes a temp file a crashed writer left behind', async () => {
    const dir = tempDir();
    const path = join(dir, 'ds.json');
    const a = await openDatastore(`file:${path}`);
    const p1 = await a.create(pool('p1'));
    await a.close();
    const leftover = join(dir, 'ds.json.tmp-4242-deadbeef');
    writeFileSync(leftover, '{"format":"twill-datastore","version":1,"revision":99,"items":[{"createRev');
    const b = await openDatastore(`file:${path}`);
    expect((await b.list({ kind: 'IPPool' })).items).toEqual([p1]);
    expect(existsSync(leftover)).toBe(false);
    await b.close();
  });

  it('survives a writer killed with SIGKILL in the middle of writing: every acknowledged write is there', async () => {
    const path = join(tempDir(), 'ds.json');
    const c = child('write', path);
    let acked = -1;
    while (acked < 60) acked = Number((await c.next()).acked);
    c.proc.kill('SIGKILL');
    await exited(c.proc);
    // The dead writer's lock is stale and is taken over; the file is whole.
    const ds = await openDatastore(`file:${path}`);
    const names = new Set((await ds.list({ kind: 'IPPool' })).items.map((r) => r.metadata.name));
    for (let i = 0; i <= acked; i++) expect(names.has(`p${i}`)).toBe(true);
    expect(names.size).toBeGreaterThanOrEqual(acked + 1);
    await ds.close();
    expect(readdirSync(join(path, '..')).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a second process opening the same file gets InUseError naming the holder', async () => {
    const path = join(tempDir(), 'ds.json');
    const ds = await openDatastore(`file:${path}`);
    try {
      const c = child('open', path);
      const out = await c.next();
      expect(out.error).toBe('InUse');
      expect(out.pid).toBe(process.pid);
      expect(String(out.message)).toContain(path);
      await exited(c.proc);
    } finally {
      await ds.close();
    }
    // Released on close: now the other process gets it.
    const c2 = child('open', path);
    expect(await c2.next()).toEqual({ ok: true });
    await exited(c2.proc);
  });

  it('refuses while another live process holds it, and takes over the lock once that process is dead', async () => {
    const path = join(tempDir(), 'ds.json');
    const holder = child('hold', path);
    expect(await holder.next()).toEqual({ ok: true });
    const err = await openDatastore(`file:${path}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InUseError);
    expect((err as InUseError).pid).toBe(holder.proc.pid);
    holder.proc.kill('SIGKILL');
    await exited(holder.proc);
    const ds = await openDatastore(`file:${path}`);
    await ds.create(pool('mine'));
    await ds.close();
  });

  it('refuses a second open in the same process too', async () => {
    const path = join(tempDir(), 'ds.json');
    const ds = await openDatastore(`file:${path}`);
    await expect(openDatastore(`file:${path}`)).rejects.toBeInstanceOf(InUseError);
    await ds.close();
  });

  it('says clearly that a corrupt file is corrupt, names it, and leaves it untouched', async () => {
    const dir = tempDir();
    const cases: [string, RegExp][] = [
      ['{"format":"twill-datastore","version":1,"revision":3,"items":[{"createRev', /not JSON/],
      ['{"hello":"world"}', /"format" is not "twill-datastore"/],
      ['{"format":"twill-datastore","version":7,"revision":1,"items":[]}', /version 7 is not supported/],
      [
        '{"format":"twill-datastore","version":1,"revision":1,"items":[{"createRevision":1,"resource":{"kind":"Bogus","metadata":{"name":"x","resourceVersion":"1"}}}]}',
        /item 0/,
      ],
      [
        '{"format":"twill-datastore","version":1,"revision":1,"items":[{"createRevision":1,"resource":{"kind":"IPPool","metadata":{"name":"x","resourceVersion":"5"}}}]}',
        /bad resourceVersion/,
      ],
    ];
    await expectCorrupt(dir, cases);
  });

  it('reads a file as it writes it a line at a time, any other layout as a whole, with the same objects and the same errors', async () => {
    const dir = tempDir();
    const path = join(dir, 'ds.json');
    const a = await openDatastore(`file:${path}`);
    await a.create(pool('p1', '10.1.0.0/16'));
    await a.create(pool('p2', '10.2.0.0/16'));
    await a.create(pool('p3', '10.3.0.0/16'));
    const listed = await a.list({ kind: 'IPPool' });
    await a.close();
    const written = readFileSync(path, 'utf8');

    // The same document pretty-printed: the whole-document reading.
    const pretty = join(dir, 'pretty.json');
    writeFileSync(pretty, JSON.stringify(JSON.parse(written), null, 2));
    for (const p of [path, pretty]) {
      const b = await openDatastore(`file:${p}`);
      expect(await b.list({ kind: 'IPPool' })).toEqual(listed);
      await b.close();
    }

    // One bad line of a file in the written layout: the error the whole-document reading gives.
    const lines = written.split('\n');
    const cases: [string, RegExp][] = [
      [lines.map((l, i) => (i === 2 ? l.replace('"resourceVersion":"2"', '"resourceVersion":"9"') : l)).join('\n'), /item 1 \(IPPool p2\) has a bad resourceVersion/],
      [lines.map((l, i) => (i === 3 ? lines[2]!.slice(0, -1) : l)).join('\n'), /item 2 duplicates \/twill\/v1\/IPPool\/p2/],
      [lines.map((l, i) => (i === 2 ? l.slice(0, 40) : l)).join('\n'), /not JSON/],
      [lines.map((l, i) => (i === 1 ? l.replace('"createRevision":1', '"createRevision":0') : l)).join('\n'), /item 0 \(IPPool p1\) has a bad createRevision/],
    ];
    await expectCorrupt(dir, cases);
  });

  it('hands out copies: changing what a read returned changes nothing stored, before or after a write', async () => {
    const path = join(tempDir(), 'ds.json');
    const a = await openDatastore(`file:${path}`);
    const p1 = await a.create(pool('p1', '10.1.0.0/16'));
    const p2 = await a.create(pool('p2', '10.2.0.0/16'));
    await a.close();
    const b = await openDatastore(`file:${path}`);
    const got = await b.get<Resource>({ kind: 'IPPool', name: 'p1' });
    (got!.spec as { cidr: string }).cidr = '10.9.0.0/16';
    const listed = await b.list({ kind: 'IPPool' });
    expect(listed.items).toEqual([p1, p2]);
    (listed.items[1]!.spec as { cidr: string }).cidr = '10.9.0.0/16';
    expect((await b.list({ kind: 'IPPool' })).items).toEqual([p1, p2]);
    await b.close();
    const c = await openDatastore(`file:${path}`);
    const p2b = await c.update({ ...p2, spec: { cidr: '10.4.0.0/16' } } as Resource);
    expect(await c.get({ kind: 'IPPool', name: 'p2' })).toEqual(p2b);
    expect(await c.get({ kind: 'IPPool', name: 'p1' })).toEqual(p1);
    await c.close();
  });

  it('does not expose a write that could not be stored', async () => {
    const dir = tempDir();
    const path = join(dir, 'ds.json');
    const ds = (await openDatastore(`file:${path}`)) as EmbeddedDatastore;
    await ds.create(pool('kept'));
    // Make the directory unwritable for the temp file by replacing it... as root, chmod does not
    // stop us, so remove the directory instead: the temp file cannot be created.
    rmSync(dir, { recursive: true, force: true });
    await expect(ds.create(pool('lost'))).rejects.toMatchObject({ code: 'Storage' });
    expect(await ds.get({ kind: 'IPPool', name: 'lost' })).toBeUndefined();
    expect((await ds.list({ kind: 'IPPool' })).items.map((r) => r.metadata.name)).toEqual(['kept']);
    await ds.close();
  });
});
