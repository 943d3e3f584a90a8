// Wires one twill-node: datastore, kernel handles in the current network namespace, the node's
// identity, one datastore syncer shared by the felix agent and the BGP side (the speaker on its own
// thread), the local API and the HTTP endpoints. main.ts adds the process concerns.
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createLogger } from '../lib/logger.js';
import { NodeIpamGc } from './ipam-gc.js';
import { UnreachableError, openDatastore, startSharedSyncer, type Datastore, type SyncConsumer, type SyncerCallbacks } from '../datastore/index.js';
import { errorMessage } from '../errors.js';
import { detectBackend, ipset, iptables } from '../iptables/index.js';
import { openNetlink, openNflog, sharedMonitor, type Monitor, type NetlinkHandle } from '../netlink/index.js';
import { CalcGraph } from '../../felix/calc/index.js';
import { RuleRenderer, deniedLogSettings, renderAll } from '../../felix/rules/index.js';
import { Dataplane } from '../../felix/dataplane/index.js';
import type { NodeArgs } from './args.js';
import { FELIX_KINDS, FelixAgent } from '../../felix/agent.js';
import { BGP_AGENT_KINDS } from '../../bgp/agent/index.js';
import { startNodeBgp, type NodeBgp } from './bgp.js';
import { startHttp } from '../lib/http.js';
import { AgentMetrics } from './metrics.js';
import { packageVersion } from '../lib/package-info.js';
import { DEFAULT_CNI_SOCKET, defaultApiSocket } from '../nodeapi/defaults.js';
import { startCniServer, type CniServer } from '../../cni/server.js';
import { workloadSpecHash } from '../api/spec-hash.js';
import { startNodeApiServer, type NodeApiServer } from '../nodeapi/server.js';
import { TwillNodeApiBackend } from './api-backend.js';
import { listInterfaces, sourceAddressFor } from './autodetect.js';
import { establishNodeIdentity, type NodeAddresses } from './identity.js';
import { readiness } from './readiness.js';
import { verifyNode } from './verify.js';
import { etcdTlsFiles } from '../lib/etcd-flags.js';
import { DeniedPacketLog } from './denied.js';

export interface RunningNode {
  agent: FelixAgent;
  /** The BGP side (absent with --no-bgp). */
  bgp: NodeBgp | undefined;
  log: Logger;
  healthPort: number | undefined;
  metricsPort: number | undefined;
  /** The node's addresses as registered in its Node resource. */
  addresses: NodeAddresses;
  /** The Prometheus metrics (BGP: metrics.bgp.observePeers). */
  metrics: AgentMetrics;
  /** What the local API serves; plug the BGP speaker in with api.setBgp(). */
  api: TwillNodeApiBackend;
  /** The local API's socket, when it is being served. */
  apiSocket: string | undefined;
  /** Where CNI calls are being served, if they are. */
  cniSocket: string | undefined;
  /** Stops everything; the kernel is left as programmed. */
  stop(): Promise<void>;
}

/**
 * Opens the datastore; while it is unreachable, keeps trying (500 ms doubling to 10 s) and says so:
 * a host agent started before etcd must wait for it, not crash-loop. Other errors are fatal.
 */
async function openWithRetry(args: NodeArgs, log: Logger, signal?: AbortSignal): Promise<Datastore> {
  let delay = 500;
  for (;;) {
    try {
      return await openDatastore(args.datastore, etcdTlsFiles(args));
    } catch (e) {
      if (!(e instanceof UnreachableError) || signal?.aborted) throw e;
      log.warn({ err: errorMessage(e), retryMs: delay }, 'datastore unreachable; retrying');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(10_000, delay * 2);
    }
  }
}

export async function startNode(args: NodeArgs, log: Logger = createLogger({ level: args.logLevel, base: { node: args.nodeName } })): Promise<RunningNode> {
  const ds = await openWithRetry(args, log);
  const choice = await detectBackend({ override: args.iptablesBackend });
  log.info({ backend: choice.backend, reason: choice.reason, datastore: ds.location }, 'starting');
  const nl: NetlinkHandle = await openNetlink();
  const version = packageVersion();
  let identity;
  try {
    identity = await establishNodeIdentity({
      ds,
      nodeName: args.nodeName,
      version,
      log,
      flags: args,
      host: { interfaces: () => listInterfaces(nl), sourceFor: sourceAddressFor },
    });
  } catch (e) {
    nl.close();
    await ds.close();
    throw e;
  }
  const metrics = new AgentMetrics({ defaultMetrics: true });
  const dataplane = new Dataplane({
    netlink: nl,
    iptables4: iptables({ family: 4, backend: choice.backend }),
    ...(args.ipv6 ? { iptables6: iptables({ family: 6, backend: choice.backend }) } : {}),
    ipset: ipset(),
    monitor: (onEvent) => sharedMonitor({ current: true }, ['link', 'route'], onEvent, { onError: (e) => log.error({ err: e.message }, 'netlink monitor failed') }),
    log,
    ...(args.refreshMs !== undefined ? { refreshMs: args.refreshMs } : {}),
  });
  let bgp: NodeBgp | undefined;
  if (args.bgp) {
    try {
      bgp = await startNodeBgp(args, log, metrics);
    } catch (e) {
      nl.close();
      await identity.heartbeat.stop();
      await ds.close();
      throw e;
    }
  }
  // One syncer for the node: felix gets its kinds, the BGP side its own.
  const subscribe = (felix: SyncerCallbacks): { stop(): Promise<void> } => {
    const consumers: SyncConsumer[] = [{ kinds: FELIX_KINDS, callbacks: felix }];
    if (bgp) consumers.push({ kinds: BGP_AGENT_KINDS, callbacks: bgp.agent.callbacks });
    return startSharedSyncer(ds, consumers);
  };
  const renderer = new RuleRenderer();
  // Denied-packet logging: interface names for the packets' ifindexes, kept by the link monitor.
  // (Subscribed before listing, so no link falls between the two; events win over the list.)
  const ifNames = new Map<number, string>();
  const seen = new Set<number>();
  const links: Monitor = await sharedMonitor({ current: true }, ['link'], (e) => {
    if (e.kind !== 'link') return;
    seen.add(e.link.index);
    if (e.action === 'new') ifNames.set(e.link.index, e.link.name);
    else ifNames.delete(e.link.index);
  });
  for (const l of await nl.linkList()) if (!seen.has(l.index)) ifNames.set(l.index, l.name);
  const denied = new DeniedPacketLog({
    log,
    lookup: (id) => renderer.denyLogEntry(id),
    endpointOn: (iface) => renderer.endpointOn(iface),
    interfaceName: (i) => ifNames.get(i),
    open: (group, onPacket) => openNflog({ group, onError: (e) => log.error({ err: e.message }, 'reading denied packets failed') }, onPacket),
    count: (policy, direction) => metrics.countDenied(policy, direction),
  });
  const agent = new FelixAgent({
    subscribe,
    nodeName: args.nodeName,
    ds,
    calc: new CalcGraph({ nodeName: args.nodeName }),
    renderer,
    onConfig: (c) => void denied.configure(deniedLogSettings(c)),
    renderAll: (s) => renderAll(s),
    dataplane,
    log,
    metrics,
  });
  const servers: Server[] = [];
  let healthPort: number | undefined;
  let metricsPort: number | undefined;
  const health = {
    health: () => {
      const s = agent.snapshotStatus();
      return { live: true, ...readiness(s) };
    },
  };
  if (args.healthPort > 0 || (args.metricsPort > 0 && args.metricsPort === args.healthPort)) {
    const h = await startHttp({ host: args.healthHost, port: args.healthPort, health, ...(args.metricsPort === args.healthPort ? { registry: metrics.registry } : {}) });
    servers.push(h.server);
    healthPort = h.port;
  }
  if (args.metricsPort > 0 && args.metricsPort !== args.healthPort) {
    const m = await startHttp({ host: args.healthHost, port: args.metricsPort, registry: metrics.registry });
    servers.push(m.server);
    metricsPort = m.port;
  }
  const nodeBgp = bgp;
  const verify = (): ReturnType<typeof verifyNode> =>
    verifyNode({
      nodeName: args.nodeName,
      policy: { inSync: () => agent.snapshotStatus().inSync, verifyKernel: () => dataplane.verifyKernel() },
      ...(nodeBgp
        ? {
            bgp: {
              neighbors: () => nodeBgp.agent.config?.neighbors,
              peers: () => nodeBgp.speaker.peers(),
              routes: (q) => nodeBgp.speaker.routes(q),
              typeOf: (a) => nodeBgp.agent.peerType(a)?.type,
            },
          }
        : {}),
      netlink: nl,
    });
  const api = new TwillNodeApiBackend({ nodeName: args.nodeName, version, addresses: identity.addresses, policy: () => agent.snapshotStatus(), verify, denied });
  if (bgp) api.setBgp(bgp.api);
  let apiServer: NodeApiServer | undefined;
  const apiSocket = args.apiSocket ?? defaultApiSocket(args.nodeName);
  if (apiSocket !== '') {
    // The API is for looking, policy is for enforcing: an API that cannot be served is logged, not fatal.
    apiServer = await startNodeApiServer(apiSocket, api).catch((e: unknown) => {
      log.error({ err: errorMessage(e), socket: apiSocket }, 'cannot serve the local API; twillctl node status will not reach this agent');
      return undefined;
    });
  }
  await agent.start();
  // CNI calls (twill-cni hands them over): ADD learns from the dataplane that its endpoint is
  // programmed, without the status write and a datastore watch.
  let cniServer: CniServer | undefined;
  const cniSocket = args.cniSocket ?? DEFAULT_CNI_SOCKET;
  if (cniSocket !== '') {
    cniServer = await startCniServer({
      socket: cniSocket,
      whenProgrammed: (wep, signal) =>
        wep.spec.node === args.nodeName ? agent.whenEndpointProgrammed(wep.metadata.namespace ?? 'default', wep.metadata.name, workloadSpecHash(wep.spec), signal) : undefined,
      onCall: (c) => {
        metrics.observeCniCall(c.command, c.exitCode === 0, c.ms, c.steps);
        log.debug({ command: c.command, containerID: c.containerID, exitCode: c.exitCode, ms: Math.round(c.ms), steps: c.steps }, 'CNI call served');
      },
    }).catch((e: unknown) => {
      // twill-cni then runs its calls itself: slower, still correct.
      log.warn({ err: errorMessage(e), socket: cniSocket }, 'cannot serve CNI calls; twill-cni will run them in its own process');
      return undefined;
    });
  }
  const ipamGc = new NodeIpamGc(ds, log, { nodeName: args.nodeName, intervalMs: args.ipamGcIntervalMs, graceMs: args.ipamGcGraceMs });
  ipamGc.start();
  return {
    agent,
    bgp,
    log,
    healthPort,
    metricsPort,
    addresses: identity.addresses,
    metrics,
    api,
    apiSocket: apiServer?.socketPath,
    cniSocket: cniServer?.socketPath,
    stop: async () => {
      await cniServer?.close();
      await denied.close();
      await ipamGc.stop();
      await apiServer?.close();
      await identity.heartbeat.stop();
      await agent.stop();
      links.close();
      // Graceful: peers keep our routes and the kernel keeps theirs while we restart.
      await bgp?.stop(true);
      for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
      nl.close();
      await ds.close();
    },
  };
}
