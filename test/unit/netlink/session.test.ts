// The request/reply engine against a scripted transport: batching and ACK matching, stale
// replies, extended acks, interrupted dumps, lost replies, closing while waiting.
import { describe, expect, it } from 'vitest';
import * as C from '../../../src/netlink/constants.js';
import { NetlinkClosedError, NetlinkError } from '../../../src/netlink/errors.js';
import { Session } from '../../../src/netlink/session.js';
import type { Transport } from '../../../src/netlink/transport.js';
import { forEachMessage, Writer, type RawMessage } from '../../../src/netlink/wire.js';

interface Sent {
  type: number;
  flags: number;
  seq: number;
}

/** A transport whose kernel is a function from the requests of one send() to reply datagrams. */
class ScriptedTransport implements Transport {
  readonly sends: Sent[][] = [];
  private queue: Buffer[] = [];
  private waiter: (() => void) | undefined;
  closed = false;
  /** Replies are queued only after this many recv() calls found nothing (tests the waiting path). */
  delayRecvs = 0;
  /** The next recv() reports an overrun and loses everything queued. */
  dropAll = false;

  constructor(
    private readonly kernel: (reqs: Sent[], send: number) => Buffer[],
    readonly maxRepliesQueued = 1000,
  ) {}

  send(buf: Buffer, len: number): number {
    const reqs: Sent[] = [];
    forEachMessage(buf, len, (m) => reqs.push({ type: m.type, flags: m.flags, seq: m.seq }));
    this.sends.push(reqs);
    const replies = this.kernel(reqs, this.sends.length - 1);
    if (this.delayRecvs > 0) {
      const later = replies;
      setTimeout(() => {
        this.queue.push(...later);
        this.waiter?.();
      }, 1);
    } else {
      this.queue.push(...replies);
    }
    return len;
  }

  recv(buf: Buffer): number {
    if (this.dropAll) {
      this.dropAll = false;
      this.queue = [];
      return -105; // ENOBUFS: the socket overran and replies were lost
    }
    const d = this.queue.shift();
    if (!d) return -11; // EAGAIN
    d.copy(buf);
    return d.length;
  }

  readable(): Promise<void> {
    if (this.queue.length || this.closed) return Promise.resolve();
    return new Promise((r) => {
      this.waiter = () => {
        this.waiter = undefined;
        r();
      };
    });
  }

  close(): void {
    this.closed = true;
    this.waiter?.();
  }
}

/** An NLMSG_ERROR reply (errno 0 = ACK), optionally with an extended-ack message. */
function errorMsg(seq: number, errno: number, text?: string): Buffer {
  const w = new Writer(256);
  const start = w.begin(C.NLMSG_ERROR, C.NLM_F_CAPPED | (text ? C.NLM_F_ACK_TLVS : 0), seq);
  w.i32(-errno);
  w.u32(16); // the capped original header
  w.u16(C.RTM_NEWROUTE);
  w.u16(C.NLM_F_REQUEST);
  w.u32(seq);
  w.u32(0);
  if (text) w.attrString(C.NLMSGERR_ATTR_MSG, text);
  w.end(start);
  return Buffer.from(w.buf.subarray(0, w.len));
}

function dataMsg(seq: number, value: number, flags = C.NLM_F_MULTI): Buffer {
  const w = new Writer(64);
  const start = w.begin(C.RTM_NEWROUTE, flags, seq);
  w.u32(value);
  w.end(start);
  return Buffer.from(w.buf.subarray(0, w.len));
}

function doneMsg(seq: number, flags = C.NLM_F_MULTI, errno = 0): Buffer {
  const w = new Writer(64);
  const start = w.begin(C.NLMSG_DONE, flags, seq);
  w.i32(-errno);
  w.end(start);
  return Buffer.from(w.buf.subarray(0, w.len));
}

const encodeN =
  (bytes = 16) =>
  (w: Writer, _i: number, seq: number): void => {
    const s = w.begin(C.RTM_NEWROUTE, C.NLM_F_REQUEST | C.NLM_F_CREATE | C.NLM_F_EXCL, seq);
    w.zeros(bytes);
    w.end(s);
  };
const readValue = (buf: Buffer, m: RawMessage): number => buf.readUInt32LE(m.off);

/** A kernel that fails the requests at the given positions (of all requests ever sent) and ACKs as asked. */
function kernelFailing(failAt: Map<number, [number, string?]>): (reqs: Sent[]) => Buffer[] {
  let k = 0;
  return (reqs) => {
    const out: Buffer[] = [];
    for (const r of reqs) {
      const f = failAt.get(k++);
      if (f) out.push(errorMsg(r.seq, f[0], f[1]));
      else if (r.flags & C.NLM_F_ACK) out.push(errorMsg(r.seq, 0));
    }
    return out;
  };
}

describe('Session.batch', () => {
  it('sends everything at once, asks for one ACK, and matches errors to requests by sequence number', async () => {
    const t = new ScriptedTransport(kernelFailing(new Map([[2, [17]], [4, [19, 'Device not found']]])));
    const s = new Session(t, 'test');
    const res = await s.exclusive(() => s.batch(6, encodeN(), (i) => `request ${i}`));
    expect(t.sends).toHaveLength(1);
    expect(t.sends[0]!.map((r) => (r.flags & C.NLM_F_ACK) !== 0)).toEqual([false, false, false, false, false, true]);
    const seqs = t.sends[0]!.map((r) => r.seq);
    expect(new Set(seqs).size).toBe(6);
    expect(res.map((e) => e?.errnoName)).toEqual([undefined, undefined, 'EEXIST', undefined, 'ENODEV', undefined]);
    expect(res[4]).toBeInstanceOf(NetlinkError);
    expect(res[4]!.request).toBe('request 4');
    expect(res[4]!.detail).toBe('Device not found');
    expect(res[4]!.message).toContain('Device not found');
  });

  it('treats an error on the last request as its ACK', async () => {
    const t = new ScriptedTransport(kernelFailing(new Map([[2, [22]]])));
    const s = new Session(t, 'test');
    const res = await s.exclusive(() => s.batch(3, encodeN(), (i) => `r${i}`));
    expect(res.map((e) => e?.errnoName)).toEqual([undefined, undefined, 'EINVAL']);
  });

  it('cuts big batches into several sends, each ending with an ACK request', async () => {
    const t = new ScriptedTransport(kernelFailing(new Map([[7, [17]]])));
    const s = new Session(t, 'test', { chunkBytes: 100 });
    const res = await s.exclusive(() => s.batch(10, encodeN(16), (i) => `r${i}`));
    expect(t.sends.length).toBeGreaterThan(1);
    expect(t.sends.flat()).toHaveLength(10);
    for (const chunk of t.sends) {
      expect(chunk.map((r) => (r.flags & C.NLM_F_ACK) !== 0)).toEqual(chunk.map((_, i) => i === chunk.length - 1));
    }
    expect(res.map((e, i) => (e ? i : -1)).filter((i) => i >= 0)).toEqual([7]);
  });

  it('never queues more replies than the receive buffer holds', async () => {
    const t = new ScriptedTransport(kernelFailing(new Map()), 4);
    const s = new Session(t, 'test');
    await s.exclusive(() => s.batch(10, encodeN(), (i) => `r${i}`));
    expect(t.sends.map((c) => c.length)).toEqual([4, 4, 2]);
  });

  it('ignores stale replies to earlier requests', async () => {
    let stale: Buffer | undefined;
    const t = new ScriptedTransport((reqs) => {
      const out: Buffer[] = [];
      if (stale) out.push(stale);
      for (const r of reqs) if (r.flags & C.NLM_F_ACK) out.push(errorMsg(r.seq, 0));
      stale = errorMsg(reqs[0]!.seq, 17); // shows up during the next batch
      return out;
    });
    const s = new Session(t, 'test');
    await s.exclusive(() => s.batch(2, encodeN(), (i) => `r${i}`));
    const res = await s.exclusive(() => s.batch(2, encodeN(), (i) => `r${i}`));
    expect(res.every((e) => e === undefined)).toBe(true);
  });

  it('refuses a request that fails to encode on its own, keeping sequence numbers contiguous', async () => {
    const t = new ScriptedTransport(kernelFailing(new Map([[1, [3]]])));
    const s = new Session(t, 'test');
    const res = await s.exclusive(() =>
      s.batch(
        4,
        (w, i, seq) => {
          if (i === 1) throw new NetlinkError(22, 'bad one', 'nope');
          encodeN()(w, i, seq);
        },
        (i) => `r${i}`,
      ),
    );
    expect(res.map((e) => e?.errnoName)).toEqual([undefined, 'EINVAL', 'ESRCH', undefined]);
    expect(res[1]!.request).toBe('bad one');
    const seqs = t.sends[0]!.map((r) => r.seq);
    expect(seqs).toEqual([seqs[0], seqs[0]! + 1, seqs[0]! + 2]);
  });

  it('waits for replies without blocking, when they arrive later', async () => {
    const t = new ScriptedTransport(kernelFailing(new Map([[0, [19]]])));
    t.delayRecvs = 1;
    const s = new Session(t, 'test');
    const res = await s.exclusive(() => s.batch(2, encodeN(), (i) => `r${i}`));
    expect(res.map((e) => e?.errnoName)).toEqual(['ENODEV', undefined]);
  });

  it('reports requests whose replies were lost to an overrun as ENOBUFS, not as successes', async () => {
    const t = new ScriptedTransport(kernelFailing(new Map([[3, [17]]])));
    const s = new Session(t, 'test');
    await s.exclusive(() => s.batch(3, encodeN(), (i) => `r${i}`));
    t.dropAll = true;
    const res = await s.exclusive(() => s.batch(3, encodeN(), (i) => `r${i}`));
    expect(res.map((e) => e?.errnoName)).toEqual(['ENOBUFS', 'ENOBUFS', 'ENOBUFS']);
    expect(res[1]!.message).toContain('outcome unknown');
  });
});

describe('Session.dump', () => {
  it('collects messages until DONE', async () => {
    const t = new ScriptedTransport((reqs) => {
      const seq = reqs[0]!.seq;
      return [Buffer.concat([dataMsg(seq, 1), dataMsg(seq, 2)]), Buffer.concat([dataMsg(seq, 3), doneMsg(seq)])];
    });
    const s = new Session(t, 'test');
    const got = await s.exclusive(() => s.dump((w, seq) => encodeN()(w, 0, seq), readValue, () => 'dump'));
    expect(got).toEqual([1, 2, 3]);
    expect(t.sends[0]![0]!.flags & C.NLM_F_ACK).toBe(0);
  });

  it('retries a dump the kernel marked interrupted, keeping only the clean attempt', async () => {
    const t = new ScriptedTransport((reqs, n) => {
      const seq = reqs[0]!.seq;
      if (n < 2) return [Buffer.concat([dataMsg(seq, 10 + n), dataMsg(seq, 20 + n, C.NLM_F_MULTI | C.NLM_F_DUMP_INTR), doneMsg(seq)])];
      return [Buffer.concat([dataMsg(seq, 7), doneMsg(seq)])];
    });
    const s = new Session(t, 'test');
    const got = await s.exclusive(() => s.dump((w, seq) => encodeN()(w, 0, seq), readValue, () => 'dump'));
    expect(got).toEqual([7]);
    expect(t.sends).toHaveLength(3);
  });

  it('gives up with EINTR when every attempt is interrupted', async () => {
    const t = new ScriptedTransport((reqs) => [doneMsg(reqs[0]!.seq, C.NLM_F_MULTI | C.NLM_F_DUMP_INTR)]);
    const s = new Session(t, 'test', { dumpAttempts: 3 });
    const err = await s.exclusive(() => s.dump((w, seq) => encodeN()(w, 0, seq), readValue, () => 'route list')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).errnoName).toBe('EINTR');
    expect((err as NetlinkError).request).toBe('route list');
    expect(t.sends).toHaveLength(3);
  });

  it('turns an error reply into a NetlinkError naming the dump', async () => {
    const t = new ScriptedTransport((reqs) => [errorMsg(reqs[0]!.seq, 22, 'Invalid values in header')]);
    const s = new Session(t, 'test');
    const err = await s.exclusive(() => s.dump((w, seq) => encodeN()(w, 0, seq), readValue, () => 'link list')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).message).toBe('link list: EINVAL (invalid argument): Invalid values in header');
  });
});

describe('Session lifecycle', () => {
  it('runs requests one at a time in call order', async () => {
    const t = new ScriptedTransport((reqs) => [doneMsg(reqs[0]!.seq)]);
    t.delayRecvs = 1;
    const s = new Session(t, 'test');
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3].map((k) =>
        s.exclusive(async () => {
          order.push(k);
          await s.dump((w, seq) => encodeN()(w, 0, seq), readValue, () => 'dump');
          order.push(-k);
        }),
      ),
    );
    expect(order).toEqual([1, -1, 2, -2, 3, -3]);
  });

  it('fails a request waiting for its reply when closed, and everything after', async () => {
    const t = new ScriptedTransport(() => []); // the kernel never answers
    const s = new Session(t, 'test handle');
    const p = s.exclusive(() => s.dump((w, seq) => encodeN()(w, 0, seq), readValue, () => 'dump'));
    await new Promise((r) => setTimeout(r, 5));
    s.close();
    await expect(p).rejects.toBeInstanceOf(NetlinkClosedError);
    await expect(s.exclusive(async () => 1)).rejects.toThrow('test handle is closed');
  });
});
