// Policy explain: felix's verdict for one packet, from the datastore alone.
export { EXPLAIN_KINDS, Explainer, ExplainInputError, type ExplainerOptions, type ExplainRequest, type Explanation, type ExplainedSide, type ExplainedStep, type Party } from './explain.js';
export { endpointList, endpointSearch, type EndpointSource } from './endpoints.js';
export { evaluateEndpoint, ruleMatches, setLookup, type FlowProtocol, type Packet, type SideVerdict } from './evaluate.js';
