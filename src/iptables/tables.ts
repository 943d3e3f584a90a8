// The tables iptables knows and their built-in chains, in iptables-save order.
import { IptablesUsageError } from './errors.js';

export const BUILTIN_CHAINS: Readonly<Record<string, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export const TABLES: readonly string[] = Object.keys(BUILTIN_CHAINS);

export function isTable(table: string): boolean {
  return Object.prototype.hasOwnProperty.call(BUILTIN_CHAINS, table);
}

/** Throws IptablesUsageError unless `table` is one iptables knows. */
export function checkTable(table: string): void {
  if (!isTable(table)) {
    throw new IptablesUsageError(`iptables table ${JSON.stringify(table)} is not one of ${TABLES.join(', ')}`);
  }
}
