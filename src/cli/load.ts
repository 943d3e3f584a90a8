// From -f arguments to resources: read every source, parse every document, validate every
// resource, and only then return — or throw InputProblemsError listing every problem found
// (document, object, field path, reason), so a bad document among good ones stops the whole batch.

import { parseDocuments } from '../api/documents.js';
import { isPublicKind, UnknownKindError } from '../api/kinds.js';
import { describeInput, validateResources } from '../api/validate.js';
import { isNamespaced, keyOf, type Resource, type ResourceKey } from '../api/types.js';
import { TwillError } from '../errors.js';
import type { CliContext } from './context.js';
import { readSources } from './input.js';
import { convertKubeDocs, isKubeObject, kubeKey, type KubeDoc } from './kube.js';
import { InputProblemsError, type InputProblem } from './problems.js';

export interface LoadedResource {
  resource: Resource;
  /** The document it came from, e.g. "pools.yaml#2". */
  source: string;
}

export interface LoadedKey {
  key: ResourceKey;
  source: string;
}

async function parseAll(
  ctx: CliContext,
  files: readonly string[],
  recursive: boolean,
): Promise<{ docs: { value: unknown; source: string }[]; problems: InputProblem[] }> {
  const sources = await readSources(files, { recursive }, ctx.io);
  const docs: { value: unknown; source: string }[] = [];
  const problems: InputProblem[] = [];
  for (const s of sources) {
    try {
      docs.push(...parseDocuments(s.data, s.source));
    } catch (e) {
      if (!(e instanceof TwillError)) throw e;
      // The parse error names the file (and line:column) itself.
      problems.push({ message: e.message });
    }
  }
  return { docs, problems };
}

/** What -f input holds: Twill resources (Kubernetes ones converted) and Pods still to resolve. */
export interface LoadedInput {
  resources: LoadedResource[];
  /** v1 Pod documents: they update WorkloadEndpoints read from the datastore (cli/kube.ts `resolvePods`). */
  pods: KubeDoc[];
}

/**
 * Reads, parses and validates; every resource is returned with defaults filled in. Kubernetes
 * NetworkPolicy and Namespace documents are converted (src/kube) and then validated like the rest.
 */
export async function loadInput(
  ctx: CliContext,
  files: readonly string[],
  recursive: boolean,
  hint: string,
): Promise<LoadedInput> {
  const { docs: parsed, problems } = await parseAll(ctx, files, recursive);
  const kube = convertKubeDocs(parsed.filter((d) => isKubeObject(d.value)));
  problems.push(...kube.problems);
  const converted = new Map(kube.converted.map((c) => [c.source, c.value]));
  const docs = parsed.flatMap((d) => (!isKubeObject(d.value) ? [d] : converted.has(d.source) ? [{ value: converted.get(d.source), source: d.source }] : []));
  const batch = validateResources(docs);
  batch.items.forEach((item, i) => {
    if (item.ok) return;
    const object = describeInput(docs[i]?.value);
    for (const p of item.problems) {
      problems.push({ source: item.source, ...(object !== undefined ? { object } : {}), path: p.path, message: p.message });
    }
  });
  if (problems.length > 0) throw new InputProblemsError(problems, hint);
  return { resources: batch.items.flatMap((item) => (item.ok ? [{ resource: item.resource, source: item.source }] : [])), pods: kube.pods };
}

/** As loadInput, for offline use: Pods are checked (name, namespace) but not returned. */
export async function loadResources(
  ctx: CliContext,
  files: readonly string[],
  recursive: boolean,
  hint: string,
): Promise<LoadedResource[]> {
  return (await loadInput(ctx, files, recursive, hint)).resources;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * For delete -f: only each document's identity (kind, metadata.name, metadata.namespace) is
 * needed, so an object whose stored form no longer validates can still be deleted by its file.
 */
export async function loadKeys(ctx: CliContext, files: readonly string[], recursive: boolean): Promise<LoadedKey[]> {
  const { docs, problems } = await parseAll(ctx, files, recursive);
  const keys: LoadedKey[] = [];
  for (const d of docs) {
    const at = (path: string, message: string): void => {
      const object = describeInput(d.value);
      problems.push({ source: d.source, ...(object !== undefined ? { object } : {}), path, message });
    };
    if (!isObject(d.value)) {
      at('', 'a resource must be an object with kind and metadata.name');
      continue;
    }
    if (isKubeObject(d.value)) {
      const k = kubeKey(d.value, d.source);
      if ('key' in k) keys.push({ key: k.key, source: d.source });
      else problems.push(k.problem);
      continue;
    }
    const kind = d.value.kind;
    if (typeof kind !== 'string' || !isPublicKind(kind)) {
      at('kind', typeof kind === 'string' ? new UnknownKindError(kind).message : 'missing: every resource needs a kind');
      continue;
    }
    const meta = isObject(d.value.metadata) ? d.value.metadata : {};
    const name = meta.name;
    const namespace = meta.namespace;
    if (typeof name !== 'string' || name === '') {
      at('metadata.name', 'missing: the name of the object to delete');
      continue;
    }
    if (namespace !== undefined && typeof namespace !== 'string') {
      at('metadata.namespace', 'must be a string');
      continue;
    }
    const metadata = isNamespaced(kind) && namespace !== undefined ? { name, namespace } : { name };
    keys.push({ key: keyOf({ kind, metadata }), source: d.source });
  }
  if (problems.length > 0) throw new InputProblemsError(problems, 'nothing was deleted; fix the input and run delete again');
  return keys;
}
