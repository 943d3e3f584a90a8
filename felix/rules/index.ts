// felix/rules: desired state → iptables chains, hooks and ipsets. See ../README.md.
export type * from './types.js';
export { RuleRenderer, renderAll, isEmptyRenderDelta, DEFAULT_LOG_PREFIX, DEFAULT_DISPATCH_FANOUT, DEFAULT_MARK_MASK } from './render.js';
export { markBits } from './marks.js';
export { CHAIN, POOL_SET_IDS, endpointChain, ipsetName, policyChain, profileChain } from './names.js';
export { ruleHash } from './hash.js';
export { MarkMaskError, RuleNameError } from './errors.js';
export { toRestoreText, toIpsetRestoreText } from './restore-text.js';
export { DENIED_LOG_DEFAULTS, DENY_LOG_PREFIX, deniedLogSettings, denyLogId, denyLogIndex, type DeniedLogSettings, type DenyCause, type DenyDirection, type DenyLogEntry } from './deny-log.js';
