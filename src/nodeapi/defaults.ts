// Defaults twill-node and twillctl share: the node name, and where the local API socket is.
import { hostname } from 'node:os';
import { TwillError } from '../errors.js';

export const API_SOCKET_DIR = '/run/twill';

/** The host name, lower case (Calico's default node name too). */
export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

/** `/run/twill/<node-name>.sock`. */
export function defaultApiSocket(nodeName: string): string {
  if (!nodeName || nodeName.includes('/') || nodeName === '.' || nodeName === '..') {
    throw new TwillError('NodeApiSocket', `node name "${nodeName}" cannot name a socket file`, { hint: 'pass the socket with --api-socket PATH' });
  }
  return `${API_SOCKET_DIR}/${nodeName}.sock`;
}

/** Where twill-node (or `twill-cni serve`) serves CNI calls; the twill-cni client's default. */
export const DEFAULT_CNI_SOCKET = `${API_SOCKET_DIR}/cni.sock`;
