import { describe, expect, it } from 'vitest';
import { parseBenchConfig } from '../../bench/bgp-dut-config.js';

// What shared/bench/bgp-converge.sh writes for DUT=custom ({CONFIG}).
const HARNESS_JSON = `{"localAs":65002,"routerId":"198.18.1.2","kernel":false,"neighbors":[
 {"name":"inj","address":"198.18.1.1","peerAs":65001,"localAddress":"198.18.1.2","import":true,"export":false},
 {"name":"sink","address":"198.18.2.3","peerAs":65003,"localAddress":"198.18.2.2","import":false,"export":true}]}
`;

describe('parseBenchConfig', () => {
  it('turns the harness JSON into active neighbours with accept-all / reject-all policies', () => {
    const c = parseBenchConfig(HARNESS_JSON, 'dut-config.json');
    expect(c.kernel.install).toBe(false);
    expect(c.speaker).toMatchObject({ routerId: '198.18.1.2', asn: 65002, listen: false });
    expect(c.speaker.neighbors).toEqual([
      {
        address: '198.18.1.1',
        asn: 65001,
        description: 'inj',
        localAddress: '198.18.1.2',
        connectRetry: 1,
        importPolicy: { default: 'accept', rules: [] },
        exportPolicy: { default: 'reject', rules: [] },
      },
      {
        address: '198.18.2.3',
        asn: 65003,
        description: 'sink',
        localAddress: '198.18.2.2',
        connectRetry: 1,
        importPolicy: { default: 'reject', rules: [] },
        exportPolicy: { default: 'accept', rules: [] },
      },
    ]);
    expect(c.speaker.neighbors.some((n) => n.passive)).toBe(false);
    expect(parseBenchConfig(HARNESS_JSON.replace('"kernel":false', '"kernel":true'), 'x').kernel.install).toBe(true);
  });

  it('reports what is wrong with the line', () => {
    const bad = HARNESS_JSON.replace('"peerAs":65003', '"peerAs":0').replace('"routerId":"198.18.1.2"', '"routerId":"x"');
    expect(() => parseBenchConfig(bad, 'dut-config.json')).toThrow(
      'dut-config.json:1: routerId: must be an IPv4 address\ndut-config.json:3: neighbors[1].peerAs: must be an AS number 1..4294967295',
    );
    expect(() => parseBenchConfig('{"localAs":1,', 'c.json')).toThrow(/^c\.json:\d+: YAML: /);
    expect(() => parseBenchConfig('{"localAs":1,"neighbors":[]}', 'c.json')).toThrow('c.json:1: routerId is missing');
  });
});
