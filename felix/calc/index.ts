// felix/calc: the datastore → this host's desired state. See ../README.md.
export type * from './types.js';
export { CalcGraph, isEmptyDelta } from './graph.js';
export {
  NAMESPACE_LABEL,
  NAMESPACE_NAME_LABEL,
  NAMESPACE_PROFILE_PREFIX,
  ORCHESTRATOR_LABEL,
  SERVICE_ACCOUNT_LABEL,
} from './match.js';
export { policyId, profileId, DEFAULT_TIER } from './convert-policy.js';
