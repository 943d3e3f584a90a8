// metadata: name, namespace (only on namespaced kinds), labels, annotations, server fields.

import { isNamespaced, type Kind } from '../types.js';
import type { Path, Problems } from './problems.js';
import { dnsLabel, labelKeyCheck, labelValue, subdomain, timestamp } from './scalars.js';
import { custom, map, obj, str, type ObjectSchema, type Schema } from './schema.js';

/** Kubernetes' limit on the total size of an object's annotations. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** The namespaced counterpart of a cluster-scoped kind, for the hint. */
const NAMESPACED_TWIN: Partial<Record<Kind, Kind>> = {
  GlobalNetworkPolicy: 'NetworkPolicy',
  GlobalNetworkSet: 'NetworkSet',
};

function namespaceField(kind: Kind | undefined): Schema {
  if (kind === undefined || isNamespaced(kind)) return dnsLabel();
  return custom((v, path: Path, problems: Problems) => {
    const twin = NAMESPACED_TWIN[kind];
    problems.add(
      path,
      `${kind} is cluster-scoped and has no namespace: remove metadata.namespace` +
        (twin ? ` (or use kind ${twin} for one that lives in a namespace)` : ''),
    );
    return v;
  });
}

export function metadataSchema(kind: Kind | undefined): ObjectSchema {
  return obj(
    {
      name: subdomain(),
      namespace: namespaceField(kind),
      labels: map(labelValue(), { key: labelKeyCheck }),
      annotations: map(str(), {
        key: labelKeyCheck,
        check: (v, path, problems) => {
          let size = 0;
          for (const [k, val] of Object.entries(v)) size += Buffer.byteLength(k) + (typeof val === 'string' ? Buffer.byteLength(val) : 0);
          if (size > MAX_ANNOTATIONS_BYTES) {
            problems.add(path, `annotations total ${size} bytes; the limit is ${MAX_ANNOTATIONS_BYTES}`);
          }
        },
      }),
      resourceVersion: str(),
      uid: str(),
      creationTimestamp: timestamp(),
    },
    { required: ['name'] },
  );
}
