// twill-node's local API: types, the gRPC server (twill-node) and client (twillctl).
export type { FailingKey, NodeApiBackend, NodeDeniedPacket, NodeDeniedQuery, NodePeerRow, NodePeerState, NodePeerType, NodeRouteQuery, NodeRouteRow, NodeStatusReport, RouteDirection } from './types.js';
export { NodeApiClient } from './client.js';
export { startNodeApiServer, type NodeApiServer } from './server.js';
export { NodeApiRequestError, NodeApiServeError, NodeApiUnreachableError } from './errors.js';
export { API_SOCKET_DIR, defaultApiSocket, defaultNodeName } from './defaults.js';
