// The config keys of the peering features (route reflection, ECMP, graceful restart, MD5, GTSM, maxPrefixes, ADD-PATH).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../bgp/daemon/config.js';
import { ConfigError } from '../../../../bgp/daemon/errors.js';
import { resolveConfig } from '../../../../bgp/server/config.js';

const YAML = `
routerId: 192.0.2.1
asn: 65000
clusterId: "10.0.0.1"
maxPaths: 4
gracefulRestart:
  enabled: true
  restartTime: 90
  stalePathTime: 300
neighbors:
  - address: 192.0.2.2
    asn: 65000
    routeReflectorClient: true
    password: "secret"
    ttlSecurity: 1
    maxPrefixes: 1000
    addPath: { send: true, receive: true }
  - address: 192.0.2.3
    asn: 65000
    maxPrefixes: { limit: 10, restartAfter: 60 }
    addPath: { send: 2 }
    gracefulRestart: false
kernel: { install: true }
`;

describe('config keys of the peering features', () => {
  it('reads every new key into the speaker config and the kernel settings', () => {
    const c = parseConfig(YAML, 'bgp.yaml');
    expect(c.speaker.clusterId).toBe('10.0.0.1');
    expect(c.speaker.maxPaths).toBe(4);
    expect(c.speaker.gracefulRestart).toEqual({ enabled: true, restartTime: 90, stalePathTime: 300 });
    expect(c.kernel.maxPaths).toBe(4);
    const [a, b] = c.speaker.neighbors;
    expect(a).toMatchObject({ routeReflectorClient: true, password: 'secret', ttlSecurity: 1, maxPrefixes: 1000, addPath: { send: true, receive: true } });
    expect(b).toMatchObject({ maxPrefixes: { limit: 10, restartAfter: 60 }, addPath: { send: 2 }, gracefulRestart: false });
    const r = resolveConfig(c.speaker);
    expect(r.clusterId).toBe(0x0a000001);
    expect(r.stalePathTime).toBe(300);
    expect(r.neighbors[0]!.gracefulRestart).toEqual({ restartTime: 90 });
    expect(r.neighbors[1]!.gracefulRestart).toBeUndefined();
    expect(r.neighbors[0]!.open.gracefulRestart).toEqual({ restartTime: 90 });
    expect(r.neighbors[0]!.maxPrefixes).toEqual({ limits: [{ scope: 'total', limit: 1000 }], action: 'reset', restartAfter: undefined });
    expect(r.neighbors[1]!.addPathSend).toBe(2);
  });

  it('reports bad values by line', () => {
    const bad = YAML.replace('clusterId: "10.0.0.1"', 'clusterId: "nope"').replace('ttlSecurity: 1', 'ttlSecurity: 300').replace('maxPaths: 4', 'maxPaths: 0');
    let err: unknown;
    try {
      parseConfig(bad, 'bgp.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).describe();
    expect(text).toMatch(/bgp\.yaml:4: clusterId: .*not a cluster id/);
    expect(text).toMatch(/bgp\.yaml:5: maxPaths/);
    expect(text).toMatch(/ttlSecurity/);
  });

  it('routeReflectorClient needs an iBGP neighbour; without clusterId the router id is the cluster id', () => {
    expect(() => resolveConfig({ routerId: '192.0.2.1', asn: 65000, neighbors: [{ address: '192.0.2.9', asn: 65001, routeReflectorClient: true }] })).toThrow(/iBGP/);
    const r = resolveConfig({ routerId: '192.0.2.1', asn: 65000, neighbors: [{ address: '192.0.2.9', asn: 65000, routeReflectorClient: true }] });
    expect(r.clusterId).toBe(0xc0000201);
  });
});
