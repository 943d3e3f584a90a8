// The messages below are what iptables 1.8.9 / ipset 7.17 print on this machine (captured by hand).
import { describe, expect, it } from 'vitest';
import { IpsetRestoreError, IptablesRestoreError } from '../../../src/iptables/errors.js';
import { ipsetRestoreError, iptablesRestoreError, reportedLine } from '../../../src/iptables/restore-error.js';

const ctx = { family: 4 as const, backend: 'nft' as const, netns: 'ns1', exitCode: 2 };

describe('iptablesRestoreError', () => {
  it('maps a parse error to our line, with table and text', () => {
    const text = '*filter\n:tw-b - [0:0]\n-A tw-b -j ACCEPT\n-A tw-b --bogus\nCOMMIT\n';
    const stderr =
      'iptables-nft-restore v1.8.9 (nf_tables): unknown option "--bogus"\nError occurred at line: 4\nTry `iptables-nft-restore -h\' or \'iptables-nft-restore --help\' for more information.\n';
    const e = iptablesRestoreError(text, stderr, ctx);
    expect(e).toBeInstanceOf(IptablesRestoreError);
    expect(e).toMatchObject({ code: 'IptablesRestore', lineNumber: 4, line: '-A tw-b --bogus', table: 'filter', stderr, netns: 'ns1', exitCode: 2 });
    expect(e.message).toContain('line 4');
    expect(e.message).toContain('-A tw-b --bogus');
    expect(e.message).toContain('unknown option "--bogus"');
    expect(e.message).toContain('netns ns1');
  });

  it('iptables-nft reports a jump to a missing chain at COMMIT: we point at the rule that jumps', () => {
    const text = '*filter\n:tw-b - [0:0]\n-A tw-b -j ACCEPT\n-A tw-b -j tw-nope\n-A tw-b -j ACCEPT\nCOMMIT\n';
    const stderr = "iptables-nft-restore v1.8.9 (nf_tables): Chain 'tw-nope' does not exist\nError occurred at line: 6\n";
    const e = iptablesRestoreError(text, stderr, ctx);
    expect(e.lineNumber).toBe(4);
    expect(e.line).toBe('-A tw-b -j tw-nope');
  });

  it('keeps legacy\'s own (already right) line for a missing target', () => {
    const text = '*filter\n:tw-b - [0:0]\n-A tw-b -g tw-nope\n-A tw-b -j tw-nope\nCOMMIT\n';
    const stderr = "iptables-restore v1.8.9 (legacy): Couldn't load target `tw-nope':No such file or directory\n\nError occurred at line: 4\n";
    const e = iptablesRestoreError(text, stderr, { ...ctx, backend: 'legacy' });
    expect(e.lineNumber).toBe(4);
  });

  it('reads the other shapes of line report', () => {
    expect(reportedLine('iptables-nft-restore: line 5 failed: Bad rule (does a matching rule exist in that chain?).')).toBe(5);
    expect(reportedLine('iptables-restore: line 2 failed')).toBe(2);
    expect(reportedLine('iptables-nft-restore v1.8.9 (nf_tables): \nline 2: CHAIN_DEL failed (Device or resource busy): chain tw-a')).toBe(2);
    expect(reportedLine('iptables-restore: COMMIT expected at line 3')).toBe(3);
    expect(reportedLine("iptables-restore v1.8.9 (legacy): Can't set policy `DROP' on `tw-q' line 2: Bad built-in chain name")).toBe(2);
    expect(reportedLine('ipset v7.17: Error in line 3: The set with the given name does not exist')).toBe(3);
    expect(reportedLine('something else entirely')).toBeUndefined();
  });

  it('names the table of a later section in a multi-table restore', () => {
    const text = '*filter\n:tw-f - [0:0]\nCOMMIT\n*nat\n:tw-n - [0:0]\n-A tw-n -j tw-none\nCOMMIT\n';
    const e = iptablesRestoreError(text, "iptables-nft-restore v1.8.9 (nf_tables): Chain 'tw-none' does not exist\nError occurred at line: 7\n", ctx);
    expect(e).toMatchObject({ table: 'nat', lineNumber: 6, line: '-A tw-n -j tw-none' });
  });

  it('without a line number, still carries stderr and says which tool failed where', () => {
    const e = iptablesRestoreError('*filter\nCOMMIT\n', 'iptables-restore: unable to initialize table\n', { family: 6, backend: 'legacy' });
    expect(e.lineNumber).toBeUndefined();
    expect(e.line).toBeUndefined();
    expect(e.message).toContain('ip6tables-restore (legacy, IPv6, host netns)');
    expect(e.message).toContain('unable to initialize table');
  });
});

describe('ipsetRestoreError', () => {
  it('maps "Error in line N" to our line', () => {
    const text = 'create tw4-a hash:ip family inet\n\nadd tw4-zz 10.0.0.9\n';
    const e = ipsetRestoreError(text, 'ipset v7.17: Error in line 3: The set with the given name does not exist\n', { netns: 'n' });
    expect(e).toBeInstanceOf(IpsetRestoreError);
    expect(e).toMatchObject({ code: 'IpsetRestore', lineNumber: 3, line: 'add tw4-zz 10.0.0.9' });
    expect(e.message).toContain('does not exist');
  });

  it('finds the line of an argument error that names no line', () => {
    const text = 'create tw4-a hash:ip family inet\nadd tw4-a 1.2.3.4 garbage\n';
    const e = ipsetRestoreError(text, "ipset v7.17: Unknown argument: `garbage'\nTry `ipset help' for more information.\n", {});
    expect(e.lineNumber).toBe(2);
    expect(e.line).toBe('add tw4-a 1.2.3.4 garbage');
    const e2 = ipsetRestoreError('frob tw4-a\n', 'ipset v7.17: No command specified: unknown argument frob\n', {});
    expect(e2.lineNumber).toBe(1);
  });
});
