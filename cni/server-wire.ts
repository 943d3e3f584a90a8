// How a call travels to the CNI server and its answer back, in the two framings the server
// reads. Pure: bytes in, values out.
//
// json (the Node client, src/cni/thin.cts): one JSON CniRequest; the answer is one JSON CniAnswer.
// sh (the POSIX sh client, src/cni/thin-client.sh, which cannot write JSON):
//   request  "TWILL-CNI-SH/1 EXPLICIT NETNS\n" + the environment as /proc/PID/environ holds it
//            (KEY=VALUE, each ended by NUL) + one more NUL + stdin; EXPLICIT is 1 or 0
//   answer   "EXIT CODE\n" + stdout, or "NOTSERVED REASON\n" (the client then runs the call itself)

import type { CniOutput } from './plugin.js';

/** What a client sends: its CNI_* / TWILL_* environment, stdin, and where it runs. */
export interface CniRequest {
  env: Record<string, string>;
  stdin: string;
  /** The client's network namespace (ownNetns()). */
  netns?: string;
  /** Did the configuration (or $TWILL_CNI_SOCKET) name the socket? */
  explicit?: boolean;
}

/**
 * The answer; `notServed` (with exit code -1) tells the client to run the call itself: a server
 * reached through the default socket serves only calls from its own network namespace, as the
 * veth must be made where the client runs (several twill-nodes on one machine, each in its own
 * namespace, share /run/twill); a socket named explicitly is served from anywhere. An ADD or
 * CHECK whose CNI_NETNS the server cannot see is not served either.
 */
export interface CniAnswer extends CniOutput {
  notServed?: string;
}

export type Framing = 'json' | 'sh';

const SH_MAGIC = 'TWILL-CNI-SH/1 ';

/** The variables a call carries (as the Node client sends them). */
function callVariable(name: string): boolean {
  return name.startsWith('CNI_') || name.startsWith('TWILL_');
}

/** Reads a request in either framing; throws (a message saying what is wrong) on a malformed one. */
export function decodeRequest(buf: Buffer): { req: CniRequest; framing: Framing } {
  if (buf.subarray(0, SH_MAGIC.length).toString('latin1') !== SH_MAGIC) {
    return { req: JSON.parse(buf.toString('utf8')) as CniRequest, framing: 'json' };
  }
  const eol = buf.indexOf(10);
  if (eol < 0) throw new Error('sh request without its header line');
  const header = buf.subarray(SH_MAGIC.length, eol).toString('utf8');
  const sp = header.indexOf(' ');
  const flag = sp < 0 ? header : header.slice(0, sp);
  if (flag !== '0' && flag !== '1') throw new Error(`sh request header "${header}": expected "EXPLICIT NETNS" with EXPLICIT 0 or 1`);
  const netns = sp < 0 ? '' : header.slice(sp + 1);
  const env: Record<string, string> = {};
  let pos = eol + 1;
  for (;;) {
    const nul = buf.indexOf(0, pos);
    if (nul < 0) throw new Error('sh request: the environment is not ended by an empty entry');
    if (nul === pos) {
      pos++;
      break;
    }
    const entry = buf.subarray(pos, nul).toString('utf8');
    const eq = entry.indexOf('=');
    if (eq > 0 && callVariable(entry.slice(0, eq))) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    pos = nul + 1;
  }
  const req: CniRequest = { env, stdin: buf.subarray(pos).toString('utf8'), explicit: flag === '1', ...(netns !== '' ? { netns } : {}) };
  return { req, framing: 'sh' };
}

/** The answer in the framing the request came in. */
export function encodeAnswer(a: CniAnswer, framing: Framing): string {
  if (framing === 'json') return JSON.stringify(a);
  if (a.notServed !== undefined) return `NOTSERVED ${a.notServed.replace(/\n/g, ' ')}\n`;
  return `EXIT ${a.exitCode}\n${a.stdout}`;
}
