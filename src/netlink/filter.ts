// List filters, applied the same way by the kernel handle (after the kernel's own filtering)
// and by the fake.
import * as C from './constants.js';
import { SCOPES } from './spec.js';
import type { Route, RouteFilter } from './types.js';

export function routeMatches(r: Route, f: RouteFilter): boolean {
  if (f.family !== undefined && r.family !== f.family) return false;
  const table = f.table ?? C.RT_TABLE_MAIN;
  if (table !== 'all' && r.table !== table) return false;
  if (f.protocol !== undefined && r.protocol !== f.protocol) return false;
  if (f.type !== undefined && r.type !== f.type) return false;
  if (f.scope !== undefined) {
    const want = typeof f.scope === 'number' ? f.scope : SCOPES[f.scope];
    const have = typeof r.scope === 'number' ? r.scope : SCOPES[r.scope ?? 'universe'];
    if (want !== have) return false;
  }
  if (f.ifindex !== undefined && r.ifindex !== f.ifindex && !(r.multipath ?? []).some((nh) => nh.ifindex === f.ifindex)) return false;
  return true;
}
