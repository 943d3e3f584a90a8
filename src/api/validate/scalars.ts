// Reusable checks for scalar fields: names, labels, addresses, selectors, ports, protocols,
// durations, timestamps, interface names.

import { formatCidr, parseCidr, parseIp, type IpFamily } from '../cidr.js';
import { durationProblem } from '../duration.js';
import { labelKeyProblem, parseSelector } from '../selector/index.js';
import { TwillError } from '../../errors.js';
import { closest } from '../suggest.js';
import { describeValue, type Path, type Problems } from './problems.js';
import { custom, int, obj, str, type CustomSchema, type IntegerSchema, type ObjectSchema, type StringSchema } from './schema.js';
import { REDACTED_SECRET } from '../secrets.js';

// ---------------------------------------------------------------------------------------------
// Names and labels (Kubernetes rules)

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** Why `s` is not a DNS-1123 subdomain (≤ 253 chars, lower-case dot-separated labels), or undefined. */
export function subdomainProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  const ok = s.length <= 253 && s.split('.').every((part) => part.length <= 63 && DNS_LABEL.test(part));
  if (ok) return undefined;
  const lower = s.toLowerCase();
  const hint = lower !== s && subdomainProblem(lower) === undefined ? ` (did you mean ${lower}?)` : '';
  if (s.length > 253) return `${JSON.stringify(s.slice(0, 20))}… is ${s.length} characters long (at most 253)`;
  return (
    `${JSON.stringify(s)} is not a valid name: use lower-case letters, digits, '-' and '.', ` +
    `starting and ending with a letter or digit${hint}`
  );
}

/** Why `s` is not a DNS-1123 label (≤ 63 chars, lower-case, no dots), or undefined. */
export function dnsLabelProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length <= 63 && DNS_LABEL.test(s)) return undefined;
  if (s.length > 63) return `${JSON.stringify(s.slice(0, 20))}… is ${s.length} characters long (at most 63)`;
  const lower = s.toLowerCase();
  const hint = lower !== s && DNS_LABEL.test(lower) ? ` (did you mean ${lower}?)` : '';
  return (
    `${JSON.stringify(s)} is not a valid name: use lower-case letters, digits and '-', ` +
    `starting and ending with a letter or digit${hint}`
  );
}

export function labelValueProblem(v: string): string | undefined {
  if (v.length === 0) return undefined;
  if (v.length > 63) return `label value is ${v.length} characters long (at most 63)`;
  if (!LABEL_NAME.test(v)) {
    return (
      `label value ${JSON.stringify(v)} is not valid: use letters, digits, '-', '_' and '.', ` +
      `starting and ending with a letter or digit (or leave it empty)`
    );
  }
  return undefined;
}

function fromProblem(fn: (s: string) => string | undefined): StringSchema {
  return str({
    check: (v, path, problems) => {
      const p = fn(v);
      if (p !== undefined) problems.add(path, p);
    },
  });
}

/** An object name (DNS-1123 subdomain), e.g. metadata.name or a node name. */
export const subdomain = (): StringSchema => fromProblem(subdomainProblem);
export const dnsLabel = (): StringSchema => fromProblem(dnsLabelProblem);
export const labelValue = (): StringSchema => fromProblem(labelValueProblem);
export const labelKeyCheck = (key: string, path: Path, problems: Problems): void => {
  const p = labelKeyProblem(key);
  if (p !== undefined) problems.add(path, p);
};

// ---------------------------------------------------------------------------------------------
// Addresses

function addressMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A network prefix "addr/len" with host bits clear; returned in canonical form (RFC 5952).
 * `family` restricts it to IPv4 or IPv6.
 */
export function cidr(opts: { family?: IpFamily } = {}): CustomSchema {
  return custom((v, path, problems) => {
    if (typeof v !== 'string') {
      problems.add(path, `expected a CIDR string like "10.0.0.0/16", found ${describeValue(v)}`);
      return v;
    }
    if (!v.includes('/')) {
      try {
        const a = parseIp(v);
        problems.add(path, `${JSON.stringify(v)} is an address, not a network: write ${v}/${a.family === 4 ? 32 : 128}`);
      } catch {
        problems.add(path, `${JSON.stringify(v)} is not a CIDR (expected address/prefix-length, e.g. "10.0.0.0/16")`);
      }
      return v;
    }
    try {
      const c = parseCidr(v, { strict: true });
      if (opts.family !== undefined && c.family !== opts.family) {
        problems.add(path, `${v} is an IPv${c.family} network; an IPv${opts.family} one is needed here`);
        return v;
      }
      return formatCidr(c);
    } catch (e) {
      problems.add(path, addressMessage(e));
      return v;
    }
  });
}

/** An interface address with prefix length ("10.0.0.1/24", host bits allowed) or a bare address. */
export function interfaceAddress(family: IpFamily): CustomSchema {
  return custom((v, path, problems) => {
    if (typeof v !== 'string') {
      problems.add(path, `expected an address like "${family === 4 ? '10.0.0.1/24' : 'fd00::1/64'}", found ${describeValue(v)}`);
      return v;
    }
    try {
      const c = parseCidr(v, { strict: false, allowBare: true });
      if (c.family !== family) {
        problems.add(path, `${v} is an IPv${c.family} address; an IPv${family} address is needed here`);
      }
    } catch (e) {
      problems.add(path, addressMessage(e));
    }
    return v;
  });
}

/** A bare IP address. */
export function ipAddress(family?: IpFamily): CustomSchema {
  return custom((v, path, problems) => {
    if (typeof v !== 'string') {
      problems.add(path, `expected an IP address, found ${describeValue(v)}`);
      return v;
    }
    try {
      const a = parseIp(v);
      if (family !== undefined && a.family !== family) {
        problems.add(path, `${v} is an IPv${a.family} address; an IPv${family} address is needed here`);
      }
    } catch (e) {
      problems.add(path, v.includes('/') ? `${JSON.stringify(v)} is a network; a single address is needed here (no "/len")` : addressMessage(e));
    }
    return v;
  });
}

/** The address family of a string that is a valid CIDR, else undefined. */
export function familyOfCidr(v: unknown): IpFamily | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return parseCidr(v, { strict: true }).family;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Selectors

export function selectorProblem(text: string): string | undefined {
  if (text.trim().length === 0) return 'empty selector: omit the field, or write all() to match everything';
  try {
    parseSelector(text);
    return undefined;
  } catch (e) {
    if (e instanceof TwillError) return e.message;
    return `selector ${JSON.stringify(text)} is not valid: ${addressMessage(e)}`;
  }
}

export const selector = (): StringSchema => fromProblem(selectorProblem);

// ---------------------------------------------------------------------------------------------
// Ports and protocols

export const PORT_PROTOCOLS: readonly (string | number)[] = ['TCP', 'UDP', 'SCTP', 'UDPLite', 6, 17, 132, 136];
export const ICMP_PROTOCOLS: readonly (string | number)[] = ['ICMP', 'ICMPv6', 1, 58];
export const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite'] as const;

/** A port name as Kubernetes allows it (IANA service name): ≤ 15 chars, [a-z0-9-], one letter. */
export function isPortName(s: string): boolean {
  return s.length <= 15 && /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

function portNumberProblem(n: number): string | undefined {
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? undefined : `port ${n} is out of range (1..65535)`;
}

/** A rule port: a number, a range "80:90", or a port name. Numeric strings become numbers. */
export const rulePort = (): CustomSchema =>
  custom((v, path, problems) => {
    if (typeof v === 'number') {
      const p = portNumberProblem(v);
      if (p) problems.add(path, p);
      return v;
    }
    if (typeof v !== 'string') {
      problems.add(path, `expected a port (a number, a range "80:90" or a port name), found ${describeValue(v)}`);
      return v;
    }
    if (/^\d+$/.test(v)) {
      const p = portNumberProblem(Number(v));
      if (p) problems.add(path, p);
      return p ? v : Number(v);
    }
    const range = /^(\d+):(\d+)$/.exec(v);
    if (range) {
      const lo = Number(range[1]);
      const hi = Number(range[2]);
      const p = portNumberProblem(lo) ?? portNumberProblem(hi);
      if (p) problems.add(path, `port range ${v}: ${p}`);
      else if (lo > hi) problems.add(path, `port range ${v} is reversed`);
      return v;
    }
    if (!isPortName(v)) {
      problems.add(
        path,
        `${JSON.stringify(v)} is not a port: use a number (1..65535), a range like "80:90", or a port name ` +
          `(lower-case letters, digits and '-', at most 15 characters)`,
      );
    }
    return v;
  });

/** A protocol: TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1..255. */
export const protocol = (): CustomSchema =>
  custom((v, path, problems) => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 1 || v > 255) problems.add(path, `protocol number ${v} is out of range (1..255)`);
      return v;
    }
    if (typeof v !== 'string') {
      problems.add(path, `expected a protocol name or number, found ${describeValue(v)}`);
      return v;
    }
    if ((PROTOCOL_NAMES as readonly string[]).includes(v)) return v;
    if (/^\d+$/.test(v)) {
      problems.add(path, `protocol ${JSON.stringify(v)}: write the protocol number without quotes`);
      return v;
    }
    const exact = PROTOCOL_NAMES.find((n) => n.toLowerCase() === v.toLowerCase());
    const near = exact ?? closest(v, PROTOCOL_NAMES);
    problems.add(
      path,
      `unknown protocol ${JSON.stringify(v)}${near ? ` (did you mean ${near}?)` : ''}: ` +
        `use ${PROTOCOL_NAMES.join(', ')} or a number 1..255`,
    );
    return v;
  });

/** True for a protocol value that passes the protocol check. */
export function isValidProtocol(p: unknown): boolean {
  return (typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 255) || (PROTOCOL_NAMES as readonly unknown[]).includes(p);
}

export function hasPorts(p: unknown): boolean {
  return PORT_PROTOCOLS.includes(p as string | number);
}

// ---------------------------------------------------------------------------------------------
// Misc

export const asNumber = (): IntegerSchema => int(1, 4294967295);
export const portNumber = (): IntegerSchema => int(1, 65535);

export const duration = (): StringSchema => fromProblem(durationProblem);

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
export const timestamp = (): StringSchema =>
  fromProblem((s) =>
    RFC3339.test(s) && !Number.isNaN(Date.parse(s))
      ? undefined
      : `${JSON.stringify(s)} is not an RFC 3339 timestamp (e.g. "2024-05-01T12:00:00Z")`,
  );

/** A Linux interface name: 1..15 bytes, no '/', ':' or whitespace. */
export function interfaceNameProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (Buffer.byteLength(s) > 15) return `interface name ${JSON.stringify(s)} is longer than 15 bytes (the kernel limit)`;
  if (/[/:\s]/.test(s) || s === '.' || s === '..') {
    return `interface name ${JSON.stringify(s)} may not contain '/', ':' or whitespace`;
  }
  return undefined;
}
export const interfaceName = (): StringSchema => fromProblem(interfaceNameProblem);

export const mac = (): StringSchema =>
  fromProblem((s) =>
    /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/.test(s) ? undefined : `${JSON.stringify(s)} is not a MAC address (e.g. "ee:ee:ee:ee:ee:ee")`,
  );

/** A port name on an endpoint. */
export const portName = (): StringSchema =>
  fromProblem((s) =>
    isPortName(s)
      ? undefined
      : `${JSON.stringify(s)} is not a valid port name: lower-case letters, digits and '-', at least one letter, at most 15 characters`,
  );

/** A secret: either an inline value or a reference to a Kubernetes secret, not both. */
export const secret = (): ObjectSchema =>
  obj(
    {
      value: str(),
      secretKeyRef: obj({ name: subdomain(), key: str() }, { required: ['name', 'key'] }),
    },
    {
      check: (v, path, problems) => {
        const n = (v.value !== undefined ? 1 : 0) + (v.secretKeyRef !== undefined ? 1 : 0);
        if (n !== 1) problems.add(path, 'set exactly one of value and secretKeyRef');
        if (v.value === REDACTED_SECRET) {
          problems.add([...path, 'value'], `${REDACTED_SECRET} is what twillctl get prints in place of the password: write the real one (twillctl get --show-secrets shows it)`);
        }
      },
    },
  );
