// The top-of-rack router's configuration, for either daemon the model allows: BIRD 2 or FRR.
// Both say the same thing: eBGP to each host of the rack (import everything they announce, export
// nothing to them: the hosts' default route points at the ToR), eBGP to the other ToRs on the spine
// (import everything, export what BGP learned and the connected LANs), graceful restart on every
// session, and the learned routes installed in the ToR's kernel. Pure.

export type TorDaemon = 'bird' | 'frr';

export interface TorNeighbor {
  /** "host" neighbours are the rack's hosts; "tor" neighbours the other racks' ToRs. */
  kind: 'host' | 'tor';
  /** The host's name or the other ToR's rack. */
  name: string;
  addr: string;
  asn: number;
}

export interface TorConfigInput {
  /** hostname for FRR; informational for BIRD. */
  name: string;
  routerId: string;
  asn: number;
  neighbors: TorNeighbor[];
}

/** BIRD's protocol name for a neighbour (also how `birdc show protocols` lists it). */
export function birdProtocolName(n: Pick<TorNeighbor, 'kind' | 'name'>): string {
  return `${n.kind}_${n.name.replace(/[^a-zA-Z0-9]/g, '_')}`;
}

/** A BIRD 2 config for a ToR. */
export function birdTorConfig(t: TorConfigInput): string {
  const protos = t.neighbors.map((n) =>
    n.kind === 'host'
      ? `protocol bgp ${birdProtocolName(n)} {
  local as ${t.asn};
  neighbor ${n.addr} as ${n.asn};
  graceful restart on;
  ipv4 { import all; export none; };
}`
      : `protocol bgp ${birdProtocolName(n)} {
  local as ${t.asn};
  neighbor ${n.addr} as ${n.asn};
  graceful restart on;
  ipv4 { import all; export where source ~ [ RTS_BGP, RTS_DEVICE ]; };
}`,
  );
  return `# twill-lab top-of-rack router ${t.name} (BIRD 2)
router id ${t.routerId};
protocol device { }
protocol direct { ipv4; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; merge paths on; graceful restart on; }
${protos.join('\n')}
`;
}

/**
 * An FRR config for a ToR's bgpd (zebra, started beside it, installs the routes bgpd picks).
 * "traditional" defaults; FRR ≥ 7.4 refuses eBGP routes without a policy unless told not to.
 */
export function frrTorConfig(t: TorConfigInput): string {
  const lines: string[] = [
    'frr defaults traditional',
    `hostname ${t.name}`,
    '!',
    '! twill-lab top-of-rack router (FRR)',
    '! The hosts get nothing from the ToR (their default route points at it).',
    'route-map TO-HOSTS deny 10',
    '!',
    `router bgp ${t.asn}`,
    ` bgp router-id ${t.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' bgp log-neighbor-changes',
    ' bgp graceful-restart',
    ' bgp graceful-restart preserve-fw-state',
    ...t.neighbors.flatMap((n) => [` neighbor ${n.addr} remote-as ${n.asn}`, ` neighbor ${n.addr} description ${n.kind} ${n.name}`]),
    ' !',
    ' address-family ipv4 unicast',
    '  redistribute connected',
    ...t.neighbors.flatMap((n) => [`  neighbor ${n.addr} activate`, ...(n.kind === 'host' ? [`  neighbor ${n.addr} route-map TO-HOSTS out`] : [])]),
    ' exit-address-family',
    '!',
  ];
  return `${lines.join('\n')}\n`;
}

export function torConfig(daemon: TorDaemon, t: TorConfigInput): string {
  return daemon === 'frr' ? frrTorConfig(t) : birdTorConfig(t);
}
