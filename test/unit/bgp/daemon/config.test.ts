import { describe, expect, it } from 'vitest';
import { checkPrefix, parseAsn, parseConfig } from '../../../../bgp/daemon/config.js';
import { ConfigError } from '../../../../bgp/daemon/errors.js';

/** The problems of a config that must fail, as printed ("file:line: path: message"). */
function problems(text: string): string[] {
  try {
    parseConfig(text, 'bgp.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message.split('\n');
  }
  throw new Error('config was accepted');
}

const FULL = `# a route reflector outside the cluster
routerId: 192.0.2.1
asn: 4200000001
listen:
  address: 192.0.2.1
  port: 1179
holdTime: 30
keepalive: 10
connectRetry: 2
backoff: { idleHold: 0.5, stableTime: 30 }
nextHop: { ipv6: "2001:db8::1" }
neighbors:
  - address: 198.18.0.2
    asn: 65002
    description: tor-1
    holdTime: 9
    keepalive: 3
    import: all
    export:
      default: reject
      rules:
        - prefix: 10.0.0.0/8
          le: 24
        - prefix: 10.66.0.0/16
          ge: 24
          action: reject
  - address: "2001:DB8:0:0::2"
    asn: 1.10
    passive: true
    families: [ipv6]
    localAddress: 2001:db8::1
    nextHopSelf: true
    gracefulRestart: { restartTime: 120 }
    addPath: { send: true, receive: true }
originate:
  - 10.1.0.0/24
  - prefix: 2001:db8:1::/48
    communities: [65000:100, no-export]
    med: 5
kernel:
  install: true
  table: 100
`;

describe('parseConfig', () => {
  it('turns a full config into the speaker config and kernel settings', () => {
    const c = parseConfig(FULL, 'bgp.yaml');
    expect(c.kernel).toEqual({ install: true, table: 100, metric: undefined });
    const s = c.speaker;
    expect(s.routerId).toBe('192.0.2.1');
    expect(s.asn).toBe(4200000001);
    expect(s.listen).toEqual({ address: '192.0.2.1', port: 1179 });
    expect([s.holdTime, s.keepalive, s.connectRetry]).toEqual([30, 10, 2]);
    expect(s.backoff).toEqual({ idleHold: 0.5, stableTime: 30 });
    expect(s.nextHop).toEqual({ ipv6: '2001:db8::1' });
    expect(s.neighbors).toHaveLength(2);
    expect(s.neighbors[0]).toEqual({
      address: '198.18.0.2',
      asn: 65002,
      description: 'tor-1',
      holdTime: 9,
      keepalive: 3,
      importPolicy: { default: 'accept', rules: [] },
      exportPolicy: {
        default: 'reject',
        rules: [
          { prefix: '10.0.0.0/8', le: 24, action: 'accept' },
          { prefix: '10.66.0.0/16', ge: 24, action: 'reject' },
        ],
      },
    });
    // Addresses are canonical (RFC 5952), asdot is understood.
    expect(s.neighbors[1]).toMatchObject({
      address: '2001:db8::2',
      asn: 65546,
      passive: true,
      families: ['ipv6'],
      localAddress: '2001:db8::1',
      nextHopSelf: true,
      gracefulRestart: { restartTime: 120 },
      addPath: { send: true, receive: true },
    });
    expect(s.originate).toEqual([
      { prefix: '10.1.0.0/24' },
      { prefix: '2001:db8:1::/48', communities: ['65000:100', 'no-export'], med: 5 },
    ]);
  });

  it('uses defaults for what is left out: all addresses port 179 (speaker default), no kernel install', () => {
    const c = parseConfig('routerId: 10.0.0.1\nasn: 65000\n', 'bgp.yaml');
    expect(c.speaker).toEqual({ routerId: '10.0.0.1', asn: 65000, neighbors: [] });
    expect(c.kernel.install).toBe(false);
    expect(parseConfig('routerId: 10.0.0.1\nasn: 65000\nlisten: { port: 1790 }\n', 'x').speaker.listen).toEqual({ port: 1790 });
    expect(parseConfig('routerId: 10.0.0.1\nasn: 65000\nlisten: false\n', 'x').speaker.listen).toBe(false);
  });

  it('reports an AS number out of range with its line and path', () => {
    const text = ['routerId: 10.0.0.1', 'asn: 65000', 'neighbors:', '  - address: 10.0.0.2', '    asn: 65001', '  - address: 10.0.0.3', '    asn: 4294967296'].join('\n');
    expect(problems(text)).toEqual(['bgp.yaml:7: neighbors[1].asn: 4294967296 is out of range 1..4294967295']);
    expect(problems('routerId: 10.0.0.1\nasn: 0\n')).toEqual(['bgp.yaml:2: asn: 0 is out of range 1..4294967295']);
    expect(problems('routerId: 10.0.0.1\nasn: seventy\n')[0]).toMatch(/^bgp\.yaml:2: asn: "seventy" is not an AS number/);
  });

  it('rejects unknown keys at their line, suggesting the key that was meant', () => {
    const text = 'routerId: 10.0.0.1\nasn: 65000\nneighbors:\n  - address: 10.0.0.2\n    asn: 65001\n    hodlTime: 9\n';
    const [p] = problems(text);
    expect(p).toMatch(/^bgp\.yaml:6: neighbors\[0\]\.hodlTime: unknown key \(did you mean "holdTime"\?\)/);
    expect(problems('routerId: 10.0.0.1\nasn: 65000\nbogus: 1\n')[0]).toMatch(/^bgp\.yaml:3: bogus: unknown key; known keys here: routerId, asn/);
  });

  it('reports bad addresses, by line', () => {
    const text = 'routerId: 10.0.0.256\nasn: 65000\nlisten: { address: "::g" }\nneighbors:\n  - address: fe80::1::2\n    asn: 65001\n';
    expect(problems(text)).toEqual([
      'bgp.yaml:1: routerId: "10.0.0.256" is not a dotted IPv4 address (the BGP identifier is 32 bits, written like 192.0.2.1)',
      'bgp.yaml:3: listen.address: "::g" is not an IP address',
      'bgp.yaml:5: neighbors[0].address: "fe80::1::2" is not an IP address',
    ]);
  });

  it('reports every problem at once, in line order', () => {
    const text = [
      'asn: 65000', // 1: routerId missing (reported at the map's first line)
      'holdTime: 2', // 2
      'neighbors:', // 3
      '  - address: 10.0.0.2', // 4
      '    asn: 65001', // 5
      '    localAddress: 2001:db8::1', // 6: wrong family
      '    families: [ipv4, ipx]', // 7
      '  - address: 10.0.0.2', // 8: duplicate
      '    asn: 65001',
      'originate:', // 10
      '  - 10.0.0.1/24', // 11: host bits
      '  - prefix: 10.2.0.0/16', // 12
      '    communities: ["65536:1"]', // 13
    ].join('\n');
    expect(problems(text)).toEqual([
      'bgp.yaml:1: routerId: missing: the BGP identifier, a dotted IPv4 address such as 192.0.2.1',
      'bgp.yaml:2: holdTime: 2 is not allowed: use 0 (no keepalives) or 3..65535 seconds (RFC 4271 §4.2)',
      'bgp.yaml:6: neighbors[0].localAddress: 2001:db8::1 is not of the same family as the neighbour address 10.0.0.2',
      'bgp.yaml:7: neighbors[0].families[1]: "ipx" is not a family: use ipv4 or ipv6',
      'bgp.yaml:8: neighbors[1]: neighbour 10.0.0.2 is already configured at line 4',
      'bgp.yaml:11: originate[0]: 10.0.0.1/24 has host bits set: did you mean 10.0.0.0/24?',
      'bgp.yaml:13: originate[1].communities[0]: "65536:1" is not a community: write ASN:VALUE (each 0..65535), or no-export / no-advertise',
    ]);
  });

  it('checks policies: ge/le inside the prefix length range, actions, shape', () => {
    const base = 'routerId: 10.0.0.1\nasn: 65000\nneighbors:\n  - address: 10.0.0.2\n    asn: 65001\n';
    expect(problems(`${base}    import: everything\n`)).toEqual([
      'bgp.yaml:6: neighbors[0].import: "everything" is not a policy: write all, none, or a map with default and rules',
    ]);
    expect(problems(`${base}    import:\n      rules:\n        - prefix: 10.0.0.0/8\n          ge: 4\n        - prefix: 10.0.0.0/8\n          action: drop\n`)).toEqual([
      'bgp.yaml:9: neighbors[0].import.rules[0].ge: 4 is out of range 8..32',
      'bgp.yaml:11: neighbors[0].import.rules[1].action: "drop" is not accept or reject',
    ]);
    const ok = parseConfig(`${base}    import: none\n    export: { default: accept }\n`, 'x').speaker.neighbors[0]!;
    expect(ok.importPolicy).toEqual({ default: 'reject', rules: [] });
    expect(ok.exportPolicy).toEqual({ default: 'accept', rules: [] });
  });

  it('checks timers: keepalive shorter than the hold time', () => {
    expect(problems('routerId: 10.0.0.1\nasn: 65000\nholdTime: 9\nkeepalive: 9\n')).toEqual([
      'bgp.yaml:4: keepalive: 9 is not shorter than holdTime 9 (a third of it is usual)',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    expect(problems('routerId: 10.0.0.1\nasn: 65000\nasn: 65001\n')[0]).toMatch(/^bgp\.yaml:3: YAML: a key appears twice/);
    expect(problems('routerId: 10.0.0.1\nneighbors:\n  - address: [1\n')[0]).toMatch(/^bgp\.yaml:\d+: YAML: /);
    expect(problems('')).toEqual(['bgp.yaml:1: the file is empty']);
    expect(problems('- 1\n- 2\n')).toEqual(['bgp.yaml:1: must be a map (key: value lines), got a list']);
  });
});

describe('helpers', () => {
  it('parseAsn reads plain and asdot forms', () => {
    expect(parseAsn(65000)).toBe(65000);
    expect(parseAsn('4200000001')).toBe(4200000001);
    expect(parseAsn('1.10')).toBe(65546);
    expect(parseAsn('65536.0')).toBeUndefined();
    expect(parseAsn(1.5)).toBeUndefined();
  });

  it('checkPrefix canonicalises and refuses host bits', () => {
    expect(checkPrefix('2001:DB8:0::/32')).toEqual({ text: '2001:db8::/32', family: 6, len: 32 });
    expect(checkPrefix('0.0.0.0/0')).toEqual({ text: '0.0.0.0/0', family: 4, len: 0 });
    expect(checkPrefix('2001:db8::1/64')).toEqual({ error: '2001:db8::1/64 has host bits set: did you mean 2001:db8::/64?' });
    expect(checkPrefix('10.0.0.0/33')).toHaveProperty('error');
    expect(checkPrefix('10.0.0.0')).toHaveProperty('error');
  });
});
