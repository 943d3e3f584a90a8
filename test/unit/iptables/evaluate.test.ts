// The packet evaluator: rules written through the fake iptables-restore (so they are read back in
// iptables-save's canonical form) and walked the way the kernel walks them.
import { describe, expect, it } from 'vitest';
import { createFakeNetfilter, evaluatePacket, IptablesEvalError, type EvalPacket, type EvalRuleSet } from '../../../src/iptables/fake/index.js';

async function load(rules: string, sets = '', family: 4 | 6 = 4): Promise<EvalRuleSet> {
  const nf = createFakeNetfilter();
  if (sets !== '') await nf.ipset().restore(sets);
  await nf.iptables({ family, backend: 'nft' }).restore(`*filter\n${rules}\nCOMMIT\n`);
  return nf.ruleSet({ family });
}

const tcp = (o: Partial<EvalPacket> = {}): EvalPacket => ({ src: '10.0.0.1', dst: '10.0.1.1', protocol: 'tcp', srcPort: 40000, dstPort: 80, ...o });

describe('iptables packet evaluator', () => {
  it('jumps return, gotos return to the caller of the chain that went, RETURN in a built-in chain is its policy', async () => {
    const rs = await load(
      [
        ':FORWARD DROP [0:0]',
        ':a - [0:0]',
        ':b - [0:0]',
        ':c - [0:0]',
        '-A FORWARD -j a',
        '-A FORWARD -p tcp --dport 80 -j ACCEPT',
        '-A a -g b',
        '-A a -j DROP',
        '-A b -p tcp --dport 22 -j c',
        '-A b -p udp -j RETURN',
        '-A c -j ACCEPT',
      ].join('\n'),
    );
    // a → goto b → falls off b → back in FORWARD (not a, whose DROP would end it) → ACCEPT
    const r = evaluatePacket(rs, 'FORWARD', tcp());
    expect(r.verdict).toBe('ACCEPT');
    expect(r.decidedBy).toEqual({ chain: 'FORWARD', index: 1, spec: '-p tcp -m tcp --dport 80 -j ACCEPT' });
    expect(evaluatePacket(rs, 'FORWARD', tcp({ dstPort: 22 })).decidedBy).toMatchObject({ chain: 'c', index: 0 });
    // nothing accepts 443: FORWARD's policy decides
    expect(evaluatePacket(rs, 'FORWARD', tcp({ dstPort: 443 }))).toMatchObject({ verdict: 'DROP', decidedBy: { chain: 'FORWARD', policy: 'DROP' } });
    expect(evaluatePacket(rs, 'FORWARD', tcp({ protocol: 'udp' })).verdict).toBe('DROP');
  });

  it('marks: --set-xmark and --mark with masks, as felix uses them', async () => {
    const rs = await load(
      [
        ':p - [0:0]',
        '-A FORWARD -j MARK --set-xmark 0x0/0xf0000',
        '-A FORWARD -j p',
        '-A FORWARD -m mark --mark 0x10000/0x10000 -j ACCEPT',
        '-A FORWARD -j DROP',
        '-A p -s 10.0.0.0/24 -j MARK --set-xmark 0x10000/0x10000',
        '-A p -m mark --mark 0x10000/0x10000 -j RETURN',
        '-A p -j MARK --set-mark 0x20000/0x20000',
      ].join('\n'),
    );
    const r = evaluatePacket(rs, 'FORWARD', tcp({ mark: 0xf0001 }));
    expect(r).toMatchObject({ verdict: 'ACCEPT', mark: 0x10001 });
    expect(evaluatePacket(rs, 'FORWARD', tcp({ src: '10.0.5.1' }))).toMatchObject({ verdict: 'DROP', mark: 0x20000 });
  });

  it('addresses, interfaces with + wildcards, protocols, ports, ICMP types, conntrack, each negated too', async () => {
    const rs = await load(
      [
        '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A FORWARD -i tw+ ! -o eth0 -j DROP',
        '-A FORWARD ! -s 10.0.0.0/8 -j DROP',
        '-A FORWARD -p tcp -m multiport --dports 80,8000:8080 -d 10.0.1.0/24 -j ACCEPT',
        '-A FORWARD -p udp -m multiport ! --dports 53 -j ACCEPT',
        '-A FORWARD -p icmp -m icmp --icmp-type 8/0 -j ACCEPT',
        '-A FORWARD ! -p tcp -j REJECT',
        '-A FORWARD -j DROP',
      ].join('\n'),
    );
    const f = (o: Partial<EvalPacket>): string => evaluatePacket(rs, 'FORWARD', tcp({ inInterface: 'tw1', outInterface: 'eth0', ...o })).verdict;
    expect(f({})).toBe('ACCEPT');
    expect(f({ dstPort: 8080 })).toBe('ACCEPT');
    expect(f({ dstPort: 8081 })).toBe('DROP');
    expect(f({ dst: '10.0.2.1' })).toBe('DROP');
    expect(f({ outInterface: 'tw2' })).toBe('DROP');
    expect(f({ outInterface: 'tw2', ctState: 'ESTABLISHED' })).toBe('ACCEPT');
    expect(f({ inInterface: 'eth1', outInterface: 'tw2' })).toBe('ACCEPT');
    expect(f({ src: '192.168.0.1' })).toBe('DROP');
    expect(f({ protocol: 'udp', dstPort: 53 })).toBe('REJECT');
    expect(f({ protocol: 'udp', dstPort: 54 })).toBe('ACCEPT');
    expect(f({ protocol: 'icmp', icmpType: 8, icmpCode: 0 })).toBe('ACCEPT');
    expect(f({ protocol: 'icmp', icmpType: 0, icmpCode: 0 })).toBe('REJECT');
  });

  it('ipsets: hash:net by src or dst, hash:ip,port by dst,dst, ! --match-set', async () => {
    const sets = ['create nets hash:net family inet', 'add nets 10.1.0.0/16', 'add nets 10.2.0.5', 'create np hash:ip,port family inet', 'add np 10.0.1.1,tcp:8080'].join('\n');
    const rs = await load(
      [
        '-A FORWARD -m set ! --match-set nets src -j DROP',
        '-A FORWARD -p tcp -m set --match-set np dst,dst -j ACCEPT',
        '-A FORWARD -j DROP',
      ].join('\n'),
      sets,
    );
    const f = (o: Partial<EvalPacket>): string => evaluatePacket(rs, 'FORWARD', tcp({ src: '10.1.2.3', dstPort: 8080, ...o })).verdict;
    expect(f({})).toBe('ACCEPT');
    expect(f({ src: '10.2.0.5' })).toBe('ACCEPT');
    expect(f({ src: '10.2.0.6' })).toBe('DROP');
    expect(f({ dstPort: 80 })).toBe('DROP');
    expect(f({ dst: '10.0.1.2' })).toBe('DROP');
    expect(f({ protocol: 'udp' })).toBe('DROP');
  });

  it('IPv6: prefixes and ICMPv6 types', async () => {
    const rs = await load(['-A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT', '-A FORWARD -d fd00::/64 -j ACCEPT', '-A FORWARD -j DROP'].join('\n'), '', 6);
    expect(evaluatePacket(rs, 'FORWARD', { src: 'fd01::1', dst: 'fd02::1', protocol: 'ipv6-icmp', icmpType: 128, icmpCode: 0 }).verdict).toBe('ACCEPT');
    expect(evaluatePacket(rs, 'FORWARD', tcp({ src: 'fd01::1', dst: 'fd00::9' })).verdict).toBe('ACCEPT');
    expect(evaluatePacket(rs, 'FORWARD', tcp({ src: 'fd01::1', dst: 'fd02::9' })).verdict).toBe('DROP');
  });

  it('LOG goes on; a match, option or target it does not model throws, naming it', async () => {
    const logged = await load(['-A FORWARD -j LOG --log-prefix "x: "', '-A FORWARD -j DROP'].join('\n'));
    expect(evaluatePacket(logged, 'FORWARD', tcp()).matched.map((m) => m.index)).toEqual([0, 1]);
    const refuse = async (rule: string, what: RegExp): Promise<void> => {
      const rs = await load(`-A FORWARD ${rule}\n-A FORWARD -j ACCEPT`);
      expect(() => evaluatePacket(rs, 'FORWARD', tcp())).toThrow(IptablesEvalError);
      expect(() => evaluatePacket(rs, 'FORWARD', tcp())).toThrow(what);
    };
    await refuse('-m limit --limit 5/s -j ACCEPT', /module "limit"/);
    await refuse('-p tcp --syn -j DROP', /--tcp-flags is not modelled/);
    await refuse('-m conntrack --ctorigdst 10.0.0.1 -j DROP', /--ctorigdst is not modelled/);
    await refuse('-j CONNMARK --set-mark 1', /target CONNMARK is not modelled/);
    await refuse('-p icmp -m icmp --icmp-type echo-request -j DROP', /ICMP type "echo-request"/);
  });
});
