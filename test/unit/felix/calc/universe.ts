// A small universe of datastore objects (every key with a few variants) and a fast-check
// arbitrary of update sequences over it, for order-independence and incremental-render tests.
import fc from 'fast-check';
import type { Resource } from '../../../../src/api/types.js';
import { formatKey, keyOf } from '../../../../src/api/types.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';
import { affinity, block, felixConfig, gnetset, gnp, netset, np, pool, profile, wep } from './builders.js';

// ---- the universe: every key with a few variants

const LABELS: Record<string, string>[] = [{}, { app: 'x' }, { app: 'y' }, { app: 'x', tier: '1' }, { tier: '2' }];
const PORTS = [undefined, [{ name: 'http', protocol: 'TCP' as const, port: 80 }], [{ name: 'http', protocol: 'TCP' as const, port: 8080 }]];

function endpointVariants(i: number): Resource[] {
  const out: Resource[] = [];
  for (const node of ['host1', 'host2']) {
    for (const [j, labels] of LABELS.entries()) {
      out.push(
        wep(`e${i}`, {
          ns: i % 2 === 0 ? 'a' : 'b',
          node,
          iface: `tw${(i + j) % 3}`,
          ips: j % 2 === 0 ? [`10.0.0.${i + 1}/32`] : [`10.0.0.${i + 1}/32`, `fd00::${i + 1}/128`],
          labels,
          profiles: [['p0'], ['p0', 'kns.a'], ['kns.b', 'p1'], []][(i + j) % 4]!,
          ...(PORTS[(i + j) % 3] !== undefined ? { ports: PORTS[(i + j) % 3]! } : {}),
        }),
      );
    }
  }
  return out;
}

const RULE_VARIANTS = [
  { action: 'Allow' as const, source: { selector: 'app == "x"' } },
  { action: 'Deny' as const, protocol: 'TCP' as const, destination: { ports: ['http', 443] } },
  { action: 'Allow' as const, source: { namespaceSelector: 'env == "prod"' } },
  { action: 'Pass' as const, source: { nets: ['10.1.0.0/16', '10.2.0.0/16'], notSelector: 'tier == "1"' } },
  { action: 'Allow' as const, source: { namespaceSelector: 'global()', selector: 'kind == "ext"' } },
];

function policyVariants(i: number): Resource[] {
  const sels = ['app == "x"', 'has(tier)', 'all()', 'app == "y" || tier == "2"'];
  const out: Resource[] = [];
  for (const [j, sel] of sels.entries()) {
    const rules = [RULE_VARIANTS[(i + j) % RULE_VARIANTS.length]!, RULE_VARIANTS[(i + 2 * j + 1) % RULE_VARIANTS.length]!];
    if (i % 3 === 2) {
      out.push(gnp(`g${i}`, { order: j % 2 === 0 ? j : undefined, selector: sel, namespaceSelector: j === 3 ? 'env == "prod"' : undefined, ingress: rules, egress: j > 1 ? rules : undefined }));
    } else {
      out.push(np(`n${i}`, { order: j === 1 ? undefined : 10 - j, selector: sel, ingress: rules, egress: j % 2 ? rules : undefined, types: j === 2 ? ['Egress'] : undefined }, i % 2 === 0 ? 'a' : 'b'));
    }
  }
  return out;
}

export const UNIVERSE: Resource[][] = [
  ...[0, 1, 2, 3, 4, 5].map(endpointVariants),
  ...[0, 1, 2, 3].map(policyVariants),
  [profile('p0', { labelsToApply: { tier: '1' }, ingress: [RULE_VARIANTS[0]!] }), profile('p0', { egress: [RULE_VARIANTS[1]!] })],
  [profile('p1', { labelsToApply: { app: 'y' } }), profile('p1', { labelsToApply: { app: 'x', tier: '2' }, ingress: [RULE_VARIANTS[2]!] })],
  [profile('kns.a', { labelsToApply: { env: 'prod' } }), profile('kns.a', { labelsToApply: { env: 'dev' } })],
  [profile('kns.b', { labelsToApply: { env: 'prod' } }), profile('kns.b', {})],
  [netset('ns0', ['192.168.0.0/24'], { app: 'x' }, 'a'), netset('ns0', ['192.168.1.0/24', 'fd01::/64'], { app: 'y' }, 'a')],
  [gnetset('gs0', ['172.16.0.0/12'], { kind: 'ext' }), gnetset('gs0', ['172.17.0.0/16'], { kind: 'int', app: 'x' })],
  [pool('pl0', '10.0.0.0/16', true), pool('pl0', '10.0.0.0/16', false), pool('pl0', 'fd00::/48', true)],
  [block('10.0.0.0/26', 'host1'), block('10.0.0.0/26', 'host2'), block('10.0.0.0/26', 'host1', true)],
  [affinity('host1', '10.0.0.0/26', 'confirmed'), affinity('host1', '10.0.0.0/26', 'pending')],
  [felixConfig('default', { interfacePrefix: 'tw' }), felixConfig('default', { defaultEndpointToHostAction: 'Accept' })],
  [felixConfig('node.host1', { ipv6Support: false }), felixConfig('node.host1', {})],
];

export const keyText = (r: Resource): string => formatKey(keyOf(r));

export type Op = { slot: number; variant: number; del: boolean };
export const opArb: fc.Arbitrary<Op> = fc.record({
  slot: fc.nat({ max: UNIVERSE.length - 1 }),
  variant: fc.nat({ max: 9 }),
  del: fc.nat({ max: 3 }).map((n) => n === 0), // a quarter of the updates are deletes
});

export function toEvent(op: Op): SyncEvent {
  const variants = UNIVERSE[op.slot]!;
  const r = variants[op.variant % variants.length]!;
  return op.del ? { type: 'deleted', key: keyOf(r) } : { type: 'set', resource: structuredClone(r) };
}

/** The final datastore content after a sequence of events. */
export function finalContent(events: SyncEvent[]): Map<string, Resource> {
  const m = new Map<string, Resource>();
  for (const e of events) {
    if (e.type === 'set') m.set(keyText(e.resource), e.resource);
    else m.delete(formatKey(e.key));
  }
  return m;
}
