// The top-of-rack routers: a rack's `tor:` picks the daemon the plan configures (BIRD or FRR),
// both configs say the same thing and are accepted by the real daemons' own parsers (bird -p,
// bgpd -C: parse only, no socket, no kernel), and each daemon's session listing is read right.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModel } from '../../../src/lab/model.js';
import { planLab } from '../../../src/lab/plan.js';
import { FRR_TMP, parseBirdProtocols, parseFrrSummary } from '../../../src/lab/tor.js';
import type { TorNeighbor } from '../../../src/lab/tor-config.js';
import { missing } from '../../support/env.js';

const LAB = join(__dirname, '../../../manifests/lab');
const mixed = parseModel(readFileSync(join(LAB, 'zones-frr.yaml'), 'utf8'), 'zones-frr.yaml');
const dir = mkdtempSync(join(tmpdir(), 'twill-tor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ToR plan', () => {
  it('a rack with tor: frr gets an FRR config, a bird rack a BIRD one, each peering with its hosts and the other ToR', () => {
    const p = planLab(mixed, 'm');
    const [r1, r2] = p.tors;
    expect(r1).toMatchObject({ rack: 'r1', daemon: 'bird', asn: 65001, spineAddr: '198.19.0.1' });
    expect(r2).toMatchObject({ rack: 'r2', daemon: 'frr', asn: 65002, spineAddr: '198.19.0.2', outsideAddr: '198.19.102.254' });
    expect(r1!.neighbors).toEqual([
      { kind: 'host', name: 'h1', addr: '198.18.1.1', asn: 64512 },
      { kind: 'host', name: 'h2', addr: '198.18.1.2', asn: 64512 },
      { kind: 'tor', name: 'r2', addr: '198.19.0.2', asn: 65002 },
    ]);
    expect(r2!.neighbors.map((n) => `${n.kind} ${n.addr} ${n.asn}`)).toEqual(['host 198.18.2.1 64512', 'tor 198.19.0.1 65001']);
    expect(r1!.config).toMatch(/^# twill-lab top-of-rack router tor-r1 \(BIRD 2\)/);
    expect(r1!.config).toContain('neighbor 198.19.0.2 as 65002');
    const frr = r2!.config;
    expect(frr).toMatch(/^frr defaults traditional\n/);
    expect(frr).toContain('router bgp 65002');
    expect(frr).toContain(' neighbor 198.18.2.1 remote-as 64512');
    expect(frr).toContain(' neighbor 198.19.0.1 remote-as 65001');
    // Graceful restart as BIRD has it; the hosts' routes accepted; nothing sent to the hosts.
    expect(frr).toContain(' bgp graceful-restart\n');
    expect(frr).toContain(' no bgp ebgp-requires-policy');
    expect(frr).toContain('  neighbor 198.18.2.1 route-map TO-HOSTS out');
    expect(frr).not.toContain('  neighbor 198.19.0.1 route-map');
    expect(frr).toContain('route-map TO-HOSTS deny 10');
  });

  it('the default rack is BIRD; tor: accepts only bird or frr', () => {
    expect(planLab(parseModel('hosts: 1\n'), 'd').tors[0]!.daemon).toBe('bird');
    expect(() => parseModel('racks: [{ name: r1, tor: quagga }]\n')).toThrow(/"quagga": use bird or frr/);
  });
});

const frrReason = missing({ tools: ['/usr/lib/frr/bgpd'] });
const birdReason = missing({ tools: ['bird'] });

/** bgpd's parse-only run: no BGP socket, no zebra, no kernel, no privilege change. Returns its complaints. */
function frrParse(conf: string): string[] {
  const f = join(dir, 'frr.conf');
  writeFileSync(f, conf);
  const r = spawnSync('/usr/lib/frr/bgpd', ['-C', '-S', '-p', '0', '-Z', '-n', '-P', '0', '--vty_socket', dir, '-i', join(dir, 'bgpd.pid'), '-f', f, '--log', 'stdout'], { encoding: 'utf8', timeout: 20_000 });
  if (r.pid) rmSync(join(FRR_TMP, `bgpd.${r.pid}`), { recursive: true, force: true });
  expect(r.status, r.stderr).toBe(0);
  return `${r.stdout}${r.stderr}`.split('\n').filter((l) => /No such command|Unknown command|error|Error/.test(l) && !/crashlog|mkdir/.test(l));
}

describe.skipIf(frrReason)('FRR accepts the ToR config it is given', () => {
  it('bgpd -C finds nothing wrong (and does find a broken line)', () => {
    const conf = planLab(mixed, 'm').tors[1]!.config;
    expect(frrParse(conf)).toEqual([]);
    expect(frrParse(conf.replace(' bgp graceful-restart\n', ' bgp graceful-restartz\n')).join('\n')).toMatch(/graceful-restartz/);
  });
});

describe.skipIf(birdReason)('BIRD accepts the ToR config it is given', () => {
  it('bird -p parses it (and rejects a broken one)', () => {
    const f = join(dir, 'bird.conf');
    const conf = planLab(mixed, 'm').tors[0]!.config;
    writeFileSync(f, conf);
    const ok = spawnSync('bird', ['-p', '-c', f], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    writeFileSync(f, conf.replace('graceful restart on;', 'graceful restartz on;'));
    expect(spawnSync('bird', ['-p', '-c', f], { encoding: 'utf8' }).status).not.toBe(0);
  });
});

describe('ToR sessions as the daemons list them', () => {
  const neighbors: TorNeighbor[] = [
    { kind: 'host', name: 'h1', addr: '198.18.1.1', asn: 64512 },
    { kind: 'host', name: 'h2', addr: '198.18.1.2', asn: 64512 },
    { kind: 'tor', name: 'r2', addr: '198.19.0.2', asn: 65002 },
  ];

  it('birdc show protocols (BIRD 2.0.12): up is Established, start shows the BGP state, down is down', () => {
    const out = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     20:01:32.471  
host_h1    BGP        ---        up     20:01:33.102  Established   
host_h2    BGP        ---        start  20:01:32.471  Active        Socket: Connection refused
tor_r2     BGP        ---        down   20:01:34.499  
`;
    expect(parseBirdProtocols(out, neighbors)).toEqual([
      { peerAddress: '198.18.1.1', peer: 'host h1', state: 'Established', info: 'Established' },
      { peerAddress: '198.18.1.2', peer: 'host h2', state: 'Active', info: 'Active Socket: Connection refused' },
      { peerAddress: '198.19.0.2', peer: 'tor r2', state: 'down' },
    ]);
  });

  it('vtysh show bgp summary json: each neighbour by address; one the daemon does not list is Unknown', () => {
    const json = JSON.stringify({
      ipv4Unicast: {
        routerId: '198.18.1.254',
        peers: {
          '198.18.1.1': { remoteAs: 64512, state: 'Established', peerState: 'OK', pfxRcd: 1 },
          '198.19.0.2': { remoteAs: 65002, state: 'Active', peerState: 'OK' },
        },
      },
    });
    expect(parseFrrSummary(json, neighbors)).toEqual([
      { peerAddress: '198.18.1.1', peer: 'host h1', state: 'Established' },
      { peerAddress: '198.18.1.2', peer: 'host h2', state: 'Unknown' },
      { peerAddress: '198.19.0.2', peer: 'tor r2', state: 'Active' },
    ]);
  });
});
