// twill-node's BGP side, wired: the speaker (and its kernel route sync) on a worker thread, the
// datastore-driven loop (bgp/agent BgpAgent) on the main thread fed by the node's one syncer, the
// local API's view of peers and routes, and a metrics poll. A worker that dies is logged and
// replaced, and the last configuration handed to the new one.
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { BgpAgent, SpeakerWorker } from '../../bgp/agent/index.js';
import type { PeerStatus, RouteQuery, RouteView, SpeakerConfig } from '../../bgp/server/types.js';
import type { NodeArgs } from './args.js';
import type { AgentMetrics } from './metrics.js';
import { speakerApiSource, type BgpApiSource } from './api-backend.js';

export interface NodeBgp {
  agent: BgpAgent;
  api: BgpApiSource;
  /** The speaker (whichever worker runs now): its sessions and RIBs. */
  speaker: { peers(): Promise<PeerStatus[]>; routes(q: RouteQuery): Promise<RouteView[]> };
  /** Stops the loop and the speaker: graceful (routes kept for a restart) unless told otherwise. */
  stop(graceful?: boolean): Promise<void>;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type Level = (typeof LOG_LEVELS)[number];

export async function startNodeBgp(args: NodeArgs, log: Logger, metrics: AgentMetrics): Promise<NodeBgp> {
  const level: Level = (LOG_LEVELS as readonly string[]).includes(args.logLevel) ? (args.logLevel as Level) : 'info';
  const wlog = log.child({ component: 'bgp' });
  const start = (): Promise<SpeakerWorker> => SpeakerWorker.start({ kernel: { install: true }, logLevel: level, logger: wlog });
  let current = await start();
  let stopping = false;
  let restarting: Promise<void> | undefined;

  const speaker = {
    setConfig: (c: SpeakerConfig) => current.setConfig(c),
    peers: () => current.peers(),
    routes: (q: RouteQuery): Promise<RouteView[]> => current.routes(q),
  };
  const agent = new BgpAgent({ nodeName: args.nodeName, speaker, log: log.child({ component: 'bgp-agent' }) });

  const watch = (w: SpeakerWorker): void => {
    w.onEvent((e) => {
      if (e.type !== 'worker-exit' || stopping || restarting) return;
      log.error({ code: e.code, err: e.message }, 'the BGP speaker thread died; starting a new one');
      restarting = (async () => {
        await new Promise((r) => setTimeout(r, 1000));
        try {
          current = await start();
          watch(current);
          await agent.reapply();
        } catch (err) {
          log.error({ err: errorMessage(err) }, 'could not start a new BGP speaker thread');
        } finally {
          restarting = undefined;
        }
      })();
    });
  };
  watch(current);

  const poll = setInterval(() => {
    if (!agent.config) return;
    current.peers().then(
      (p) => metrics.bgp.observePeers(p),
      () => undefined,
    );
  }, 5000);
  poll.unref();

  const api = speakerApiSource(
    speaker,
    (p) => agent.peerType(p.address)?.type ?? 'global',
    () => {
      const c = agent.config;
      return c ? { asn: c.asn, routerId: c.routerId } : undefined;
    },
  );

  return {
    agent,
    api,
    speaker,
    stop: async (graceful = true) => {
      stopping = true;
      clearInterval(poll);
      agent.stop();
      await restarting;
      await current.stop({ graceful }).catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'BGP speaker stop'));
    },
  };
}
