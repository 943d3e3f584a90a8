// Policy rules (Rule, EntityRule) as NetworkPolicy, GlobalNetworkPolicy and Profile use them,
// with the checks that involve several fields of one rule: ports need a port-carrying protocol,
// icmp needs ICMP, networks must agree with ipVersion.

import type { IpFamily } from '../cidr.js';
import { isPlainObject, type Path, type Problems } from './problems.js';
import {
  cidr,
  familyOfCidr,
  hasPorts,
  ICMP_PROTOCOLS,
  isValidProtocol,
  labelKeyCheck,
  protocol,
  rulePort,
  selector,
  subdomain,
} from './scalars.js';
import { custom, int, list, map, obj, str, type ArraySchema, type ObjectSchema } from './schema.js';

export const ACTIONS = ['Allow', 'Deny', 'Pass', 'Log'] as const;

export const entityRule: ObjectSchema = obj({
  nets: list(cidr()),
  notNets: list(cidr()),
  selector: selector(),
  notSelector: selector(),
  namespaceSelector: selector(),
  ports: list(rulePort()),
  notPorts: list(rulePort()),
  serviceAccounts: obj({ names: list(subdomain()), selector: selector() }),
});

const icmpFields: ObjectSchema = obj(
  { type: int(0, 254), code: int(0, 255) },
  {
    check: (v, path, problems) => {
      if (v.code !== undefined && v.type === undefined) problems.add([...path, 'code'], 'an ICMP code needs an ICMP type');
    },
  },
);

const ipVersion = custom((v, path, problems) => {
  if (v !== 4 && v !== 6) problems.add(path, `ipVersion must be 4 or 6, found ${JSON.stringify(v)}`);
  return v;
});

const SIDES = ['source', 'destination'] as const;

function protoText(p: unknown): string {
  return typeof p === 'string' ? p : String(p);
}

/** IP version a protocol implies (ICMP → 4, ICMPv6 → 6). */
function protocolFamily(p: unknown): IpFamily | undefined {
  if (p === 'ICMP' || p === 1) return 4;
  if (p === 'ICMPv6' || p === 58) return 6;
  return undefined;
}

function checkRule(rule: Record<string, unknown>, path: Path, problems: Problems): void {
  const proto = rule.protocol;
  // An invalid protocol is already reported; checks that depend on it would only add noise.
  if (proto !== undefined && !isValidProtocol(proto)) return;

  // Ports only with protocols that have ports.
  for (const side of SIDES) {
    const e = rule[side];
    if (!isPlainObject(e)) continue;
    for (const f of ['ports', 'notPorts'] as const) {
      const ports = e[f];
      if (!Array.isArray(ports) || ports.length === 0 || hasPorts(proto)) continue;
      problems.add(
        [...path, side, f],
        proto === undefined
          ? `${f} need a protocol: set protocol to TCP, UDP, SCTP or UDPLite on the rule`
          : `${f} cannot be used with protocol ${protoText(proto)}: only TCP, UDP, SCTP and UDPLite have ports`,
      );
    }
  }

  // icmp only with ICMP / ICMPv6.
  for (const f of ['icmp', 'notICMP'] as const) {
    if (rule[f] === undefined || ICMP_PROTOCOLS.includes(proto as string | number)) continue;
    problems.add(
      [...path, f],
      proto === undefined
        ? `${f} needs protocol ICMP or ICMPv6 on the rule`
        : `${f} cannot be used with protocol ${protoText(proto)}: set protocol to ICMP or ICMPv6`,
    );
  }

  if (proto !== undefined && rule.notProtocol !== undefined && proto === rule.notProtocol) {
    problems.add([...path, 'notProtocol'], `notProtocol equals protocol (${protoText(proto)}): the rule can never match`);
  }

  // IP version: explicit, or implied by ICMP/ICMPv6; networks must agree with it.
  const version = rule.ipVersion === 4 || rule.ipVersion === 6 ? rule.ipVersion : undefined;
  const implied = protocolFamily(proto);
  if (version !== undefined && implied !== undefined && version !== implied) {
    problems.add(
      [...path, 'protocol'],
      `${protoText(proto)} is IPv${implied}-only but the rule has ipVersion ${version}` +
        (implied === 4 ? ' (use ICMPv6)' : ' (use ICMP)'),
    );
  }
  const want = version ?? implied;
  const why = version !== undefined ? `the rule has ipVersion ${version}` : `protocol ${protoText(proto)} is IPv${implied}-only`;
  const netFamilies: Record<(typeof SIDES)[number], Set<IpFamily>> = { source: new Set(), destination: new Set() };
  for (const side of SIDES) {
    const e = rule[side];
    if (!isPlainObject(e)) continue;
    for (const f of ['nets', 'notNets'] as const) {
      const nets = e[f];
      if (!Array.isArray(nets)) continue;
      nets.forEach((n, i) => {
        const fam = familyOfCidr(n);
        if (fam === undefined) return;
        if (f === 'nets') netFamilies[side].add(fam);
        if (want !== undefined && fam !== want) {
          problems.add([...path, side, f, i], `${String(n)} is IPv${fam} but ${why}`);
        }
      });
    }
  }
  if (want === undefined) {
    const src = netFamilies.source;
    const dst = netFamilies.destination;
    if (src.size > 0 && dst.size > 0 && ![...src].some((f) => dst.has(f))) {
      problems.add(
        path,
        `source.nets are all IPv${[...src][0]} and destination.nets are all IPv${[...dst][0]}: ` +
          'no packet can match; split the rule or fix the networks',
      );
    }
  }
}

export const rule: ObjectSchema = obj(
  {
    action: str({ enum: ACTIONS }),
    ipVersion,
    protocol: protocol(),
    notProtocol: protocol(),
    icmp: icmpFields,
    notICMP: icmpFields,
    source: entityRule,
    destination: entityRule,
    metadata: obj({ annotations: map(str(), { key: labelKeyCheck }) }),
  },
  { required: ['action'], check: checkRule },
);

export const rules = (): ArraySchema => list(rule);
