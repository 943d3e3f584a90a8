// manifests/k8s (for users with a real cluster; no kube-apiserver here, so this checks them the
// way the API server and the kubelet would read them, against Twill's own programs):
// - every document parses and is a kind we ship, with that kind's apiVersion, in kube-system;
// - every container runs a real Twill program (a package.json bin, or the built file behind one)
//   with only flags that program defines (read from its source: commander options, the
//   `twill-cni install` usage), and every $(VAR) in its command is set in its env;
// - every ConfigMap key and ServiceAccount a pod names exists; RBAC subjects are ServiceAccounts
//   that exist; the controller's role covers every API resource its source lists, watches or
//   leases (read from src/k8s), with the verbs that needs.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const ROOT = join(__dirname, '../../..');
const DIR = join(ROOT, 'manifests/k8s');

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; configMapKeyRef?: { name: string; key: string } };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  serviceAccountName?: string;
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string; items?: { key: string }[] } }[];
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

function load(): { file: string; doc: Doc }[] {
  const out: { file: string; doc: Doc }[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      expect(d.errors, file).toEqual([]);
      const doc = d.toJS() as Doc | null;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}

const docs = load();
const all = docs.map((d) => d.doc);
const byKind = <T extends Doc>(kind: string): T[] => all.filter((d) => d.kind === kind) as T[];
const podSpecs = (): { owner: string; spec: PodSpec }[] =>
  all.filter((d) => d.kind === 'DaemonSet' || d.kind === 'Deployment').map((d) => ({ owner: `${d.kind}/${d.metadata.name}`, spec: (d as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec }));

const API_VERSION: Record<string, string> = {
  ConfigMap: 'v1',
  ServiceAccount: 'v1',
  DaemonSet: 'apps/v1',
  Deployment: 'apps/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
};
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding']);

// ---- the programs and their flags, from their sources -------------------------------------------

const BINS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;

/** Long flags a commander program defines in these files (`--no-x` kept as written). */
function commanderFlags(files: string[]): Set<string> {
  const flags = new Set<string>();
  for (const f of files) for (const m of readFileSync(join(ROOT, f), 'utf8').matchAll(/\.(?:option|requiredOption)\(\s*'(?:-\w, )?(--[a-z0-9-]+)/g)) flags.add(m[1]!);
  return flags;
}


/** A program a container may run: its flags, and its subcommands' flags. */
const PROGRAMS: Record<string, { flags: Set<string>; sub?: Record<string, Set<string>> }> = {
  'twill-node': { flags: commanderFlags(['src/node/args.ts', 'src/lib/etcd-flags.ts']) },
  'twill-cni': {
    flags: new Set(),
    sub: {
      install: new Set([...readFileSync(join(ROOT, 'src/cni/install.ts'), 'utf8').match(/usage: twill-cni install ([^\\]+)/)![1]!.matchAll(/--[a-z-]+/g)].map((m) => m[0])),
    },
  },
  'twill-kube-controllers': { flags: commanderFlags(['src/k8s/args.ts', 'src/lib/etcd-flags.ts']) },
};

/** The program a command runs: a bin by name, or `NODE <copy of the tree>/dist/... ` naming a bin's file. */
function programOf(command: string[]): { program: string; rest: string[] } | undefined {
  const [first, second, ...more] = command;
  if (first && first in PROGRAMS) {
    expect(BINS[first], `package.json bin ${first}`).toBeDefined();
    return { program: first, rest: command.slice(1) };
  }
  if (first && /\/node$/.test(first) && second) {
    const bin = Object.entries(BINS).find(([, file]) => second.endsWith(`/${file}`));
    if (bin) return { program: bin[0], rest: more };
  }
  return undefined;
}

/** Flags used in argv (`--flag value` or `--flag=value`). */
function usedFlags(argv: string[]): string[] {
  return argv.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
}

// ---- the tests ---------------------------------------------------------------------------------

describe('manifests/k8s', () => {
  it('every document is a kind we ship with its apiVersion, named, in kube-system unless cluster-scoped', () => {
    expect(docs.length).toBeGreaterThan(0);
    for (const { file, doc } of docs) {
      const where = `${file}: ${doc.kind}/${doc.metadata?.name}`;
      expect(API_VERSION[doc.kind], `${where}: unexpected kind`).toBeDefined();
      expect(doc.apiVersion, where).toBe(API_VERSION[doc.kind]);
      expect(doc.metadata.name, where).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      expect(doc.metadata.namespace, where).toBe(CLUSTER_SCOPED.has(doc.kind) ? undefined : 'kube-system');
    }
    expect(byKind('DaemonSet').map((d) => d.metadata.name)).toEqual(['twill-node']);
    const dep = byKind<Doc & { spec: { replicas: number } }>('Deployment');
    expect(dep.map((d) => `${d.metadata.name} ${d.spec.replicas}`)).toEqual(['twill-kube-controllers 1']);
  });

  it('every container runs a Twill program (or copies one to the host) with flags that program accepts, and every $(VAR) is set', () => {
    const seen: string[] = [];
    for (const { owner, spec } of podSpecs()) {
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const where = `${owner} container ${c.name}`;
        const argv = [...(c.command ?? []), ...(c.args ?? [])];
        for (const m of argv.join(' ').matchAll(/\$\(([A-Z_]+)\)/g)) expect(c.env?.map((e) => e.name), `${where}: $(${m[1]})`).toContain(m[1]);
        if (argv[0] === 'cp') {
          // The runtime copy: the image's node and built tree onto the host path the next container uses.
          expect(argv.slice(1), where).toEqual(['-a', '/usr/local/bin/node', '/app', '/opt/twill/']);
          seen.push('cp');
          continue;
        }
        const p = programOf(argv);
        expect(p, `${where}: ${argv.join(' ')} is not a Twill program`).toBeDefined();
        const def = PROGRAMS[p!.program]!;
        const sub = def.sub && p!.rest[0] && def.sub[p!.rest[0]] ? p!.rest[0] : undefined;
        const accepted = sub ? def.sub![sub]! : def.flags;
        expect(accepted.size, `${where}: no flags found for ${p!.program}`).toBeGreaterThan(0);
        const unknown = usedFlags(sub ? p!.rest.slice(1) : p!.rest).filter((f) => !accepted.has(f));
        expect(unknown, `${where}: flags ${p!.program}${sub ? ` ${sub}` : ''} does not define`).toEqual([]);
        seen.push(`${p!.program}${sub ? ` ${sub}` : ''}`);
      }
    }
    expect(seen.sort()).toEqual(['cp', 'twill-cni install', 'twill-kube-controllers', 'twill-node']);
  });

  it('the CNI install writes where the kubelet looks (host /opt/cni/bin and /etc/cni/net.d) and runs from the host copy', () => {
    const ds = podSpecs().find((p) => p.owner === 'DaemonSet/twill-node')!.spec;
    const install = ds.initContainers!.find((c) => c.command?.includes('install'))!;
    const vols = Object.fromEntries((ds as unknown as { volumes: { name: string; hostPath?: { path: string } }[] }).volumes.map((v) => [v.name, v.hostPath?.path]));
    const hostPathOf = (mountPath: string): string | undefined => {
      const m = install.volumeMounts!.find((x) => mountPath === x.mountPath || mountPath.startsWith(`${x.mountPath}/`));
      return m ? `${vols[m.name]}${mountPath.slice(m.mountPath.length)}` : undefined;
    };
    const arg = (f: string): string => install.command![install.command!.indexOf(f) + 1]!;
    expect(hostPathOf(arg('--bin-dir'))).toBe('/opt/cni/bin');
    expect(hostPathOf(arg('--conf-dir'))).toBe('/etc/cni/net.d');
    // The wrappers `twill-cni install` writes exec the node and the file it ran from: those must be host paths too.
    expect(hostPathOf(install.command![0]!)).toBe(install.command![0]);
    expect(hostPathOf(install.command![1]!)).toBe(install.command![1]);
  });

  it('every ConfigMap key and ServiceAccount a pod names exists; bindings name existing roles and ServiceAccounts', () => {
    const cms = new Map(byKind<Doc & { data: Record<string, string> }>('ConfigMap').map((c) => [c.metadata.name, c.data]));
    const sas = new Set(byKind('ServiceAccount').map((s) => s.metadata.name));
    for (const { owner, spec } of podSpecs()) {
      expect(sas, owner).toContain(spec.serviceAccountName);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.configMapKeyRef;
          if (ref) expect(Object.keys(cms.get(ref.name) ?? {}), `${owner}/${c.name} env ${e.name}`).toContain(ref.key);
        }
      }
      for (const v of spec.volumes ?? []) if (v.configMap) for (const it of v.configMap.items ?? []) expect(Object.keys(cms.get(v.configMap.name) ?? {}), `${owner} volume ${v.name}`).toContain(it.key);
    }
    const roles = new Set([...byKind('ClusterRole'), ...byKind('Role')].map((r) => `${r.kind}/${r.metadata.name}`));
    for (const b of [...byKind<Doc & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] }>('ClusterRoleBinding'), ...byKind<Doc & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] }>('RoleBinding')]) {
      expect(roles, `${b.kind}/${b.metadata.name}`).toContain(`${b.roleRef.kind}/${b.roleRef.name}`);
      for (const s of b.subjects) {
        expect(s.kind).toBe('ServiceAccount');
        expect(sas, `${b.kind}/${b.metadata.name}`).toContain(s.name);
        expect(s.namespace).toBe('kube-system');
      }
    }
    // The controller's kubeconfig authenticates with the pod's own ServiceAccount token.
    const kc = parseAllDocuments(cms.get('twill-kube-controllers-kubeconfig')!.kubeconfig!)[0]!.toJS() as { users: { user: { 'auth-provider': { name: string; config: { tokenFile: string } } } }[] };
    expect(kc.users[0]!.user['auth-provider']).toEqual({ name: 'tokenFile', config: { tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' } });
  });

  it('RBAC lets the controller list and watch everything it informs on, and hold its Lease', () => {
    const sa = 'twill-kube-controllers';
    const rulesFor = (kind: 'ClusterRoleBinding' | 'RoleBinding'): Rule[] =>
      byKind<Doc & { roleRef: { kind: string; name: string }; subjects: { name: string }[] }>(kind)
        .filter((b) => b.subjects.some((s) => s.name === sa))
        .flatMap((b) => all.find((r) => r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name) as unknown as { rules: Rule[] })
        .flatMap((r) => r.rules);
    const can = (rules: Rule[], group: string, resource: string, verb: string, name?: string): boolean =>
      rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb) && (!r.resourceNames || (name !== undefined && r.resourceNames.includes(name))));
    // What the controller talks to, read from its source.
    const watched: { group: string; resource: string }[] = [];
    for (const f of readdirSync(join(ROOT, 'src/k8s')).filter((x) => x.endsWith('.ts') && x !== 'lease.ts')) {
      for (const m of readFileSync(join(ROOT, 'src/k8s', f), 'utf8').matchAll(/'\/(?:api\/v1|apis\/([a-z0-9.-]+)\/v[0-9a-z]+)\/([a-z]+)'/g)) watched.push({ group: m[1] ?? '', resource: m[2]! });
    }
    expect(watched.map((w) => w.resource).sort()).toEqual(expect.arrayContaining(['namespaces', 'networkpolicies', 'pods']));
    const cluster = rulesFor('ClusterRoleBinding');
    for (const w of watched) for (const verb of ['get', 'list', 'watch']) expect(can(cluster, w.group, w.resource, verb), `${verb} ${w.group || 'core'}/${w.resource}`).toBe(true);
    // The Lease, in kube-system under its default name.
    const lease = rulesFor('RoleBinding');
    for (const verb of ['create', 'get', 'update']) expect(can(lease, 'coordination.k8s.io', 'leases', verb, 'twill-kube-controllers'), `${verb} lease`).toBe(true);
    // Least privilege: the controller writes nothing to Kubernetes but its Lease, and twill-node reads nothing.
    for (const r of [...cluster, ...lease]) if (!r.resources.includes('leases')) expect(r.verbs.filter((v) => !['get', 'list', 'watch'].includes(v)), JSON.stringify(r)).toEqual([]);
    expect(rulesFor('ClusterRoleBinding').length).toBeGreaterThan(0);
    expect(byKind<Doc & { subjects: { name: string }[] }>('ClusterRoleBinding').filter((b) => b.subjects.some((s) => s.name === 'twill-node'))).toEqual([]);
  });
});
