// Socket options for BGP sessions: TCP MD5 (RFC 2385) and GTSM (RFC 5082).
export { fdOf, setMinTtl, setTcpMd5, setTtl, socketFamily } from './options.js';
export { connectWithOptions, type ConnectOptions } from './connect.js';
export { listenWithOptions, type BgpListener, type ListenOptions } from './listen.js';
export { ConnectTimeoutError, SocketInputError, SocketOptionError } from './errors.js';
