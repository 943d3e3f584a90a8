// What every twillctl command gets: the process's I/O (src/lib/cli-io.ts, injectable, so tests run
// commands in-process) and a lazily opened datastore that run() always closes.
//
// Command modules import CliIo / CliContext from HERE (not from ../program.js), so that
// program.ts -> commands/*.ts -> context.ts has no import cycle.

import type { QuerySnapshot, QuerySpec } from '../datastore/query.js';
import type { Datastore } from '../datastore/types.js';
import type { CliIo } from '../lib/cli-io.js';
import type { EtcdTlsFiles } from '../lib/etcd-flags.js';

export type { CliIo };

/** Global options every command sees (set on the root command). */
export interface GlobalOptions extends EtcdTlsFiles {
  datastore?: string;
}

export interface CliContext {
  io: CliIo;
  /**
   * The datastore chosen by --datastore, else TWILL_DATASTORE, else the default file store.
   * Opened on first use and shared by the rest of the invocation; run() closes it.
   */
  openStore(): Promise<Datastore>;
  /**
   * One read of the datastore for a question (src/datastore/query.ts): a file store is read
   * without its lock and parses only what the question finds; nothing stays open.
   */
  readForQuery(spec: QuerySpec): Promise<QuerySnapshot>;
  /** The datastore URL this invocation uses (without opening it). */
  datastoreUrl(): string;
  /**
   * Exit code to return when the command finishes without throwing (default 0). Commands set 3
   * for "a check found problems". Errors thrown by a command are mapped by exit.ts instead.
   */
  exitCode: number;
}
