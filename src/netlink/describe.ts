// Text forms of requests, for error messages ("route add 10.0.0.1/32 dev #7 table 254: EEXIST").
import type { Addr, LinkRef, Neighbour, NetlinkOp, Route } from './types.js';

export function describeLink(ref: LinkRef): string {
  return typeof ref === 'number' ? `#${ref}` : `"${ref}"`;
}

export function describeRoute(verb: string, r: Route): string {
  const parts = ['route', verb];
  if (r.type && r.type !== 'unicast') parts.push(r.type);
  parts.push(String(r.dst));
  if (r.gateway) parts.push('via', r.gateway);
  if (r.ifindex) parts.push('dev', `#${r.ifindex}`);
  if (r.onlink) parts.push('onlink');
  for (const nh of r.multipath ?? []) {
    parts.push('nexthop');
    if (nh.gateway) parts.push('via', nh.gateway);
    if (nh.ifindex) parts.push('dev', `#${nh.ifindex}`);
    if (nh.weight) parts.push('weight', String(nh.weight));
    if (nh.onlink) parts.push('onlink');
  }
  if (r.table !== undefined) parts.push('table', String(r.table));
  if (r.protocol !== undefined) parts.push('proto', String(r.protocol));
  if (r.scope !== undefined) parts.push('scope', String(r.scope));
  if (r.metric !== undefined) parts.push('metric', String(r.metric));
  if (r.src) parts.push('src', r.src);
  return parts.join(' ');
}

export function describeAddr(verb: string, a: Addr): string {
  return `address ${verb} ${a.address}/${a.prefixLength} dev #${a.ifindex}`;
}

export function describeNeigh(verb: string, n: Neighbour): string {
  return `neighbour ${verb} ${n.address}${n.mac ? ` lladdr ${n.mac}` : ''} dev #${n.ifindex}`;
}

export function describeOp(op: NetlinkOp): string {
  switch (op.op) {
    case 'routeAdd':
      return describeRoute('add', op.route);
    case 'routeReplace':
      return describeRoute('replace', op.route);
    case 'routeDel':
      return describeRoute('del', op.route);
    case 'addrAdd':
      return describeAddr('add', op.addr);
    case 'addrDel':
      return describeAddr('del', op.addr);
    case 'neighAdd':
      return describeNeigh('add', op.neigh);
    case 'neighReplace':
      return describeNeigh('replace', op.neigh);
    case 'neighDel':
      return describeNeigh('del', op.neigh);
    default:
      return `unknown op ${JSON.stringify((op as { op?: unknown }).op)}`;
  }
}
