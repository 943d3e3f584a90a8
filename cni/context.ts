// What a twill-cni command works with: the runtime's input, the parsed configuration, and the
// datastore / netlink handles, opened on first use and closed at the end.
import type { WorkloadEndpointResource } from '../src/api/types.js';
import type { Datastore } from '../src/datastore/types.js';
import { NetnsNotFoundError } from '../src/netlink/errors.js';
import type { NetlinkHandle, NetnsRef } from '../src/netlink/types.js';
import type { StoreTls, TwillCniConfig } from './config.js';
import { CniCode, CniError, type CniEnv, type NetConf } from './protocol.js';

export interface CniIo {
  env: Record<string, string | undefined>;
  stdin: string;
  openStore(url: string, tls: StoreTls): Promise<Datastore>;
  hostname(): string;
  /** Default: the kernel (src/netlink, loaded on first use). */
  openNetlink?(ref: NetnsRef): Promise<NetlinkHandle>;
  /** STATUS: is twill-node's health endpoint answering? Default: GET <url>/liveness. */
  nodeAlive?(url: string): Promise<boolean>;
  /**
   * ADD's wait for the policy, when the caller knows in-process (twill-node hosting the server):
   * resolves once exactly this endpoint spec is programmed, or returns undefined when it cannot
   * tell for this endpoint (then ADD watches the datastore for status.programmed).
   */
  waitProgrammed?(wep: WorkloadEndpointResource, timeoutMs: number): Promise<void> | undefined;
  /** Called as ADD finishes each step ('ipam', 'veth', 'endpoint', 'programmed'): where the time goes. */
  mark?(step: string): void;
}

/** What a command works with; datastore and netlink handles are opened on first use and closed at the end. */
export class CniContext {
  private ds: Promise<Datastore> | undefined;
  private readonly handles: NetlinkHandle[] = [];

  constructor(
    readonly io: CniIo,
    readonly env: CniEnv,
    readonly conf: NetConf,
    readonly cfg: TwillCniConfig,
  ) {}

  store(): Promise<Datastore> {
    return (this.ds ??= this.io.openStore(this.cfg.datastore, this.cfg.tls));
  }

  async netlink(ref: NetnsRef): Promise<NetlinkHandle> {
    const open = this.io.openNetlink ?? (await import('../src/netlink/handle.js')).openNetlink;
    const h = await open(ref);
    this.handles.push(h);
    return h;
  }

  /** The container's namespace: CNI_NETNS must name an existing one. */
  async containerNetlink(): Promise<NetlinkHandle> {
    if (this.env.netns === '') throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS is required for ${this.env.command}`);
    try {
      return await this.netlink({ path: this.env.netns });
    } catch (e) {
      if (!(e instanceof NetnsNotFoundError)) throw e;
      throw new CniError(CniCode.InvalidEnvironment, `CNI_NETNS ${this.env.netns} does not exist: the container's network namespace is gone or the path is wrong`);
    }
  }

  async close(): Promise<void> {
    for (const h of this.handles) h.close();
    if (this.ds) await (await this.ds.catch(() => undefined))?.close().catch(() => undefined);
  }
}

