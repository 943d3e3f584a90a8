// Human names of BGP numbers, for logs and error messages. Nothing here affects the wire.

const CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
  8: 'Send Hold Timer Expired',
};

const SUBCODE_NAMES: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    5: 'Authentication Failure (deprecated)',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    11: 'Role Mismatch',
  },
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    7: 'AS Routing Loop (deprecated)',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  5: {
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  7: { 1: 'Invalid Message Length' },
};

const ATTR_NAMES: Readonly<Record<number, string>> = {
  1: 'ORIGIN',
  2: 'AS_PATH',
  3: 'NEXT_HOP',
  4: 'MULTI_EXIT_DISC',
  5: 'LOCAL_PREF',
  6: 'ATOMIC_AGGREGATE',
  7: 'AGGREGATOR',
  8: 'COMMUNITIES',
  9: 'ORIGINATOR_ID',
  10: 'CLUSTER_LIST',
  14: 'MP_REACH_NLRI',
  15: 'MP_UNREACH_NLRI',
  16: 'EXTENDED_COMMUNITIES',
  17: 'AS4_PATH',
  18: 'AS4_AGGREGATOR',
  22: 'PMSI_TUNNEL',
  23: 'TUNNEL_ENCAPSULATION',
  26: 'AIGP',
  29: 'BGP-LS',
  32: 'LARGE_COMMUNITY',
  33: 'BGPsec_PATH',
  35: 'OTC',
  128: 'ATTR_SET',
};

const CAPABILITY_NAMES: Readonly<Record<number, string>> = {
  1: 'Multiprotocol',
  2: 'Route Refresh',
  3: 'Outbound Route Filtering',
  5: 'Extended Next Hop Encoding',
  6: 'Extended Message',
  9: 'BGP Role',
  64: 'Graceful Restart',
  65: '4-octet AS',
  69: 'ADD-PATH',
  70: 'Enhanced Route Refresh',
  71: 'Long-Lived Graceful Restart',
  73: 'FQDN',
  128: 'Route Refresh (pre-standard)',
};

const MESSAGE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'OPEN',
  2: 'UPDATE',
  3: 'NOTIFICATION',
  4: 'KEEPALIVE',
  5: 'ROUTE-REFRESH',
};

export function errorCodeName(code: number): string {
  return CODE_NAMES[code] ?? `error code ${code}`;
}

/** Subcode name, or undefined when the registry has none (subcode 0 is "unspecific"). */
export function errorSubcodeName(code: number, subcode: number): string | undefined {
  if (subcode === 0) return undefined;
  return SUBCODE_NAMES[code]?.[subcode];
}

export function attrName(type: number): string {
  return ATTR_NAMES[type] ?? `attribute type ${type}`;
}

export function capabilityName(code: number): string {
  return CAPABILITY_NAMES[code] ?? `capability ${code}`;
}

export function messageTypeName(type: number): string {
  return MESSAGE_TYPE_NAMES[type] ?? `message type ${type}`;
}

export function familyName(afi: number, safi: number): string {
  const a = afi === 1 ? 'IPv4' : afi === 2 ? 'IPv6' : `AFI ${afi}`;
  const s = safi === 1 ? 'unicast' : safi === 2 ? 'multicast' : `SAFI ${safi}`;
  return `${a} ${s}`;
}

/** A stable, machine-friendly slug of a code/subcode pair, e.g. "UPDATE_MALFORMED_AS_PATH". */
export function errorSlug(code: number, subcode: number): string {
  const prefix: Readonly<Record<number, string>> = {
    1: 'HEADER',
    2: 'OPEN',
    3: 'UPDATE',
    4: 'HOLD_TIMER_EXPIRED',
    5: 'FSM',
    6: 'CEASE',
    7: 'ROUTE_REFRESH',
    8: 'SEND_HOLD_TIMER_EXPIRED',
  };
  const p = prefix[code] ?? `CODE_${code}`;
  const sub = errorSubcodeName(code, subcode);
  if (!sub) return subcode === 0 ? p : `${p}_${subcode}`;
  const s = sub
    .replace(/\(deprecated\)/, '')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
    .toUpperCase();
  return `${p}_${s}`;
}
