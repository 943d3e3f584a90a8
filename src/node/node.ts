// Wires one twill-node: datastore, kernel handles in the current network namespace, the felix
// agent, and the local HTTP endpoints. main.ts adds the process concerns (args, signals, exit).
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createLogger } from '../lib/logger.js';
import { UnreachableError, openDatastore, type Datastore } from '../datastore/index.js';
import { errorMessage } from '../errors.js';
import { detectBackend, ipset, iptables } from '../iptables/index.js';
import { monitor, openNetlink, type NetlinkHandle } from '../netlink/index.js';
import { CalcGraph } from '../../felix/calc/index.js';
import { RuleRenderer, renderAll } from '../../felix/rules/index.js';
import { Dataplane } from '../../felix/dataplane/index.js';
import type { NodeArgs } from './args.js';
import { FelixAgent } from './felix-agent.js';
import { startHttp } from './http.js';
import { AgentMetrics } from './metrics.js';

export interface RunningNode {
  agent: FelixAgent;
  log: Logger;
  healthPort: number | undefined;
  metricsPort: number | undefined;
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
      return await openDatastore(args.datastore, {
        ...(args.etcdCa ? { etcdCa: args.etcdCa } : {}),
        ...(args.etcdCert ? { etcdCert: args.etcdCert } : {}),
        ...(args.etcdKey ? { etcdKey: args.etcdKey } : {}),
      });
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
  const metrics = new AgentMetrics({ defaultMetrics: true });
  const dataplane = new Dataplane({
    netlink: nl,
    iptables4: iptables({ family: 4, backend: choice.backend }),
    ...(args.ipv6 ? { iptables6: iptables({ family: 6, backend: choice.backend }) } : {}),
    ipset: ipset(),
    monitor: (onEvent) => monitor({ current: true }, ['link', 'route'], onEvent, { onError: (e) => log.error({ err: e.message }, 'netlink monitor failed') }),
    log,
    ...(args.refreshMs !== undefined ? { refreshMs: args.refreshMs } : {}),
  });
  const agent = new FelixAgent({
    nodeName: args.nodeName,
    ds,
    calc: new CalcGraph({ nodeName: args.nodeName }),
    renderer: new RuleRenderer(),
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
      return {
        live: true,
        ready: s.dataplane.ready,
        detail: { inSync: s.inSync, localEndpoints: s.localEndpoints, programmedEndpoints: s.programmedEndpoints, failing: s.dataplane.failing },
      };
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
  await agent.start();
  return {
    agent,
    log,
    healthPort,
    metricsPort,
    stop: async () => {
      await agent.stop();
      for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
      nl.close();
      await ds.close();
    },
  };
}
