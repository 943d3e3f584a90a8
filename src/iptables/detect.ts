// Which iptables backend does this host (namespace) use? Writing our rules into the other one is a
// classic outage: they are silently ignored, or they fight with kube-proxy's. We look at what each
// backend already holds, and fall back to the system's default `iptables`.
import { NetfilterCommandError, IptablesUsageError } from './errors.js';
import { run } from './exec.js';
import { parseSave } from './save-parser.js';
import type { BackendOverride, Family, IptablesBackend, NetnsTarget } from './types.js';

/** Chains kubelet / kube-proxy create to say which backend they chose. */
export const KUBE_HINT_CHAINS: readonly string[] = ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY'];

export interface BackendEvidence {
  backend: IptablesBackend;
  /** Were the backend's save tools runnable at all? */
  available: boolean;
  /** Rules (`-A` lines) over IPv4 and IPv6, all tables. */
  rules: number;
  /** A kube hint chain exists in this backend. */
  kubeHint: boolean;
}

export interface BackendChoice {
  backend: IptablesBackend;
  /** Why, in words a user can check. */
  reason: string;
  evidence?: BackendEvidence[];
}

export function saveCommand(family: Family, backend: IptablesBackend): string {
  return `${family === 6 ? 'ip6tables' : 'iptables'}-${backend}-save`;
}

export function restoreCommand(family: Family, backend: IptablesBackend): string {
  return `${family === 6 ? 'ip6tables' : 'iptables'}-${backend}-restore`;
}

/** Summarise what one backend holds, from its v4 and v6 iptables-save outputs. */
export function evidenceFromSaves(backend: IptablesBackend, saves: (string | undefined)[]): BackendEvidence {
  let rules = 0;
  let kubeHint = false;
  let available = false;
  for (const text of saves) {
    if (text === undefined) continue;
    available = true;
    for (const t of parseSave(text)) {
      for (const c of t.chains.values()) {
        rules += c.rules.length;
        if (KUBE_HINT_CHAINS.includes(c.name)) kubeHint = true;
      }
    }
  }
  return { backend, available, rules, kubeHint };
}

/** The decision, from evidence. Pure. */
export function chooseBackend(
  evidence: BackendEvidence[],
  systemDefault: IptablesBackend | undefined,
): BackendChoice {
  const nft = evidence.find((e) => e.backend === 'nft');
  const legacy = evidence.find((e) => e.backend === 'legacy');
  const avail = evidence.filter((e) => e.available);
  const fallback = systemDefault ?? 'nft';
  const fallbackWhy = systemDefault ? `the system's iptables is ${systemDefault}` : 'nft is the default';
  if (avail.length === 0) {
    return { backend: fallback, reason: `no iptables-save could be run; ${fallbackWhy}`, evidence };
  }
  if (avail.length === 1) {
    return { backend: avail[0]!.backend, reason: `only the ${avail[0]!.backend} tools are installed`, evidence };
  }
  const hinted = avail.filter((e) => e.kubeHint);
  if (hinted.length === 1) {
    return {
      backend: hinted[0]!.backend,
      reason: `kubelet's ${KUBE_HINT_CHAINS.join('/')} chain is in the ${hinted[0]!.backend} backend`,
      evidence,
    };
  }
  const nr = nft?.rules ?? 0;
  const lr = legacy?.rules ?? 0;
  const counts = `nft has ${nr} rules, legacy has ${lr}`;
  if (lr > nr) return { backend: 'legacy', reason: `${counts}`, evidence };
  if (nr > lr) return { backend: 'nft', reason: `${counts}`, evidence };
  return { backend: fallback, reason: `${counts}; ${fallbackWhy}`, evidence };
}

/** What `iptables --version` says the system default is ("iptables v1.8.9 (nf_tables)"). */
export function parseVersionBackend(versionOutput: string): IptablesBackend | undefined {
  if (/\(nf_tables\)/.test(versionOutput)) return 'nft';
  if (/\(legacy\)/.test(versionOutput)) return 'legacy';
  return undefined;
}

async function trySave(target: NetnsTarget, family: Family, backend: IptablesBackend): Promise<string | undefined> {
  try {
    const r = await run(target, [saveCommand(family, backend)]);
    return r.exitCode === 0 ? r.stdout : undefined;
  } catch (e) {
    // A missing binary means "backend unavailable"; a missing namespace is the caller's problem.
    if (e instanceof NetfilterCommandError && e.exitCode !== undefined) throw e;
    return undefined;
  }
}

async function systemDefault(): Promise<IptablesBackend | undefined> {
  try {
    const r = await run({}, ['iptables', '--version']);
    return parseVersionBackend(r.stdout + r.stderr);
  } catch {
    return undefined;
  }
}

export function normalizeOverride(o: string | undefined): BackendOverride {
  if (o === undefined || o === '') return 'Auto';
  const l = o.toLowerCase();
  if (l === 'auto') return 'Auto';
  if (l === 'nft') return 'NFT';
  if (l === 'legacy') return 'Legacy';
  throw new IptablesUsageError(`iptables backend override ${JSON.stringify(o)} is not one of Auto, NFT, Legacy`);
}

/**
 * Decide the backend for a namespace. An explicit 'NFT' / 'Legacy' wins; 'Auto' (default) reads
 * both backends (v4 and v6) and picks the one that holds kubelet's hint chain, else the one with
 * more rules, else the system default (`iptables --version`), else nft.
 */
export async function detectBackend(
  opts: NetnsTarget & { override?: BackendOverride | string } = {},
): Promise<BackendChoice> {
  const override = normalizeOverride(opts.override);
  if (override === 'NFT') return { backend: 'nft', reason: 'configured: NFT' };
  if (override === 'Legacy') return { backend: 'legacy', reason: 'configured: Legacy' };
  const target: NetnsTarget = opts.netns !== undefined ? { netns: opts.netns } : {};
  const [n4, n6, l4, l6, sys] = await Promise.all([
    trySave(target, 4, 'nft'),
    trySave(target, 6, 'nft'),
    trySave(target, 4, 'legacy'),
    trySave(target, 6, 'legacy'),
    systemDefault(),
  ]);
  return chooseBackend([evidenceFromSaves('nft', [n4, n6]), evidenceFromSaves('legacy', [l4, l6])], sys);
}
