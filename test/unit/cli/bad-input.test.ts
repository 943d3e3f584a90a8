// What a new user gets wrong: each mistake ends with exit 1, a message naming the document, the
// field and the reason, and a datastore exactly as it was before.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeCli, type Cli } from './harness.js';

const EXAMPLES = join(import.meta.dirname, '../../../manifests/examples');

const doc = (kind: string, meta: string, spec: string): string =>
  `apiVersion: twill.io/v1\nkind: ${kind}\nmetadata:\n${meta}\nspec:\n${spec}\n`;
const pool = (name: string, cidr: string, extra = ''): string => doc('IPPool', `  name: ${name}`, `  cidr: ${cidr}\n${extra}`);
const policy = (name: string, spec: string): string => doc('NetworkPolicy', `  name: ${name}\n  namespace: zones`, spec);

interface BadCase {
  name: string;
  input: string | Buffer;
  /** Substrings the error must contain ("FILE" is replaced by the file's path). */
  expect: string[];
}

const CASES: BadCase[] = [
  {
    name: 'wrong kind',
    input: doc('NetworkPolicie', '  name: a', '  selector: all()'),
    expect: ['FILE#1', 'kind', 'unknown kind "NetworkPolicie"', 'did you mean NetworkPolicy'],
  },
  {
    name: 'CIDR with host bits',
    input: pool('p', '10.65.0.1/16'),
    expect: ['FILE#1', 'IPPool p', 'spec.cidr', 'host bits', '10.65.0.0/16'],
  },
  {
    name: 'prefix length too long',
    input: pool('p', '10.65.0.0/33'),
    expect: ['FILE#1', 'spec.cidr', '10.65.0.0/33'],
  },
  {
    name: 'selector typo',
    input: policy('a', '  selector: zone = "dmz"'),
    expect: ['FILE#1', 'NetworkPolicy zones/a', 'spec.selector', 'position 5', '=='],
  },
  {
    name: 'missing name',
    input: doc('IPPool', '  labels: {a: b}', '  cidr: 10.0.0.0/16'),
    expect: ['FILE#1', 'metadata.name', 'required'],
  },
  {
    name: 'duplicate names in one file',
    input: `${pool('p', '10.65.0.0/16')}---\n${pool('p', '10.66.0.0/16')}`,
    expect: ['FILE#2', 'IPPool p', 'twice', 'FILE#1'],
  },
  {
    name: 'unknown field',
    input: policy('a', '  ingres: []'),
    expect: ['FILE#1', 'spec.ingres', 'unknown field', 'did you mean ingress'],
  },
  { name: 'empty file', input: '', expect: ['no resources found in FILE'] },
  { name: 'only comments', input: '# TODO\n', expect: ['no resources found in FILE'] },
  {
    name: 'binary garbage',
    input: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe, 0x00, 0x10]),
    expect: ['FILE', 'does not look like YAML or JSON'],
  },
  {
    name: 'invalid UTF-8',
    input: Buffer.from([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xc3, 0x28, 0x0a]),
    expect: ['FILE', 'does not look like YAML or JSON', 'UTF-8'],
  },
  {
    name: 'YAML syntax error',
    input: 'apiVersion: twill.io/v1\nkind: IPPool\nmetadata:\n  name: [a\n',
    expect: ['FILE:', 'invalid YAML'],
  },
  {
    name: 'a plain string instead of a resource',
    input: 'hello\n',
    expect: ['FILE#1', 'expected a resource'],
  },
  {
    name: "Calico's apiVersion",
    input: 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: a\nspec:\n  cidr: 10.0.0.0/16\n',
    expect: ['FILE#1', 'apiVersion', 'twill.io/v1'],
  },
  {
    name: 'namespace on a cluster-scoped kind',
    input: doc('IPPool', '  name: a\n  namespace: zones', '  cidr: 10.0.0.0/16'),
    expect: ['FILE#1', 'metadata.namespace', 'cluster-scoped'],
  },
  {
    name: 'reversed port range',
    input: policy('a', '  ingress:\n    - action: Allow\n      protocol: TCP\n      destination:\n        ports: [80, "90:80"]'),
    expect: ['FILE#1', 'spec.ingress[0].destination.ports[1]', 'port range 90:80 is reversed'],
  },
  {
    name: 'two pools sharing addresses',
    input: `${pool('a', '10.70.0.0/16')}---\n${pool('b', '10.70.128.0/17')}`,
    expect: ['FILE#1', 'IPPool a', 'spec.cidr', 'overlaps IPPool b', 'FILE#2'],
  },
  {
    name: 'a pool overlapping one already stored',
    input: pool('other', '10.65.0.0/24'),
    expect: ['FILE#1', 'IPPool other', 'spec.cidr', 'overlaps IPPool default-ipv4', 'already in the datastore'],
  },
  {
    name: 'one bad document among good ones',
    input: `${pool('good-a', '10.80.0.0/16')}---\n${pool('bad-b', '10.81.0.0/16', '  blockSize: 12\n')}---\n${pool('good-c', '10.82.0.0/16')}`,
    expect: ['FILE#2', 'IPPool bad-b', 'spec.blockSize', '12'],
  },
  {
    name: 'several problems in several documents: all reported',
    input: `${pool('x', '10.90.0.1/16')}---\n${policy('y', '  selector: zone = "dmz"')}`,
    expect: ['2 problems', 'FILE#1', 'spec.cidr', 'FILE#2', 'spec.selector'],
  },
];

let cli: Cli;
let storeFile: string;
const snapshot = (): string => (existsSync(storeFile) ? readFileSync(storeFile, 'utf8') : '<none>');

beforeAll(async () => {
  cli = makeCli();
  storeFile = cli.datastore.slice('file:'.length);
  // Something to damage: the examples, applied.
  const r = await cli(['apply', '-f', EXAMPLES]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => cli.cleanup());

describe('bad manifests: exit 1, a clear message, nothing changed', () => {
  for (const [i, c] of CASES.entries()) {
    for (const verb of ['apply', 'create', 'validate']) {
      test(`${verb}: ${c.name}`, async () => {
        const file = join(cli.dir, `case${i}-${verb}.yaml`);
        writeFileSync(file, c.input);
        const before = snapshot();
        const r = await cli([verb, '-f', file]);
        if (verb === 'validate' && c.name.includes('already stored')) {
          // Offline validation cannot know what the datastore holds.
          expect(r.code).toBe(0);
          return;
        }
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        for (const s of c.expect) expect(r.stderr).toContain(s.replaceAll('FILE', file));
        expect(snapshot()).toBe(before);
      });
    }
  }

  test('the same bad input on stdin names "stdin#N"', async () => {
    const before = snapshot();
    const r = await cli(['apply', '-f', '-'], `${pool('s1', '10.91.0.0/16')}---\n${pool('s2', '10.92.0.0/40')}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stdin#2: IPPool s2: spec.cidr:');
    expect(snapshot()).toBe(before);
  });

  test('binary garbage on stdin', async () => {
    const before = snapshot();
    const r = await cli(['apply', '-f', '-'], Buffer.from([0, 1, 2, 3, 0xff, 0xfe]));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stdin does not look like YAML or JSON');
    expect(snapshot()).toBe(before);
  });
});

// Exit 2 (usage) when commander cannot parse the command line; 1 when it parses but asks for
// something wrong (src/lib/exit-codes.ts).
describe('bad command lines: exit 2 or 1 and say what is wrong', () => {
  const cases: [string, string[], string[], number?][] = [
    ['a kind with a typo', ['get', 'netpolicy'], ['unknown resource kind "netpolicy"', 'did you mean networkpolicy']],
    ['an internal kind', ['get', 'ipamblocks'], ['IPAMBlock is internal', 'twillctl ipam']],
    ['a missing file', ['apply', '-f', '/nonexistent/twill.yaml'], ['/nonexistent/twill.yaml not found']],
    ['a file given without -f', ['apply', 'pools.yaml'], ['too many arguments'], 2],
    ['apply with no input', ['apply'], ['apply needs -f']],
    ['an unknown option', ['get', 'ippool', '--bogus'], ["unknown option '--bogus'"], 2],
    ['an unknown output format', ['get', 'ippool', '-o', 'xml'], ['xml', 'table, wide, yaml, json'], 2],
    ['-n with -A', ['get', 'np', '-n', 'zones', '-A'], ['cannot be used together']],
    ['a name with -A', ['get', 'np', 'dmz', '-A'], ['across all namespaces']],
    ['a bad label argument', ['label', 'ippool', 'default-ipv4', 'zone'], ['"zone" is neither key=value']],
    ['a bad -l selector', ['get', 'ippool', '-l', 'zone = "a"'], ['use == to compare']],
    ['a datastore URL that is not one', ['--datastore', 'bogus://x', 'get', 'ippool'], ['datastore URL "bogus://x" is not understood']],
    ['an etcd CA file that does not exist', ['--datastore', 'etcd://127.0.0.1:1', '--etcd-ca', '/nonexistent/ca.pem', 'get', 'ippool'], ['/nonexistent/ca.pem']],
    ['an etcd client certificate without its key', ['--datastore', 'etcd://127.0.0.1:1', '--etcd-cert', '/nonexistent/c.pem', 'get', 'ippool'], ['--etcd-key']],
    ['delete with both -f and a kind', ['delete', 'ippool', '-f', EXAMPLES], ['not both']],
    ['delete with nothing', ['delete'], ['delete needs -f']],
  ];
  for (const [what, argv, expected, code] of cases) {
    test(what, async () => {
      const before = snapshot();
      const r = await cli(argv);
      expect(r.code).toBe(code ?? 1);
      for (const s of expected) expect(r.stderr).toContain(s);
      expect(snapshot()).toBe(before);
    });
  }

  test('a directory without manifests', async () => {
    const dir = join(cli.dir, 'empty-dir');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const r = await cli(['apply', '-f', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`directory ${dir} has no .yaml, .yml or .json files`);
    expect(r.stderr).toContain('-R');
  });

  test('no arguments at all prints usage and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: twillctl');
  });
});

describe('unreachable datastore: exit 3, naming the address tried', () => {
  for (const argv of [['get', 'ippool'], ['apply', '-f', EXAMPLES], ['delete', 'ippool', 'x'], ['label', 'ippool', 'x', 'a=b'], ['version']]) {
    test(argv.join(' '), async () => {
      const down = makeCli({ datastore: 'etcd://127.0.0.1:1' });
      try {
        const r = await down(argv);
        expect(r.code).toBe(3);
        expect(r.stderr).toContain('etcd://127.0.0.1:1');
        expect(r.stderr).toContain('cannot reach the datastore');
      } finally {
        down.cleanup();
      }
    });
  }

  test('--datastore wins over TWILL_DATASTORE', async () => {
    const r = await cli(['--datastore', 'etcd://127.0.0.1:1', 'get', 'ippool']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('etcd://127.0.0.1:1');
  });

  test('apply of an invalid file fails as invalid (1) before contacting the datastore', async () => {
    const down = makeCli({ datastore: 'etcd://127.0.0.1:1' });
    try {
      const r = await down(['apply', '-f', '-'], pool('p', '10.0.0.1/8'));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('spec.cidr');
    } finally {
      down.cleanup();
    }
  });
});
