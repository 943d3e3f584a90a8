// The JSON config that /work/shared/bench/bgp-converge.sh hands a custom device under test
// ({CONFIG}), turned into a twill-bgp daemon config (run by twill-bgp-dut.ts). Shape:
//   {"localAs":65002,"routerId":"198.18.1.2","kernel":false,"neighbors":[
//     {"name":"inj","address":"198.18.1.1","peerAs":65001,"localAddress":"198.18.1.2","import":true,"export":false}, ...]}
// The peers are passive, so every neighbour is active here; `import`/`export` become accept-all or
// reject-all policies. JSON is YAML, so the same positional reader reports problems by line.
import { readFile } from 'node:fs/promises';
import { RT_TABLE_MAIN } from '../../src/netlink/index.js';
import type { NeighborConfig } from '../../bgp/server/types.js';
import { canonicalIp, parseAsn, type DaemonConfig } from '../../bgp/daemon/config.js';
import { ConfigError } from '../../bgp/daemon/errors.js';
import { YamlReader, type Field } from '../../bgp/daemon/yaml-reader.js';

export function parseBenchConfig(text: string, file: string): DaemonConfig {
  const r = new YamlReader(text);
  if (r.broken) throw new ConfigError(file, r.problems);
  const m = r.map(r.root, ['localAs', 'routerId', 'kernel', 'neighbors']);
  const asnOf = (f: Field | undefined, what: string): number => {
    const n = f ? parseAsn(r.scalar(f)) : undefined;
    if (!f) r.problem(r.root, `${what} is missing`);
    else if (n === undefined || n < 1 || n > 0xffffffff) r.problem(f, 'must be an AS number 1..4294967295');
    return n ?? 0;
  };
  const ipOf = (f: Field | undefined, what: string, family?: 4): string => {
    const s = f ? r.scalar(f) : undefined;
    const ip = typeof s === 'string' ? canonicalIp(s, family) : undefined;
    if (!f) r.problem(r.root, `${what} is missing`);
    else if (ip === undefined) r.problem(f, `must be an ${family === 4 ? 'IPv4' : 'IP'} address`);
    return ip ?? '';
  };
  const boolOf = (f: Field | undefined): boolean => (f ? (r.bool(f) ?? false) : false);
  if (!m) throw new ConfigError(file, r.problems);
  const localAs = asnOf(m.get('localAs'), 'localAs');
  const routerId = ipOf(m.get('routerId'), 'routerId', 4);
  const kernel = boolOf(m.get('kernel'));
  const neighbors: NeighborConfig[] = [];
  const nf = m.get('neighbors');
  for (const item of (nf && r.list(nf)) || []) {
    const n = r.map(item, ['name', 'address', 'peerAs', 'localAddress', 'import', 'export']);
    if (!n) continue;
    const name = n.get('name');
    const neighbor: NeighborConfig = {
      address: ipOf(n.get('address'), `${item.path}.address`),
      asn: asnOf(n.get('peerAs'), `${item.path}.peerAs`),
      connectRetry: 1,
      importPolicy: { default: boolOf(n.get('import')) ? 'accept' : 'reject', rules: [] },
      exportPolicy: { default: boolOf(n.get('export')) ? 'accept' : 'reject', rules: [] },
    };
    const la = n.get('localAddress');
    if (la) neighbor.localAddress = ipOf(la, `${item.path}.localAddress`);
    if (name) {
      const s = r.scalar(name);
      if (typeof s === 'string') neighbor.description = s;
    }
    neighbors.push(neighbor);
  }
  if (r.problems.length > 0) throw new ConfigError(file, r.problems);
  return {
    speaker: { routerId, asn: localAs, listen: false, neighbors },
    kernel: { install: kernel, table: RT_TABLE_MAIN, metric: undefined },
  };
}

export async function loadBenchConfig(file: string): Promise<DaemonConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ line: 0, path: '', message: `cannot read the bench config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }]);
  }
  return parseBenchConfig(text, file);
}
