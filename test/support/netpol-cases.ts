// Upstream's NetworkPolicy e2e cases (kubernetes test/e2e/network/netpol/network_policy.go,
// "NetworkPolicy between server and client"), plus endPort and DNS-port cases in the style of the
// cyclonus generator, transcribed with their expected reachability on the x/y/z × a/b/c layout
// (namespaces labelled ns=<name>, pods pod=<name>, serving TCP and UDP 80 and 81 with named ports
// serve-80-tcp …). Shared by the unit test (converter → felix/explain) and the e2e test (the xyz
// lab, real probes). The diagonal (a pod to itself over loopback, which no policy governs:
// upstream's AllowLoopback) is always '.'.

export type Proto = 'tcp' | 'udp';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;
/** "x/a", "x/b", … in matrix order. */
export const ALL = NAMESPACES.flatMap((n) => PODS.map((p) => `${n}/${p}`));

export function knp(namespace: string, name: string, spec: unknown): unknown {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

/** Where the pods are: each pod's IPv4 address, and a CIDR holding every pod. */
export interface XyzLayout {
  ip(id: string): string;
  podCidr: string;
}

export const ALL_OPEN = Array(9).fill('.........');
/** Everything reaches everything except into the given columns from the given rows. */
export function deny(cells: (from: string, to: string) => boolean): string[] {
  return ALL.map((f) => ALL.map((t) => (f !== t && cells(f, t) ? 'X' : '.')).join(''));
}
const ns = (id: string): string => id.split('/')[0]!;
const pod = (id: string): string => id.split('/')[1]!;

const podA = { matchLabels: { pod: 'a' } };

export interface NetpolCase {
  name: string;
  policies: unknown[];
  /** Rows: the client (from), columns: the server (to), in ALL order; '.' reaches, 'X' does not. */
  probes: { protocol: Proto; port: number; expect: string[] }[];
}

export function netpolCases({ ip, podCidr }: XyzLayout): NetpolCase[] {
  return [
    {
      name: "should support a 'default-deny-ingress' policy",
      policies: [knp('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((_f, t) => ns(t) === 'x') }],
    },
    {
      name: "should support a 'default-deny-all' policy",
      policies: [knp('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => ns(t) === 'x' || ns(f) === 'x') }],
    },
    {
      name: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
      policies: [knp('x', 'x-a-allows-x-b', { podSelector: podA, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && f !== 'x/b') }],
    },
    {
      name: 'should enforce policy to allow ingress traffic from pods in all namespaces',
      policies: [knp('x', 'allow-from-another-ns', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: {} }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: ALL_OPEN }],
    },
    {
      name: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
      policies: [knp('x', 'allow-client-a-via-ns-selector', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && ns(f) !== 'y') }],
    },
    {
      name: 'should enforce policy based on NamespaceSelector with MatchExpressions',
      policies: [knp('x', 'allow-ns-y-match-selector', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'In', values: ['y'] }] } }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && ns(f) !== 'y') }],
    },
    {
      name: 'should enforce policy based on PodSelector with MatchExpressions',
      policies: [knp('x', 'x-a-allows-x-b', { podSelector: podA, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && f !== 'x/b') }],
    },
    {
      name: 'should enforce policy based on PodSelector or NamespaceSelector (two peers: OR)',
      policies: [
        knp('x', 'allow-ns-y-match-selector', {
          podSelector: podA,
          ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }, { podSelector: { matchLabels: { pod: 'b' } } }] }],
        }),
      ],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && (f === 'x/c')) }],
    },
    {
      name: 'should enforce policy based on PodSelector and NamespaceSelector (one peer: AND)',
      policies: [
        knp('x', 'allow-ns-y-podselector-and-nsselector', {
          podSelector: podA,
          ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] }, podSelector: { matchLabels: { pod: 'b' } } }] }],
        }),
      ],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && !(ns(f) !== 'x' && pod(f) === 'b')) }],
    },
    {
      name: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
      policies: [
        knp('x', 'allow-z-pod-b-c', {
          podSelector: podA,
          ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] }, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] }],
        }),
      ],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && !(ns(f) !== 'x' && pod(f) !== 'a')) }],
    },
    {
      name: 'should enforce policy based on any PodSelectors',
      policies: [knp('x', 'allow-x-b-c', { podSelector: podA, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }, { podSelector: { matchLabels: { pod: 'c' } } }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && !(f === 'x/b' || f === 'x/c')) }],
    },
    {
      name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
      policies: [knp('x', 'allow-ns-y-pod-a', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: podA }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && f !== 'y/a') }],
    },
    {
      name: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
      policies: [knp('x', 'allow-client-a-via-ns-selector-for-immutable-ns-label', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'y' } } }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && ns(f) !== 'y') }],
    },
    {
      name: 'should enforce policy based on Ports',
      policies: [knp('x', 'allow-ingress-on-port-81', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }], ports: [{ port: 81 }] }] })],
      probes: [
        { protocol: 'tcp', port: 80, expect: deny((_f, t) => t === 'x/a') },
        { protocol: 'tcp', port: 81, expect: deny((f, t) => t === 'x/a' && ns(f) === 'x') },
      ],
    },
    {
      name: 'should enforce multiple, stacked policies with overlapping podSelectors',
      policies: [
        knp('x', 'allow-ingress-on-port-81', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }], ports: [{ port: 81 }] }] }),
        knp('x', 'allow-ingress-on-port-80', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] } }], ports: [{ port: 80 }] }] }),
      ],
      probes: [
        { protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && ns(f) === 'x') },
        { protocol: 'tcp', port: 81, expect: deny((f, t) => t === 'x/a' && ns(f) === 'x') },
      ],
    },
    {
      name: 'should support allow-all policy',
      policies: [knp('x', 'allow-all', { podSelector: {}, ingress: [{}] })],
      probes: [{ protocol: 'tcp', port: 80, expect: ALL_OPEN }, { protocol: 'tcp', port: 81, expect: ALL_OPEN }],
    },
    {
      name: 'should allow ingress access on one named port',
      policies: [knp('x', 'allow-all', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
      probes: [
        { protocol: 'tcp', port: 81, expect: ALL_OPEN },
        { protocol: 'tcp', port: 80, expect: deny((_f, t) => ns(t) === 'x') },
      ],
    },
    {
      name: 'should allow ingress access from namespace on one named port',
      policies: [knp('x', 'allow-client-in-ns-y-on-port-80', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 'serve-80-tcp' }] }] })],
      probes: [
        { protocol: 'tcp', port: 80, expect: deny((f, t) => ns(t) === 'x' && ns(f) !== 'y') },
        { protocol: 'tcp', port: 81, expect: deny((_f, t) => ns(t) === 'x') },
      ],
    },
    {
      name: 'should allow egress access on one named port',
      policies: [knp('x', 'allow-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })],
      probes: [
        { protocol: 'tcp', port: 80, expect: ALL_OPEN },
        { protocol: 'tcp', port: 81, expect: deny((f) => ns(f) === 'x') },
      ],
    },
    {
      name: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector (DNS allowed)',
      policies: [
        knp('x', 'allow-to-ns-y-pod-a', {
          podSelector: podA,
          policyTypes: ['Egress'],
          egress: [{ ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }, { to: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: podA }] }],
        }),
      ],
      probes: [
        { protocol: 'tcp', port: 80, expect: deny((f, t) => f === 'x/a' && t !== 'y/a') },
        { protocol: 'udp', port: 53, expect: ALL_OPEN },
        { protocol: 'tcp', port: 53, expect: ALL_OPEN },
      ],
    },
    {
      name: 'policyTypes absent with egress rules: Ingress and Egress, so the empty ingress isolates',
      policies: [knp('x', 'egress-80-no-types', { podSelector: {}, egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })],
      probes: [
        { protocol: 'tcp', port: 80, expect: deny((_f, t) => ns(t) === 'x') },
        { protocol: 'tcp', port: 81, expect: deny((f, t) => ns(t) === 'x' || ns(f) === 'x') },
      ],
    },
    {
      name: 'should deny egress from pods based on PodSelector',
      policies: [knp('x', 'deny-egress-pod-a', { podSelector: podA, policyTypes: ['Egress'] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f) => f === 'x/a') }],
    },
    {
      name: 'should deny egress from all pods in a namespace',
      policies: [knp('x', 'deny-egress-ns-x', { podSelector: {}, policyTypes: ['Egress'] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f) => ns(f) === 'x') }],
    },
    {
      name: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
      policies: [knp('x', 'allow-ingress-by-proto', { podSelector: podA, ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
      probes: [
        { protocol: 'tcp', port: 80, expect: ALL_OPEN },
        { protocol: 'tcp', port: 81, expect: ALL_OPEN },
        { protocol: 'udp', port: 80, expect: deny((_f, t) => t === 'x/a') },
      ],
    },
    {
      name: 'should not allow access by TCP when a policy specifies only UDP',
      policies: [knp('x', 'allow-only-udp-ingress-on-port-81', { podSelector: podA, ingress: [{ ports: [{ protocol: 'UDP', port: 81 }] }] })],
      probes: [
        { protocol: 'tcp', port: 81, expect: deny((_f, t) => t === 'x/a') },
        { protocol: 'udp', port: 81, expect: ALL_OPEN },
      ],
    },
    {
      name: 'should enforce policy to allow ingress traffic for a target (default deny + allow to x/a)',
      policies: [
        knp('x', 'deny-ingress-via-label-selector', { podSelector: {}, policyTypes: ['Ingress'] }),
        knp('x', 'allow-all-to-a', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      ],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((_f, t) => ns(t) === 'x' && t !== 'x/a') }],
    },
    {
      name: 'should allow egress access to server in CIDR block',
      policies: [knp('x', 'allow-client-a-via-cidr-egress-rule', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: `${ip('y/b')}/32` } }] }] })],
        probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => f === 'x/a' && t !== 'y/b') }],
    },
    {
      name: 'should enforce except clause while egress access to server in CIDR block',
      policies: [knp('x', 'deny-client-a-via-except-cidr-egress-rule', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: podCidr, except: [`${ip('x/b')}/32`] } }] }] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((f, t) => f === 'x/a' && t === 'x/b') }],
    },
    {
      name: 'ingress on an endPort range (cyclonus: port 80, endPort 81)',
      policies: [knp('x', 'allow-80-81-from-y', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }] })],
      probes: [
        { protocol: 'tcp', port: 80, expect: deny((f, t) => t === 'x/a' && ns(f) !== 'y') },
        { protocol: 'tcp', port: 81, expect: deny((f, t) => t === 'x/a' && ns(f) !== 'y') },
        { protocol: 'udp', port: 80, expect: deny((_f, t) => t === 'x/a') },
      ],
    },
    {
      name: 'egress on an endPort range that leaves out 80 (cyclonus: port 81, endPort 90, DNS allowed)',
      policies: [knp('x', 'egress-81-90', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 81, endPort: 90 }, { protocol: 'UDP', port: 53 }] }] })],
      probes: [
        { protocol: 'tcp', port: 80, expect: deny((f) => ns(f) === 'x') },
        { protocol: 'tcp', port: 81, expect: ALL_OPEN },
        { protocol: 'udp', port: 53, expect: ALL_OPEN },
        { protocol: 'udp', port: 81, expect: deny((f) => ns(f) === 'x') },
      ],
    },
    {
      name: 'UDP named port: ingress on serve-80-udp only (SCTP never read as TCP)',
      policies: [knp('x', 'udp-80', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP', port: 'serve-80-udp' }, { protocol: 'SCTP', port: 80 }] }] })],
      probes: [
        { protocol: 'udp', port: 80, expect: ALL_OPEN },
        { protocol: 'tcp', port: 80, expect: deny((_f, t) => ns(t) === 'x') },
        { protocol: 'udp', port: 81, expect: deny((_f, t) => ns(t) === 'x') },
      ],
    },
    {
      name: 'an empty ingress list with policyTypes absent isolates ingress only',
      policies: [knp('y', 'iso', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [], egress: [] })],
      probes: [{ protocol: 'tcp', port: 80, expect: deny((_f, t) => t === 'y/b') }],
    },
  ];
}
