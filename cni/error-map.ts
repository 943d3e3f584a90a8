// Maps any failure to the CNI error it is reported as (spec codes where one fits, ours from 100).
import { IpamConflictError, IpamRequestError, InvalidPoolError, NoSuchPoolError, PoolExhaustedError } from '../ipam/errors.js';
import { DatastoreConfigError, InUseError, UnreachableError } from '../src/datastore/errors.js';
import { TwillError } from '../src/errors.js';
import { NetnsNotFoundError } from '../src/netlink/errors.js';
import { CniCode, CniError } from './protocol.js';

export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (e instanceof TwillError) {
    const [first, ...rest] = e.message.split('\n');
    const details = [rest.join('\n').trim(), e.hint ? `hint: ${e.hint}` : ''].filter((x) => x).join('\n');
    let code: number = CniCode.Internal;
    if (e instanceof PoolExhaustedError) code = CniCode.PoolExhausted;
    else if (e instanceof NoSuchPoolError || e instanceof IpamRequestError || e instanceof InvalidPoolError || e instanceof DatastoreConfigError) {
      code = CniCode.InvalidNetworkConfig;
    } else if (e instanceof NetnsNotFoundError) code = CniCode.InvalidEnvironment;
    else if (e instanceof UnreachableError || e instanceof InUseError || e instanceof IpamConflictError) code = CniCode.TryAgainLater;
    return new CniError(code, first ?? e.message, details || undefined);
  }
  return new CniError(CniCode.Internal, `internal error: ${e instanceof Error ? e.message : String(e)}`, e instanceof Error ? e.stack : undefined);
}

