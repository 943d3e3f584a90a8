// BGPPeer and BGPConfiguration specs.

import { parseIp } from '../cidr.js';
import { parseDuration } from '../duration.js';
import { describeValue, isPlainObject, type Path, type Problems } from './problems.js';
import { asNumber, cidr, duration, portNumber, secret, selector, subdomain } from './scalars.js';
import { bool, custom, int, list, obj, str, type ObjectSchema } from './schema.js';

export const LOG_SEVERITIES = ['Debug', 'Info', 'Warning', 'Error', 'Fatal'] as const;

/** Why `v` is not "ip", "ipv4:port" or "[ipv6]:port", or undefined. */
export function peerAddressProblem(v: string): string | undefined {
  const bad = `${JSON.stringify(v)} is not a peer address: write an IP address, "10.0.0.1:1790" or "[fd00::1]:1790"`;
  let host = v;
  let port: string | undefined;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(v);
  const v4 = /^([^:]+):(\d+)$/.exec(v);
  if (v6) [, host = '', port] = v6;
  else if (v4) [, host = '', port] = v4;
  try {
    const a = parseIp(host);
    if (v6 && a.family !== 6) return bad;
  } catch {
    return bad;
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    return `port ${port} in ${JSON.stringify(v)} is out of range (1..65535)`;
  }
  return undefined;
}

const peerAddress = custom((v, path, problems) => {
  if (typeof v !== 'string') problems.add(path, `expected an IP address, found ${describeValue(v)}`);
  else {
    const p = peerAddressProblem(v);
    if (p) problems.add(path, p);
  }
  return v;
});

function durationMs(v: unknown): number | undefined {
  return typeof v === 'string' ? parseDuration(v) : undefined;
}

function checkPeer(spec: Record<string, unknown>, path: Path, problems: Problems): void {
  if (spec.node !== undefined && spec.nodeSelector !== undefined) {
    problems.add([...path, 'nodeSelector'], 'set node or nodeSelector, not both');
  }
  if (spec.peerIP !== undefined && spec.peerSelector !== undefined) {
    problems.add([...path, 'peerSelector'], 'set peerIP or peerSelector, not both');
  }
  if (spec.peerIP === undefined && spec.peerSelector === undefined) {
    problems.add(path, 'set peerIP (a router outside the cluster) or peerSelector (the nodes to peer with)');
  }
  if (spec.peerIP !== undefined && spec.asNumber === undefined) {
    problems.add([...path, 'asNumber'], "required with peerIP: the peer's AS number");
  }
  if (spec.peerSelector !== undefined && spec.asNumber !== undefined) {
    problems.add([...path, 'asNumber'], "must not be set with peerSelector: each selected node's own AS number is used");
  }
  const hold = durationMs(spec.holdTime);
  const keepalive = durationMs(spec.keepaliveTime);
  if (hold !== undefined && hold > 0 && hold < 3000) {
    problems.add([...path, 'holdTime'], `${String(spec.holdTime)} is too short: use 0 (no keepalives) or at least 3s (RFC 4271)`);
  }
  if (keepalive !== undefined && keepalive <= 0) {
    problems.add([...path, 'keepaliveTime'], 'must be longer than 0');
  }
  if (hold !== undefined && hold >= 3000 && keepalive !== undefined && keepalive > 0 && keepalive >= hold) {
    problems.add(
      [...path, 'keepaliveTime'],
      `${String(spec.keepaliveTime)} must be shorter than holdTime ${String(spec.holdTime)} (usually a third of it)`,
    );
  }
}

export const bgpPeerSpec: ObjectSchema = obj(
  {
    node: subdomain(),
    nodeSelector: selector(),
    peerIP: peerAddress,
    asNumber: asNumber(),
    peerSelector: selector(),
    password: secret(),
    keepaliveTime: duration(),
    holdTime: duration(),
    maxRestartTime: duration(),
    sourceAddress: str({ enum: ['UseNodeIP', 'None'] }),
    keepOriginalNextHop: bool(),
    ttlSecurity: int(0, 255),
    maxPrefixes: obj(
      { ipv4: int(1, 0xffffffff), ipv6: int(1, 0xffffffff), action: str({ enum: ['warn', 'stop', 'reset'] }), restartAfter: duration() },
      { check: checkMaxPrefixes },
    ),
  },
  { check: checkPeer },
);

function checkMaxPrefixes(spec: Record<string, unknown>, path: Path, problems: Problems): void {
  if (spec.ipv4 === undefined && spec.ipv6 === undefined) problems.add(path, 'set ipv4 and/or ipv6: the most prefixes accepted from the peer per family');
  if (spec.restartAfter !== undefined && spec.action !== undefined && spec.action !== 'reset') {
    problems.add([...path, 'restartAfter'], `is for action reset (action is ${String(spec.action)})`);
  }
  const ms = durationMs(spec.restartAfter);
  if (ms !== undefined && ms < 1000) problems.add([...path, 'restartAfter'], 'must be at least 1s');
}

/** Why `v` is not a community value ("65000:100" standard, "65000:1:2" large), or undefined. */
export function communityValueProblem(v: string): string | undefined {
  const parts = v.split(':');
  const max = parts.length === 2 ? 65535 : parts.length === 3 ? 4294967295 : -1;
  if (max > 0 && parts.every((p) => /^\d{1,10}$/.test(p) && Number(p) <= max)) return undefined;
  return (
    `${JSON.stringify(v)} is not a community value: write "aa:nn" (standard, each 0..65535) ` +
    `or "aa:nn:mm" (large, each 0..4294967295)`
  );
}

const COMMUNITY_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$/;

function checkBgpConfig(spec: Record<string, unknown>, path: Path, problems: Problems): void {
  const names = new Set<string>();
  const communities = Array.isArray(spec.communities) ? spec.communities : [];
  communities.forEach((c, i) => {
    if (!isPlainObject(c) || typeof c.name !== 'string') return;
    if (names.has(c.name)) problems.add([...path, 'communities', i, 'name'], `community ${c.name} is defined twice`);
    names.add(c.name);
  });
  const ads = Array.isArray(spec.prefixAdvertisements) ? spec.prefixAdvertisements : [];
  ads.forEach((ad, i) => {
    if (!isPlainObject(ad) || !Array.isArray(ad.communities)) return;
    ad.communities.forEach((c, j) => {
      if (typeof c !== 'string' || names.has(c)) return;
      const at = [...path, 'prefixAdvertisements', i, 'communities', j];
      if (/^[\d:]+$/.test(c)) {
        const m = communityValueProblem(c);
        if (m) problems.add(at, m);
        return;
      }
      problems.add(at, `unknown community ${JSON.stringify(c)}: define it in spec.communities, or write a value like "65000:100"`);
    });
  });
}

const cidrEntry = (): ObjectSchema => obj({ cidr: cidr() }, { required: ['cidr'] });

export const bgpConfigurationSpec: ObjectSchema = obj(
  {
    logSeverityScreen: str({ enum: LOG_SEVERITIES }),
    nodeToNodeMeshEnabled: bool(),
    asNumber: asNumber(),
    listenPort: portNumber(),
    serviceClusterIPs: list(cidrEntry()),
    serviceExternalIPs: list(cidrEntry()),
    communities: list(
      obj(
        {
          name: str({
            check: (v, p, problems) => {
              if (!COMMUNITY_NAME.test(v)) {
                problems.add(p, `${JSON.stringify(v)} is not a valid community name (letters, digits, '-' and '_')`);
              }
            },
          }),
          value: str({
            check: (v, p, problems) => {
              const m = communityValueProblem(v);
              if (m) problems.add(p, m);
            },
          }),
        },
        { required: ['name', 'value'] },
      ),
    ),
    prefixAdvertisements: list(obj({ cidr: cidr(), communities: list(str()) }, { required: ['cidr'] })),
    nodeMeshMaxRestartTime: duration(),
    nodeMeshPassword: secret(),
  },
  { check: checkBgpConfig },
);
