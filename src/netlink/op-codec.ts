// Encodes a batch op (route/address/neighbour write) into one request message.
import * as C from './constants.js';
import { encodeAddr } from './addr-codec.js';
import { describeOp } from './describe.js';
import { encodeNeigh } from './neigh-codec.js';
import { encodeRoute } from './route-codec.js';
import { addrSpec, neighSpec, routeSpec } from './spec.js';
import type { NetlinkOp } from './types.js';
import type { Writer } from './wire.js';

const ADD = C.NLM_F_REQUEST | C.NLM_F_CREATE | C.NLM_F_EXCL;
const REPLACE = C.NLM_F_REQUEST | C.NLM_F_CREATE | C.NLM_F_REPLACE;
const DEL = C.NLM_F_REQUEST;

/** Throws a NetlinkError (EINVAL) when the op is malformed; nothing is written then. */
export function encodeOp(w: Writer, op: NetlinkOp, seq: number): void {
  const d = (): string => describeOp(op);
  switch (op.op) {
    case 'routeAdd':
      return encodeRoute(w, C.RTM_NEWROUTE, ADD, seq, routeSpec(op.route, 'add', d));
    case 'routeReplace':
      return encodeRoute(w, C.RTM_NEWROUTE, REPLACE, seq, routeSpec(op.route, 'add', d));
    case 'routeDel':
      return encodeRoute(w, C.RTM_DELROUTE, DEL, seq, routeSpec(op.route, 'del', d));
    case 'addrAdd':
      return encodeAddr(w, C.RTM_NEWADDR, ADD, seq, addrSpec(op.addr, d));
    case 'addrDel':
      return encodeAddr(w, C.RTM_DELADDR, DEL, seq, addrSpec(op.addr, d));
    case 'neighAdd':
      return encodeNeigh(w, C.RTM_NEWNEIGH, ADD, seq, neighSpec(op.neigh, 'add', d));
    case 'neighReplace':
      return encodeNeigh(w, C.RTM_NEWNEIGH, REPLACE, seq, neighSpec(op.neigh, 'add', d));
    case 'neighDel':
      return encodeNeigh(w, C.RTM_DELNEIGH, DEL, seq, neighSpec(op.neigh, 'del', d));
    default:
      throw new TypeError(`unknown netlink op ${JSON.stringify((op as { op?: unknown }).op)}`);
  }
}
