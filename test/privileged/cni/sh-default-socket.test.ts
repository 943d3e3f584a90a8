// The installed twill-cni (the sh client) with no "socket" in its configuration uses the default
// /run/twill/cni.sock and tells the server its network namespace (the server serves only its own
// namespace's calls through the default socket: cni/server.ts). /run/twill is shared by every
// test on this machine, so the test runs in a private mount namespace with its own /run (unshare
// -m; root), where a stand-in server on /run/twill/cni.sock answers in the sh framing with what
// it received. `npm run build` first.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { missing } from '../../support/env.js';

const DIST_CNI = resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/src/cni');
const reason = missing({ root: true, tools: ['unshare', 'mount', 'socat', 'readlink'] });

// Answers one call per connection: EXIT 0 and the request's header line.
const STANDIN = `
const net = require('node:net');
const s = net.createServer({ allowHalfOpen: true }, (c) => {
  const chunks = [];
  c.on('data', (d) => chunks.push(d));
  c.on('end', () => {
    const buf = Buffer.concat(chunks);
    const header = buf.subarray(0, buf.indexOf(10)).toString();
    c.end('EXIT 0\\n' + JSON.stringify({ header, command: /\\0CNI_COMMAND=([A-Z]+)\\0/.exec('\\0' + buf.toString('latin1'))?.[1] }) + '\\n');
  });
});
s.listen(process.argv[2], () => process.stdout.write('listening\\n'));
`;

describe.skipIf(reason)('the sh client and the default socket (privileged)', () => {
  it('connects to /run/twill/cni.sock and sends its network namespace, so the server can tell whether the call is its own', () => {
    if (!existsSync(join(DIST_CNI, 'client.cjs'))) throw new Error(`${DIST_CNI}/client.cjs is missing: run "npm run build" first`);
    const dir = mkdtempSync(join(tmpdir(), 'twill-sh-default-'));
    try {
      const inst = spawnSync(process.execPath, [join(DIST_CNI, 'client.cjs'), 'install', '--bin-dir', join(dir, 'bin'), '--conf-dir', join(dir, 'net.d')], { encoding: 'utf8' });
      expect(inst.status, inst.stderr).toBe(0);
      writeFileSync(join(dir, 'standin.cjs'), STANDIN);
      writeFileSync(join(dir, 'conf.json'), JSON.stringify({ cniVersion: '1.0.0', name: 'twnet', type: 'twill-cni' }));
      const script = [
        'set -e',
        'mount -t tmpfs tmpfs /run',
        'mkdir -m 700 /run/twill',
        `"${process.execPath}" "${dir}/standin.cjs" /run/twill/cni.sock > "${dir}/standin.out" &`,
        'pid=$!',
        "trap 'kill $pid 2>/dev/null' EXIT",
        'i=0; while [ ! -S /run/twill/cni.sock ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done',
        'echo "netns=$(readlink /proc/self/ns/net)"',
        `CNI_COMMAND=VERSION "${dir}/bin/twill-cni" < "${dir}/conf.json"`,
        'echo "rc=$?"',
      ].join('\n');
      const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      const netns = /^netns=(net:\[\d+\])$/m.exec(r.stdout)?.[1];
      expect(netns, r.stdout).toBeDefined();
      const answer = /^(\{.*\})$/m.exec(r.stdout)?.[1];
      expect(answer, r.stdout).toBeDefined();
      // The stand-in answered (the sh client handed the call over), and saw "not named, this netns".
      expect(JSON.parse(answer!)).toEqual({ header: `TWILL-CNI-SH/1 0 ${netns}`, command: 'VERSION' });
      expect(r.stdout).toMatch(/^rc=0$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
