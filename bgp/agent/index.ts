// The datastore-driven BGP agent: resources → SpeakerConfig. See ./README.md.

export { BGP_AGENT_KINDS, isBgpAgentKind, type BgpAgentKind } from './kinds.js';
export { BgpAgentInputs } from './store.js';
export { buildSpeakerConfig } from './build.js';
export { AGENT_MAX_PATHS, DEFAULT_RESTART_TIME } from './peers.js';
export type { AgentBuild, AgentSnapshot, PeerInfo, PeerType } from './types.js';
export { BgpAgent, type BgpAgentOptions, type BgpAgentStatus, type SpeakerHandle } from './agent.js';
export { SpeakerWorker, type SpeakerWorkerOptions, type SpeakerWorkerEvent } from './worker-host.js';
export { diffBgp, type BgpCounts, type BgpVerifyInput } from './verify.js';
