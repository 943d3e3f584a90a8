import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  assertValid,
  describeInput,
  validateResource,
  validateResources,
  ValidationError,
  type Problem,
} from '../../../src/api/validate.js';
import { TwillError } from '../../../src/errors.js';
import { PUBLIC_KINDS, type PublicKind } from '../../../src/api/types.js';
import { VALID, withField } from './fixtures.js';

function problemsOf(input: unknown): string[] {
  const r = validateResource(input);
  return r.ok ? [] : r.problems.map((p: Problem) => (p.path ? `${p.path}: ${p.message}` : p.message));
}

describe('valid examples', () => {
  test.each([...PUBLIC_KINDS])('%s validates', (kind) => {
    const r = validateResource(VALID[kind]);
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    expect(r.resource.kind).toBe(kind);
    expect(r.resource.metadata.name).toBe((VALID[kind].metadata as { name: string }).name);
  });

  test('the input is not modified', () => {
    const input = structuredClone(VALID.IPPool);
    validateResource(input);
    expect(input).toEqual(VALID.IPPool);
  });

  test('defaults are filled in on success', () => {
    const r = validateResource(VALID.IPPool);
    expect(r.ok && r.resource.kind === 'IPPool' ? r.resource.spec : undefined).toEqual({
      cidr: '10.65.0.0/16',
      blockSize: 26,
      natOutgoing: true,
      disabled: false,
      nodeSelector: 'all()',
    });
    const np = validateResource(withField(VALID.NetworkPolicy, 'metadata.namespace', undefined));
    expect(np.ok && np.resource.metadata.namespace).toBe('default');
  });

  test('null fields count as absent and are dropped', () => {
    const r = validateResource(withField(VALID.NetworkPolicy, 'spec.egress', null));
    expect(r.ok).toBe(true);
    if (r.ok && r.resource.kind === 'NetworkPolicy') {
      expect('egress' in r.resource.spec).toBe(false);
      expect(r.resource.spec.types).toEqual(['Ingress']);
    }
  });

  test('CIDRs are stored in canonical form and numeric port strings become numbers', () => {
    const input = withField(VALID.NetworkPolicy, 'spec.ingress.0.source.nets', ['2001:DB8:0:0::/64']);
    input.spec = { ...(input.spec as object) };
    const withPort = withField(input, 'spec.ingress.0.destination.ports', ['443', '80:90']);
    const r = validateResource(withPort);
    expect(r.ok).toBe(true);
    if (r.ok && r.resource.kind === 'NetworkPolicy') {
      const rule = r.resource.spec.ingress?.[0];
      expect(rule?.source?.nets).toEqual(['2001:db8::/64']);
      expect(rule?.destination?.ports).toEqual([443, '80:90']);
    }
  });

  test('a kind whose spec fields are all optional may leave spec out', () => {
    const r = validateResource({ apiVersion: 'twill.io/v1', kind: 'Profile', metadata: { name: 'empty' } });
    expect(r.ok && r.resource.spec).toEqual({});
  });

  test('server-set metadata is accepted (so get -o yaml output can be applied again)', () => {
    const input = withField(VALID.IPPool, 'metadata', {
      name: 'pool-v4',
      resourceVersion: '42',
      uid: '7f0c1d9e-1111-2222-3333-444455556666',
      creationTimestamp: '2024-05-01T12:00:00Z',
    });
    expect(problemsOf(input)).toEqual([]);
  });
});

describe('the example from the issue', () => {
  test('a reversed port range is reported with its full path', () => {
    const input = withField(VALID.NetworkPolicy, 'spec.ingress.0.destination.ports', [80, '90:80']);
    expect(problemsOf(input)).toEqual(['spec.ingress[0].destination.ports[1]: port range 90:80 is reversed']);
  });
});

// [what, base kind, field to change, new value (undefined deletes), expected problems]
const INVALID: [string, PublicKind, string, unknown, string[]][] = [
  // --- top level
  ['Calico apiVersion', 'IPPool', 'apiVersion', 'projectcalico.org/v3', [
    "apiVersion: projectcalico.org/v3 is Calico's API version: change it to twill.io/v1 (the resource fields are as in Calico)",
  ]],
  ['other apiVersion', 'IPPool', 'apiVersion', 'twill.io/v2', ['apiVersion: unsupported apiVersion "twill.io/v2": use twill.io/v1']],
  ['missing apiVersion', 'IPPool', 'apiVersion', undefined, ['apiVersion: required field missing']],
  ['kind typo', 'IPPool', 'kind', 'IPPools', ['kind: unknown kind "IPPools" (did you mean IPPool?)']],
  ['kind in lower case', 'NetworkPolicy', 'kind', 'networkpolicy', ['kind: unknown kind "networkpolicy" (did you mean NetworkPolicy?)']],
  ['kind far from anything', 'IPPool', 'kind', 'Deployment', [
    'kind: unknown kind "Deployment": use one of Node, WorkloadEndpoint, HostEndpoint, IPPool, Profile, NetworkPolicy, GlobalNetworkPolicy, NetworkSet, GlobalNetworkSet, BGPPeer, BGPConfiguration, FelixConfiguration',
  ]],
  ['internal kind', 'IPPool', 'kind', 'IPAMBlock', ['kind: IPAMBlock is internal to Twill (IPAM bookkeeping) and cannot be written as a resource']],
  ['unknown top-level field', 'IPPool', 'specs', {}, ['specs: unknown field (did you mean spec?)']],
  ['status on a kind without status', 'IPPool', 'status', { ok: true }, ['status: IPPool has no status (only Node and WorkloadEndpoint do)']],
  // --- metadata
  ['missing name', 'IPPool', 'metadata.name', undefined, ['metadata.name: required field missing']],
  ['upper-case name', 'IPPool', 'metadata.name', 'Pool-V4', [
    `metadata.name: "Pool-V4" is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (did you mean pool-v4?)`,
  ]],
  ['name with underscore', 'IPPool', 'metadata.name', 'pool_v4', [
    `metadata.name: "pool_v4" is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
  ]],
  ['name too long', 'IPPool', 'metadata.name', 'a'.repeat(254), ['metadata.name: "aaaaaaaaaaaaaaaaaaaa"… is 254 characters long (at most 253)']],
  ['namespace on a cluster-scoped kind', 'GlobalNetworkPolicy', 'metadata.namespace', 'shop', [
    'metadata.namespace: GlobalNetworkPolicy is cluster-scoped and has no namespace: remove metadata.namespace (or use kind NetworkPolicy for one that lives in a namespace)',
  ]],
  ['bad namespace', 'NetworkPolicy', 'metadata.namespace', 'Shop', [
    `metadata.namespace: "Shop" is not a valid name: use lower-case letters, digits and '-', starting and ending with a letter or digit (did you mean shop?)`,
  ]],
  ['bad label key and value', 'IPPool', 'metadata.labels', { 'bad key': 'x', ok: '-bad' }, [
    `metadata.labels["bad key"]: the name of label key "bad key" must start and end with a letter or digit and contain only letters, digits, '-', '_' and '.'`,
    `metadata.labels.ok: label value "-bad" is not valid: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or leave it empty)`,
  ]],
  ['label value not a string', 'IPPool', 'metadata.labels', { tier: 1 }, ['metadata.labels.tier: expected a string, found a number (1)']],
  // --- rules
  ['port 0', 'NetworkPolicy', 'spec.ingress.0.destination.ports', [0], ['spec.ingress[0].destination.ports[0]: port 0 is out of range (1..65535)']],
  ['port range out of range', 'NetworkPolicy', 'spec.ingress.0.destination.ports', ['1:70000'], [
    'spec.ingress[0].destination.ports[0]: port range 1:70000: port 70000 is out of range (1..65535)',
  ]],
  ['bad port name', 'NetworkPolicy', 'spec.ingress.0.destination.ports', ['HTTP_alt'], [
    `spec.ingress[0].destination.ports[0]: "HTTP_alt" is not a port: use a number (1..65535), a range like "80:90", or a port name (lower-case letters, digits and '-', at most 15 characters)`,
  ]],
  ['ports without protocol', 'NetworkPolicy', 'spec.egress.0.protocol', undefined, [
    'spec.egress[0].destination.ports: ports need a protocol: set protocol to TCP, UDP, SCTP or UDPLite on the rule',
  ]],
  ['ports with ICMP', 'NetworkPolicy', 'spec.egress.0.protocol', 'ICMP', [
    'spec.egress[0].destination.ports: ports cannot be used with protocol ICMP: only TCP, UDP, SCTP and UDPLite have ports',
  ]],
  ['icmp with TCP', 'NetworkPolicy', 'spec.ingress.1.protocol', 'TCP', [
    'spec.ingress[1].icmp: icmp cannot be used with protocol TCP: set protocol to ICMP or ICMPv6',
  ]],
  ['icmp code without type', 'NetworkPolicy', 'spec.ingress.1.icmp', { code: 0 }, ['spec.ingress[1].icmp.code: an ICMP code needs an ICMP type']],
  ['ICMP with ipVersion 6', 'NetworkPolicy', 'spec.ingress.1.ipVersion', 6, [
    'spec.ingress[1].protocol: ICMP is IPv4-only but the rule has ipVersion 6 (use ICMPv6)',
  ]],
  ['lower-case protocol', 'NetworkPolicy', 'spec.ingress.0.protocol', 'tcp', [
    'spec.ingress[0].protocol: unknown protocol "tcp" (did you mean TCP?): use TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1..255',
  ]],
  ['protocol number too big', 'NetworkPolicy', 'spec.ingress.0.protocol', 256, ['spec.ingress[0].protocol: protocol number 256 is out of range (1..255)']],
  ['lower-case action', 'NetworkPolicy', 'spec.ingress.0.action', 'allow', [
    'spec.ingress[0].action: "allow" is not one of Allow, Deny, Pass, Log (did you mean Allow?)',
  ]],
  ['missing action', 'NetworkPolicy', 'spec.ingress.0.action', undefined, ['spec.ingress[0].action: required field missing']],
  ['nets not matching ipVersion', 'NetworkPolicy', 'spec.ingress.0.ipVersion', 6, [
    'spec.ingress[0].source.nets[0]: 198.51.100.0/24 is IPv4 but the rule has ipVersion 6',
  ]],
  ['ipVersion 5', 'NetworkPolicy', 'spec.ingress.0.ipVersion', 5, ['spec.ingress[0].ipVersion: ipVersion must be 4 or 6, found 5']],
  ['source IPv4 only, destination IPv6 only', 'NetworkPolicy', 'spec.ingress.0.destination.nets', ['2001:db8::/32'], [
    'spec.ingress[0]: source.nets are all IPv4 and destination.nets are all IPv6: no packet can match; split the rule or fix the networks',
  ]],
  ['net with host bits', 'NetworkPolicy', 'spec.ingress.0.source.nets', ['198.51.100.7/24'], [
    'spec.ingress[0].source.nets[0]: "198.51.100.7/24" is not a valid network prefix: host bits are set (did you mean 198.51.100.0/24?)',
  ]],
  ['bare address as net', 'NetworkPolicy', 'spec.ingress.0.source.nets', ['198.51.100.7'], [
    'spec.ingress[0].source.nets[0]: "198.51.100.7" is an address, not a network: write 198.51.100.7/32',
  ]],
  ['selector syntax error', 'NetworkPolicy', 'spec.selector', "app == 'web' &&", [
    `spec.selector: selector "app == 'web' &&": expected an expression at position 15 (end of input)`,
  ]],
  ['empty selector', 'NetworkPolicy', 'spec.selector', '', ['spec.selector: empty selector: omit the field, or write all() to match everything']],
  ['type listed twice', 'NetworkPolicy', 'spec.types', ['Ingress', 'Egress', 'Ingress'], ['spec.types[2]: Ingress is listed twice']],
  ['egress rules not in types', 'NetworkPolicy', 'spec.types', ['Ingress'], [
    'spec.egress: these rules are never applied: types does not include Egress (add Egress to spec.types, or remove the rules)',
  ]],
  ['unknown field in a rule', 'NetworkPolicy', 'spec.ingress.0.destination.port', [80], [
    'spec.ingress[0].destination.port: unknown field (did you mean ports?)',
  ]],
  ['unknown field in spec', 'NetworkPolicy', 'spec.ingres', [], ['spec.ingres: unknown field (did you mean ingress?)']],
  ['unknown field with no near name', 'NetworkSet', 'spec.zzz', 1, ['spec.zzz: unknown field (fields here: nets)']],
  ['rules not a list', 'NetworkPolicy', 'spec.ingress', { action: 'Allow' }, ['spec.ingress: expected a list, found an object']],
  ['order not a number', 'NetworkPolicy', 'spec.order', 'first', ['spec.order: expected a number, found a string ("first")']],
  ['preDNAT without applyOnForward', 'GlobalNetworkPolicy', 'spec.applyOnForward', false, [
    'spec.applyOnForward: preDNAT policies also act on forwarded traffic: set applyOnForward: true',
  ]],
  ['preDNAT with egress', 'GlobalNetworkPolicy', 'spec.egress', [{ action: 'Allow' }], [
    'spec.egress: preDNAT policies can only have ingress rules',
  ]],
  ['bool as a string', 'GlobalNetworkPolicy', 'spec.applyOnForward', 'true', [
    'spec.applyOnForward: expected true or false, found a string ("true") (write true without quotes)',
  ]],
  // --- IP pools
  ['IPv4 block size too small', 'IPPool', 'spec.blockSize', 19, ['spec.blockSize: 19 is out of range for an IPv4 pool (20..32)']],
  ['pool with host bits', 'IPPool', 'spec.cidr', '10.65.0.1/16', [
    'spec.cidr: "10.65.0.1/16" is not a valid network prefix: host bits are set (did you mean 10.65.0.0/16?)',
  ]],
  ['link-local pool', 'IPPool', 'spec.cidr', '169.254.0.0/16', [
    'spec.cidr: 169.254.0.0/16 overlaps the IPv4 link-local range (169.254.0.0/16); pick a pool outside it',
  ]],
  ['pool without cidr', 'IPPool', 'spec.cidr', undefined, ['spec.cidr: required field missing']],
  ['block size as a string', 'IPPool', 'spec.blockSize', '26', ['spec.blockSize: expected an integer, found a string ("26") (write it without quotes)']],
  // --- endpoints
  ['endpoint without addresses', 'WorkloadEndpoint', 'spec.ipNetworks', [], ['spec.ipNetworks: must not be empty']],
  ['interface name too long', 'WorkloadEndpoint', 'spec.interfaceName', 'tw1a2b3c4d5e6f7a', [
    'spec.interfaceName: interface name "tw1a2b3c4d5e6f7a" is longer than 15 bytes (the kernel limit)',
  ]],
  ['bad MAC', 'WorkloadEndpoint', 'spec.mac', 'ee:ee:ee', ['spec.mac: "ee:ee:ee" is not a MAC address (e.g. "ee:ee:ee:ee:ee:ee")']],
  ['duplicate endpoint port', 'WorkloadEndpoint', 'spec.ports', [
    { name: 'http', protocol: 'TCP', port: 80 },
    { name: 'http', protocol: 'TCP', port: 8080 },
  ], ['spec.ports[1].name: port name http (TCP) is defined twice']],
  ['host endpoint matching nothing', 'HostEndpoint', 'spec', { node: 'host-1' }, [
    'spec: set interfaceName or expectedIPs (or both), so the endpoint can be matched to an interface',
  ]],
  ['expected IP with a prefix', 'HostEndpoint', 'spec.expectedIPs', ['192.0.2.11/24'], [
    'spec.expectedIPs[0]: "192.0.2.11/24" is a network; a single address is needed here (no "/len")',
  ]],
  ['node address of the wrong family', 'Node', 'spec.bgp.ipv4Address', '2001:db8::1/64', [
    'spec.bgp.ipv4Address: 2001:db8::1/64 is an IPv6 address; an IPv4 address is needed here',
  ]],
  ['heartbeat not a timestamp', 'Node', 'status.lastHeartbeat', 'yesterday', [
    'status.lastHeartbeat: "yesterday" is not an RFC 3339 timestamp (e.g. "2024-05-01T12:00:00Z")',
  ]],
  // --- BGP
  ['AS number 0', 'BGPPeer', 'spec.asNumber', 0, ['spec.asNumber: 0 is out of range (1..4294967295)']],
  ['AS number too big', 'BGPPeer', 'spec.asNumber', 4294967296, ['spec.asNumber: 4294967296 is out of range (1..4294967295)']],
  ['peerIP and peerSelector', 'BGPPeer', 'spec.peerSelector', 'has(rr)', [
    'spec.peerSelector: set peerIP or peerSelector, not both',
    "spec.asNumber: must not be set with peerSelector: each selected node's own AS number is used",
  ]],
  ['maxPrefixes without a family limit', 'BGPPeer', 'spec.maxPrefixes', { action: 'stop' }, [
    'spec.maxPrefixes: set ipv4 and/or ipv6: the most prefixes accepted from the peer per family',
  ]],
  ['maxPrefixes restartAfter with action stop', 'BGPPeer', 'spec.maxPrefixes', { ipv4: 10, action: 'stop', restartAfter: '1m' }, [
    'spec.maxPrefixes.restartAfter: is for action reset (action is stop)',
  ]],
  ['node and nodeSelector', 'BGPPeer', 'spec.node', 'host-1', ['spec.nodeSelector: set node or nodeSelector, not both']],
  ['neither peerIP nor peerSelector', 'BGPPeer', 'spec.peerIP', undefined, [
    'spec: set peerIP (a router outside the cluster) or peerSelector (the nodes to peer with)',
  ]],
  ['peerIP without AS', 'BGPPeer', 'spec.asNumber', undefined, ["spec.asNumber: required with peerIP: the peer's AS number"]],
  ['bad peer address', 'BGPPeer', 'spec.peerIP', '198.18.0.300', [
    'spec.peerIP: "198.18.0.300" is not a peer address: write an IP address, "10.0.0.1:1790" or "[fd00::1]:1790"',
  ]],
  ['duration without unit', 'BGPPeer', 'spec.holdTime', '90', ['spec.holdTime: "90" has no unit: write e.g. "90s" (units: ms, s, m, h)']],
  ['keepalive not below hold time', 'BGPPeer', 'spec.keepaliveTime', '2m', [
    'spec.keepaliveTime: 2m must be shorter than holdTime 90s (usually a third of it)',
  ]],
  ['hold time too short', 'BGPPeer', 'spec.holdTime', '2s', ['spec.holdTime: 2s is too short: use 0 (no keepalives) or at least 3s (RFC 4271)']],
  ['password with both value and ref', 'BGPPeer', 'spec.password.value', 'secret', ['spec.password: set exactly one of value and secretKeyRef']],
  ['unknown community', 'BGPConfiguration', 'spec.prefixAdvertisements.0.communities', ['clutser'], [
    'spec.prefixAdvertisements[0].communities[0]: unknown community "clutser": define it in spec.communities, or write a value like "65000:100"',
  ]],
  ['bad community value', 'BGPConfiguration', 'spec.communities.0.value', '64512:70000', [
    'spec.communities[0].value: "64512:70000" is not a community value: write "aa:nn" (standard, each 0..65535) or "aa:nn:mm" (large, each 0..4294967295)',
  ]],
  ['listen port 0', 'BGPConfiguration', 'spec.listenPort', 0, ['spec.listenPort: 0 is out of range (1..65535)']],
  // --- Felix
  ['interface prefix too long', 'FelixConfiguration', 'spec.interfacePrefix', 'twill', [
    'spec.interfacePrefix: "twill" is too long: at most 4 characters (interface names are the prefix plus an 11-character hash, and the kernel allows 15)',
  ]],
  ['mark mask with one bit', 'FelixConfiguration', 'spec.iptablesMarkMask', 0x10000, [
    'spec.iptablesMarkMask: 0x10000 has 1 bit(s) set: Twill needs at least 2 (accept and pass marks)',
  ]],
  ["BIRD's route protocol", 'FelixConfiguration', 'spec.routeProtocol', 12, [
    'spec.routeProtocol: route protocol 12 is used by BIRD; pick another (the default is 84)',
  ]],
  ['unknown backend', 'FelixConfiguration', 'spec.iptablesBackend', 'nft', [
    'spec.iptablesBackend: "nft" is not one of Auto, NFT, Legacy (did you mean NFT?)',
  ]],
];

describe('invalid inputs: exact path and reason', () => {
  test.each(INVALID)('%s', (_what, kind, path, value, want) => {
    expect(problemsOf(withField(VALID[kind], path, value))).toEqual(want);
  });

  test('a pool smaller than its blocks', () => {
    const input = withField(withField(VALID.IPPool, 'spec.cidr', '10.65.0.0/27'), 'spec.blockSize', 26);
    expect(problemsOf(input)).toEqual([
      'spec.blockSize: a /26 block does not fit in the pool 10.65.0.0/27: use a blockSize of at least 27',
    ]);
  });

  test('an IPv6 pool checks the IPv6 block size range', () => {
    const input = withField(withField(VALID.IPPool, 'spec.cidr', 'fd5e:7a11::/48'), 'spec.blockSize', 64);
    expect(problemsOf(input)).toEqual(['spec.blockSize: 64 is out of range for an IPv6 pool (116..128)']);
  });

  test('a selector error carries the position from the selector parser', () => {
    const [msg] = problemsOf(withField(VALID.IPPool, 'spec.nodeSelector', 'rack = "r1"'));
    expect(msg).toMatch(/^spec\.nodeSelector: selector .*rack = .* at position 5\b/);
  });

  test('not an object at all', () => {
    expect(problemsOf('hello')).toEqual([
      'a resource must be an object with apiVersion, kind, metadata and spec; found a string ("hello")',
    ]);
    expect(problemsOf([VALID.IPPool])).toEqual([
      'a resource must be an object with apiVersion, kind, metadata and spec; found a list',
    ]);
  });

  test('required spec fields are reported when spec is missing', () => {
    expect(problemsOf(withField(VALID.WorkloadEndpoint, 'spec', undefined))).toEqual([
      'spec.node: required field missing',
      'spec.interfaceName: required field missing',
      'spec.ipNetworks: required field missing',
    ]);
  });
});

describe('many problems at once', () => {
  test('every problem is reported, in document order', () => {
    const input = {
      apiVersion: 'twill.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'Bad_Name', namespace: 'shop', labelz: {} },
      spec: {
        selector: 'app ==',
        ingres: [],
        ingress: [
          { action: 'Allow', protocol: 'TCP', destination: { ports: [80, '90:80', 0] } },
          { action: 'Reject', source: { nets: ['10.0.0.1/8'] } },
        ],
      },
    };
    const got = problemsOf(input);
    expect(got).toHaveLength(8);
    expect(got.map((p) => p.split(': ')[0])).toEqual([
      'metadata.name',
      'metadata.labelz',
      'spec.selector',
      'spec.ingress[0].destination.ports[1]',
      'spec.ingress[0].destination.ports[2]',
      'spec.ingress[1].action',
      'spec.ingress[1].source.nets[0]',
      'spec.ingres',
    ]);
    expect(got).toContain('metadata.labelz: unknown field (did you mean labels?)');
    expect(got).toContain('spec.ingress[1].action: "Reject" is not one of Allow, Deny, Pass, Log');
  });

  test('with an unknown kind, metadata and apiVersion are still checked', () => {
    const got = problemsOf({ apiVersion: 'v1', kind: 'NetPol', metadata: { name: 'X' }, spec: { anything: 1 } });
    expect(got.map((p) => p.split(': ')[0])).toEqual(['apiVersion', 'kind', 'metadata.name']);
  });
});

describe('ValidationError and assertValid', () => {
  test('assertValid returns the defaulted resource', () => {
    const r = assertValid(VALID.GlobalNetworkSet);
    expect(r.kind).toBe('GlobalNetworkSet');
  });

  test('assertValid throws a TwillError that lists every problem and names the object', () => {
    const input = withField(withField(VALID.IPPool, 'spec.blockSize', 40), 'spec.natOutgoing', 'yes');
    let err: unknown;
    try {
      assertValid(input, 'pools.yaml#1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toBeInstanceOf(TwillError);
    const ve = err as ValidationError;
    expect(ve.code).toBe('Validation');
    expect(ve.problems).toHaveLength(2);
    expect(ve.message).toBe(
      [
        'pools.yaml#1 IPPool pool-v4 is invalid:',
        '  spec.natOutgoing: expected true or false, found a string ("yes") (write true without quotes)',
        '  spec.blockSize: 40 is out of range for an IPv4 pool (20..32)',
      ].join('\n'),
    );
  });

  test('describeInput names what it can', () => {
    expect(describeInput(VALID.NetworkPolicy)).toBe('NetworkPolicy shop/allow-web');
    expect(describeInput({ kind: 'IPPool' })).toBe('IPPool (no name)');
    expect(describeInput(42)).toBeUndefined();
  });
});

describe('validateResources (a batch)', () => {
  test('all valid → ok, resources in order', () => {
    const r = validateResources([
      { value: VALID.IPPool, source: 'a.yaml#1' },
      { value: VALID.NetworkPolicy, source: 'a.yaml#2' },
    ]);
    expect(r.ok).toBe(true);
    expect(r.resources.map((x) => x.kind)).toEqual(['IPPool', 'NetworkPolicy']);
    expect(r.problems).toEqual([]);
  });

  test('the same object twice is a problem of the second, naming the first', () => {
    const noNs = withField(VALID.NetworkPolicy, 'metadata.namespace', undefined);
    const explicitDefault = withField(VALID.NetworkPolicy, 'metadata.namespace', 'default');
    const r = validateResources([
      { value: noNs, source: 'a.yaml#1' },
      { value: VALID.IPPool, source: 'a.yaml#2' },
      { value: explicitDefault, source: 'b.yaml#1' },
    ]);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      {
        source: 'b.yaml#1',
        path: 'metadata.name',
        message: 'NetworkPolicy default/allow-web is defined twice: first in a.yaml#1',
      },
    ]);
    expect(r.items.map((i) => i.ok)).toEqual([true, true, false]);
  });

  test('same name in different namespaces or kinds is fine', () => {
    const r = validateResources([
      { value: VALID.NetworkPolicy, source: 'x#1' },
      { value: withField(VALID.NetworkPolicy, 'metadata.namespace', 'other'), source: 'x#2' },
      { value: withField(VALID.GlobalNetworkPolicy, 'metadata.name', 'allow-web'), source: 'x#3' },
    ]);
    expect(r.ok).toBe(true);
  });

  test('problems of several items carry their sources; the error message lists them', () => {
    const r = validateResources([
      { value: withField(VALID.IPPool, 'spec.cidr', '10.0.0.1/8'), source: 'p.yaml#1' },
      { value: VALID.Profile, source: 'p.yaml#2' },
      { value: withField(VALID.BGPPeer, 'spec.asNumber', -1), source: 'p.yaml#3' },
    ]);
    expect(r.ok).toBe(false);
    expect(r.resources).toHaveLength(1);
    const msg = new ValidationError(r.problems).message;
    expect(msg).toBe(
      [
        '2 problems found:',
        '  p.yaml#1: spec.cidr: "10.0.0.1/8" is not a valid network prefix: host bits are set (did you mean 10.0.0.0/8?)',
        '  p.yaml#3: spec.asNumber: -1 is out of range (1..4294967295)',
      ].join('\n'),
    );
  });
});

describe('hostile input', () => {
  test('a __proto__ key in a map is rejected and pollutes nothing', () => {
    const input = JSON.parse(
      '{"apiVersion":"twill.io/v1","kind":"IPPool","metadata":{"name":"p","labels":{"__proto__":{"x":"1"}}},"spec":{"cidr":"10.0.0.0/8"}}',
    ) as unknown;
    expect(problemsOf(input)).toEqual(['metadata.labels.__proto__: this key is not allowed']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test('deeply wrong types everywhere do not throw', () => {
    for (const spec of [1, 'x', [], true, { ingress: 'x' }, { ingress: [1, null, 'a', []] }, { egress: [{ action: 'Allow', source: 5, destination: [] }] }]) {
      expect(() => validateResource({ apiVersion: 'twill.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec })).not.toThrow();
      expect(validateResource({ apiVersion: 'twill.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec }).ok).toBe(false);
    }
  });
  test('random JSON in every position never throws', () => {
    const paths = (v: unknown, prefix: string[] = []): string[][] =>
      v !== null && typeof v === 'object'
        ? [prefix, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...prefix, k]))]
        : [prefix];
    const setAt = (root: unknown, path: string[], value: unknown): unknown => {
      if (path.length === 0) return value;
      const copy = structuredClone(root) as Record<string, unknown>;
      let o = copy;
      for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
      o[path[path.length - 1] as string] = value;
      return copy;
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...PUBLIC_KINDS).chain((kind) =>
          fc.tuple(fc.constant(kind), fc.constantFrom(...paths(VALID[kind]).filter((p) => p.length > 0))),
        ),
        fc.jsonValue({ maxDepth: 3 }),
        ([kind, path], value) => {
          const r = validateResource(setAt(VALID[kind], path, value));
          // Either still valid, or every problem names a path and a reason.
          if (!r.ok) for (const p of r.problems) expect(p.message.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
