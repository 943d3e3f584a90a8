// Addresses for an attachment: twill-ipam in-process (the Ipam library, one datastore transaction
// per ADD), or any other IPAM plugin run as the CNI spec says (e.g. host-local).
import type { Datastore } from '../src/datastore/types.js';
import { readPluginConfig, takeAddresses } from './ipam-plugin.js';
import { execPlugin } from './delegate.js';
import { TWILL_IPAM, type TwillCniConfig } from './config.js';
import type { CniEnv, NetConf } from './protocol.js';

export interface AttachmentIps {
  ipv4?: string;
  ipv6?: string;
}

export interface AddressSource {
  /** Takes (or, for a retried ADD, finds) the attachment's addresses. */
  assign(): Promise<AttachmentIps>;
  /** Frees them; nothing held is fine. */
  release(): Promise<void>;
  /** The addresses held now (twill-ipam), or undefined when the plugin cannot say. */
  held(): Promise<string[] | undefined>;
}

function bare(cidr: string): string {
  const i = cidr.indexOf('/');
  return i < 0 ? cidr : cidr.slice(0, i);
}

/**
 * One Ipam per datastore object: in `twill-cni serve` every call shares the store, so concurrent
 * ADDs queue on one Ipam and are written together (its per-host batching and block cache).
 */
const ipams = new WeakMap<Datastore, object>();

export function handleIdOf(network: string, containerID: string): string {
  return `${network}.${containerID}`;
}

/** The ipam section as twill-ipam reads it, inheriting datastore / node / TLS from the top level. */
function ipamConf(conf: NetConf, cfg: TwillCniConfig): NetConf {
  const inherited: Record<string, unknown> = { datastore: cfg.datastore, nodename: cfg.nodename };
  if (cfg.tls.etcdCa) inherited.etcd_ca_cert_file = cfg.tls.etcdCa;
  if (cfg.tls.etcdCert) inherited.etcd_cert_file = cfg.tls.etcdCert;
  if (cfg.tls.etcdKey) inherited.etcd_key_file = cfg.tls.etcdKey;
  return { ...conf, ipam: { ...inherited, ...cfg.ipam } };
}

export async function addressSource(
  conf: NetConf,
  cfg: TwillCniConfig,
  env: CniEnv,
  rawEnv: Record<string, string | undefined>,
  stdin: string,
  store: () => Promise<Datastore>,
): Promise<AddressSource> {
  if (cfg.ipam.type !== TWILL_IPAM) {
    return {
      assign: async () => {
        const r = await execPlugin(cfg.ipam.type, 'ADD', rawEnv, stdin);
        const out: AttachmentIps = {};
        for (const ip of r?.ips ?? []) {
          const a = bare(ip.address);
          if (a.includes(':')) out.ipv6 ??= a;
          else out.ipv4 ??= a;
        }
        return out;
      },
      release: async () => {
        await execPlugin(cfg.ipam.type, 'DEL', rawEnv, stdin);
      },
      held: async () => undefined,
    };
  }
  const ic = readPluginConfig(ipamConf(conf, cfg), rawEnv);
  const handleID = handleIdOf(cfg.network, env.containerID);
  const { Ipam } = await import('../ipam/ipam.js');
  const get = async (): Promise<InstanceType<typeof Ipam>> => {
    const ds = await store();
    let ipam = ipams.get(ds) as InstanceType<typeof Ipam> | undefined;
    // Pools and IPAMConfig are re-read at most every 5 s (a server makes many calls; the
    // blocks are compare-and-swapped, so a stale view cannot double-assign).
    if (!ipam) ipams.set(ds, (ipam = new Ipam(ds, { contextCacheMs: 5000 })));
    return ipam;
  };
  return {
    assign: async () => {
      const ips = await takeAddresses(await get(), ic, env, handleID);
      const out: AttachmentIps = {};
      for (const a of ips) {
        if (a.family === 6) out.ipv6 ??= a.ip;
        else out.ipv4 ??= a.ip;
      }
      return out;
    },
    release: async () => {
      await (await get()).releaseHandleIfExists(handleID);
    },
    held: async () => (await (await get()).handleAssignments(handleID)).map((a) => a.ip),
  };
}
