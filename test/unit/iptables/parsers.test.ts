import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inNetns, netnsPath } from '../../../src/iptables/exec.js';
import { parseIpsetNames, parseIpsetSave } from '../../../src/iptables/ipset-parser.js';
import { saveString, splitArgs } from '../../../src/iptables/tokens.js';

// `ipset save` as printed by ipset 7.17
const SAVE = `create tw4-a hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x603acd98
add tw4-a 10.0.0.1
add tw4-a 10.0.0.2
create tw6-b hash:net family inet6 hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x93e6138a
add tw6-b fd00::/64
create other hash:ip family inet hashsize 1024 maxelem 65536
add other 1.1.1.1 comment "x y"
create ports bitmap:port range 0-1024
`;

describe('ipset parsers', () => {
  it('parseIpsetSave returns type, family, maxelem and members', () => {
    const m = parseIpsetSave(SAVE);
    expect([...m.keys()]).toEqual(['tw4-a', 'tw6-b', 'other', 'ports']);
    expect(m.get('tw4-a')).toEqual({ type: 'hash:ip', family: 'inet', maxelem: 65536, members: new Set(['10.0.0.1', '10.0.0.2']) });
    expect(m.get('tw6-b')).toEqual({ type: 'hash:net', family: 'inet6', maxelem: 1048576, members: new Set(['fd00::/64']) });
    expect(m.get('other')!.members).toEqual(new Set(['1.1.1.1']));
    expect(m.get('ports')).toEqual({ type: 'bitmap:port', family: 'inet', members: new Set() });
  });
  it('filters by prefix', () => {
    expect([...parseIpsetSave(SAVE, 'tw').keys()]).toEqual(['tw4-a', 'tw6-b']);
    expect(parseIpsetNames('tw4-a\ntw6-b\nother\n', 'tw6-')).toEqual(['tw6-b']);
    expect(parseIpsetNames('tw4-a\n\nother\n')).toEqual(['tw4-a', 'other']);
  });
});

describe('tokens', () => {
  it('splits like iptables-restore: whitespace, double quotes, backslash escapes inside quotes', () => {
    expect(splitArgs('-A  tw-a -m comment --comment "a b" -j ACCEPT')).toEqual(['-A', 'tw-a', '-m', 'comment', '--comment', 'a b', '-j', 'ACCEPT']);
    expect(splitArgs('--comment "say \\"hi\\""')).toEqual(['--comment', 'say "hi"']);
    expect(splitArgs('--comment ""')).toEqual(['--comment', '']);
    expect(() => splitArgs('--comment "open')).toThrow(SyntaxError);
  });
  it('saveString quotes only what needs it', () => {
    expect(saveString('x')).toBe('x');
    expect(saveString('tw:0123')).toBe('"tw:0123"');
    expect(saveString("it's")).toBe('"it\\\'s"');
  });
  it('saveString output splits back to the same string', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((s) => !/[\r\n]/.test(s)), (s) => {
        expect(splitArgs(`--comment ${saveString(s)}`)).toEqual(['--comment', s]);
      }),
    );
  });
});

describe('exec', () => {
  it('runs in a named namespace through nsenter, in place (one process)', () => {
    expect(inNetns({}, ['iptables-nft-save'])).toEqual(['iptables-nft-save']);
    expect(inNetns({ netns: 'ns1' }, ['ipset', 'list', '-n'])).toEqual(['nsenter', '--net=/run/netns/ns1', '--', 'ipset', 'list', '-n']);
    expect(netnsPath('/proc/42/ns/net')).toBe('/proc/42/ns/net');
  });
});
