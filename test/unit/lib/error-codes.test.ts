// One error-code style across every layer (src/errors.ts): each literal TwillError code in the
// sources is PascalCase, and BGP's protocol errors follow it too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BgpError, ErrorCode, UpdateSubcode } from '../../../bgp/packet/index.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('error codes', () => {
  it('every literal code in src/, bgp/, felix/ and ipam/ is PascalCase', () => {
    const codes: string[] = [];
    for (const top of ['src', 'bgp', 'felix', 'ipam']) {
      for (const f of sources(join(repo, top))) {
        const text = readFileSync(f, 'utf8');
        for (const m of text.matchAll(/(?:super|new TwillError|new CliUserError)\(\s*'([^']+)',/g)) codes.push(`${relative(repo, f)}: ${m[1]}`);
      }
    }
    expect(codes.length).toBeGreaterThan(40);
    expect(codes.filter((c) => !/: [A-Z][A-Za-z0-9]*$/.test(c))).toEqual([]);
  });

  it('a BGP protocol error is named after its RFC code and subcode', () => {
    const e = new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_AS_PATH, 'AS_PATH segment overruns the attribute');
    expect(e.code).toBe('BgpUpdateMalformedAsPath');
  });
});
