// Label keys as Kubernetes allows them: an optional DNS-subdomain prefix and a slash, then a name
// of 1..63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit.

const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const DNS_LABEL_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  let name = key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (name.includes('/')) return `label key ${JSON.stringify(key)} has more than one '/'`;
    if (prefix.length === 0) return `label key ${JSON.stringify(key)} has an empty prefix before '/'`;
    if (prefix.length > 253) {
      return `the prefix of label key ${JSON.stringify(key)} is longer than 253 characters`;
    }
    for (const part of prefix.split('.')) {
      if (part.length > 63 || !DNS_LABEL_RE.test(part)) {
        return (
          `the prefix of label key ${JSON.stringify(key)} must be a DNS subdomain ` +
          `(lower-case letters, digits, '-' and '.', e.g. "example.com")`
        );
      }
    }
  }
  if (name.length === 0) return `label key ${JSON.stringify(key)} has an empty name`;
  if (name.length > 63) {
    return `the name of label key ${JSON.stringify(key)} is longer than 63 characters`;
  }
  if (!NAME_RE.test(name)) {
    return (
      `the name of label key ${JSON.stringify(key)} must start and end with a letter or digit ` +
      `and contain only letters, digits, '-', '_' and '.'`
    );
  }
  return undefined;
}

export function isValidLabelKey(key: string): boolean {
  return labelKeyProblem(key) === undefined;
}
