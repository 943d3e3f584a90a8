// The one logger factory for every program: pino, JSON lines on stderr (stdout is kept for the
// program's output); short human lines when stderr is a terminal.
import { writeSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface LoggerOptions {
  level?: LogLevel;
  /** Human-readable lines instead of JSON. Default: when stderr is a TTY. */
  pretty?: boolean;
  /** Where lines go (default: stderr, written synchronously so nothing is lost on exit). */
  destination?: DestinationStream;
  /** Fields on every line besides pid (e.g. `{ node: 'host1' }`). */
  base?: Record<string, unknown>;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One JSON log line as a short human line: "12:00:01.123 INFO  msg key=value ...". */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { level, time, msg, pid: _pid, hostname: _host, ...rest } = o;
  const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const lv = (LEVEL_NAMES[level as number] ?? String(level)).padEnd(5);
  const extra = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${lv} ${typeof msg === 'string' ? msg : ''}${extra ? ` ${extra}` : ''}\n`;
}

const stderrSync: DestinationStream = {
  write(s: string): void {
    writeSync(2, s);
  },
};

export function createLogger(opts: LoggerOptions = {}): Logger {
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  const dest = opts.destination ?? stderrSync;
  const out: DestinationStream = pretty ? { write: (s: string) => dest.write(prettyLine(s.trimEnd())) } : dest;
  return pino({ level: opts.level ?? 'info', base: { pid: process.pid, ...opts.base }, timestamp: pino.stdTimeFunctions.epochTime }, out);
}
