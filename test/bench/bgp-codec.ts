// Micro-benchmark of the codec (not a test): 1,000,000 IPv4 /32 prefixes packed into UPDATEs,
// framed from a byte stream and decoded again. Prints one line per step.
//   npm run bench -- bgp-codec [prefixes] [--extended]   (no root needed)
import type { Prefix } from '../../bgp/packet/address.js';
import { ipv4Prefix } from '../../bgp/packet/address.js';
import { encodeAttributeSet } from '../../bgp/packet/attr-encode.js';
import { makeContext } from '../../bgp/packet/context.js';
import { Framer } from '../../bgp/packet/framer.js';
import { decodeMessage } from '../../bgp/packet/message.js';
import { packUpdates, packWithdrawals } from '../../bgp/packet/pack.js';
import type { UpdateMessage } from '../../bgp/packet/update.js';

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function line(step: string, n: number, msgs: number, t: number): void {
  process.stdout.write(`bgp/packet ${step}: ${n} prefixes, ${msgs} messages, ${t.toFixed(1)} ms (${((n / t) * 1000).toFixed(0)} prefixes/s)\n`);
}

export default async function runPacketBench(args: string[] = []): Promise<void> {
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
  const extended = args.includes('--extended');
  const ctx = makeContext({ fourOctetAs: true, extendedMessage: { send: extended, receive: extended } });
  const prefixes: Prefix[] = new Array<Prefix>(n);
  for (let i = 0; i < n; i++) prefixes[i] = ipv4Prefix((0x0a000000 + i) >>> 0, 32);
  const set = encodeAttributeSet(
    { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: { afi: 1, addr: 0xc0000201 }, localPref: 100 },
    true,
  );

  let t0 = process.hrtime.bigint();
  const msgs = packUpdates(set, prefixes, ctx);
  line('encode (packUpdates)', n, msgs.length, ms(t0));

  // The wire as TCP would deliver it: 64 KiB chunks that cut messages anywhere.
  const stream = Buffer.concat(msgs);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 65536) chunks.push(stream.subarray(i, i + 65536));

  t0 = process.hrtime.bigint();
  const framer = new Framer({ extendedMessage: extended });
  let got = 0;
  let count = 0;
  for (const c of chunks) {
    framer.push(c);
    for (let m = framer.next(); m; m = framer.next()) {
      const r = decodeMessage(m, ctx);
      got += (r.message as UpdateMessage).nlri.length;
      count++;
    }
  }
  line('frame + decode', got, count, ms(t0));
  if (got !== n) throw new Error(`decoded ${got} prefixes, expected ${n}`);

  t0 = process.hrtime.bigint();
  const w = packWithdrawals(prefixes, ctx);
  line('encode withdrawals', n, w.length, ms(t0));
}

