import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabModelError, parseModel } from '../../../src/lab/model.js';
import { planLab } from '../../../src/lab/plan.js';

const LAB = join(__dirname, '../../../manifests/lab');

function problems(text: string): string[] {
  try {
    parseModel(text, 'm.yaml');
  } catch (e) {
    if (e instanceof LabModelError) return e.problems.map((p) => `${p.line}: ${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('lab model', () => {
  it('the shipped examples are valid', () => {
    const zones = parseModel(readFileSync(join(LAB, 'zones.yaml'), 'utf8'), 'zones.yaml');
    expect(zones.hosts.map((h) => h.name)).toEqual(['h1', 'h2', 'h3']);
    expect(zones.workloads.map((w) => w.labels.zone)).toEqual(['dmz', 'dmz', 'app', 'app', 'backend', 'backend']);
    expect(zones.outside).toEqual([{ name: 'client', rack: 'r1' }]);
    const xyz = parseModel(readFileSync(join(LAB, 'xyz.yaml'), 'utf8'), 'xyz.yaml');
    expect(xyz.workloads).toHaveLength(9);
    expect(xyz.namespaces.find((n) => n.name === 'y')?.labels).toEqual({ ns: 'y', 'kubernetes.io/metadata.name': 'y' });
    expect(xyz.workloads[0]!.ports.map((p) => p.name)).toEqual(['serve-80-tcp', 'serve-81-tcp', 'serve-80-udp', 'serve-81-udp']);
  });

  it('reports every problem with its line, and starts nothing', () => {
    const text = `name: t
hosts: 2
workloads:
  - name: a
    host: h9
    ports: [80]
  - name: b
    host: h1
    prots: [80]
expect:
  - { from: default/b, to: default/a, port: 81, allowed: true }
pools:
  - cidr: 192.168.0.0/16
`;
    const p = problems(text);
    expect(p).toContainEqual(expect.stringMatching(/^5: workloads\[0\]\.host: "h9" is not a host of this lab \(hosts: h1, h2\)/));
    expect(p).toContainEqual(expect.stringMatching(/^9: workloads\[1\]\.prots: unknown key/));
    expect(p).toContainEqual(expect.stringMatching(/^11: expect\[0\]\.from: "default\/b"|^11: expect\[0\]\.to/));
    expect(p).toContainEqual(expect.stringMatching(/^13: pools\[0\]\.cidr: lab pools must be inside 10\.0\.0\.0\/8/));
  });

  it('rejects broken YAML, a ToR in the cluster AS, and the mesh off without a reflector', () => {
    expect(problems('hosts: [h1\n')[0]).toMatch(/YAML/);
    expect(problems('bgp: { asn: 65001 }\n').join('\n')).toMatch(/cluster's own AS 65001/);
    expect(problems('bgp: { mesh: false }\n').join('\n')).toMatch(/name at least one host in bgp.routeReflectors/);
    expect(problems('bgp: { mesh: racks }\n').join('\n')).toMatch(/bgp.mesh: must be true, false or "rack"/);
  });
});

describe('lab plan', () => {
  const model = parseModel(readFileSync(join(LAB, 'zones.yaml'), 'utf8'), 'zones.yaml');

  it('names every namespace after the lab, so two labs never collide', () => {
    const a = planLab(model, 'alpha');
    const b = planLab(model, 'beta');
    const nsA = [...a.hosts.map((h) => h.ns), ...a.tors.map((t) => t.ns), ...a.workloads.map((w) => w.ns), ...a.lans.map((l) => l.ns), ...a.outside.map((o) => o.ns)];
    expect(nsA.every((n) => n.startsWith('alpha-'))).toBe(true);
    expect(new Set(nsA).size).toBe(nsA.length);
    const nsB = new Set([...b.hosts.map((h) => h.ns), ...b.workloads.map((w) => w.ns)]);
    expect(nsA.filter((n) => nsB.has(n))).toEqual([]);
  });

  it('with mesh: rack, meshes the hosts of each rack only (no node-to-node mesh across racks)', () => {
    const frr = parseModel(readFileSync(join(LAB, 'zones-frr.yaml'), 'utf8'), 'zones-frr.yaml');
    expect(frr.bgp.mesh).toBe('rack');
    const p = planLab(frr);
    expect(p.resources.find((r) => r.kind === 'BGPConfiguration')?.spec).toMatchObject({ nodeToNodeMeshEnabled: false });
    const meshes = p.resources.filter((r) => r.kind === 'BGPPeer' && r.metadata.name.startsWith('rack-mesh-'));
    expect(meshes.map((r) => [r.metadata.name, r.spec])).toEqual([
      ['rack-mesh-r1', { nodeSelector: "twill.io/rack == 'r1'", peerSelector: "twill.io/rack == 'r1'" }],
      ['rack-mesh-r2', { nodeSelector: "twill.io/rack == 'r2'", peerSelector: "twill.io/rack == 'r2'" }],
    ]);
    expect(planLab(model).resources.find((r) => r.kind === 'BGPConfiguration')?.spec).toMatchObject({ nodeToNodeMeshEnabled: true });
  });

  it('puts hosts and their ToR on one LAN, peers each host with its ToR, and gives namespaces their labels', () => {
    const p = planLab(model);
    expect(p.hosts.map((h) => h.addr)).toEqual(['198.18.1.1', '198.18.1.2', '198.18.1.3']);
    expect(p.tors[0]!.addr).toBe('198.18.1.254');
    expect(p.tors[0]!.config).toContain('neighbor 198.18.1.2 as 64512');
    const peers = p.resources.filter((r) => r.kind === 'BGPPeer');
    expect(peers.map((r) => r.spec)).toContainEqual({ node: 'h1', peerIP: '198.18.1.254', asNumber: 65001 });
    const kns = p.resources.find((r) => r.kind === 'Profile' && r.metadata.name === 'kns.zones');
    expect(kns?.spec).toMatchObject({ labelsToApply: { env: 'demo' } });
    expect(p.outside[0]).toMatchObject({ addr: '198.19.101.1', gateway: '198.19.101.254' });
  });

  it('has the ToR hold its kernel routes across a graceful restart of BIRD (kernel protocol and every session)', () => {
    const conf = planLab(model).tors[0]!.config;
    expect(conf).toMatch(/protocol kernel \{[^\n]*graceful restart on;/);
    expect(conf.match(/protocol bgp/g)).toHaveLength(3);
    expect(conf.match(/graceful restart on;/g)).toHaveLength(4);
  });
});
