// What a program reads and writes, as one injectable value, so tests run a program in-process.
// stdout carries the program's output (tables, JSON, a CNI result); stderr carries messages and
// logs (src/lib/logger.ts), so output stays clean for a pipe.

export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  /** All of standard input. A Buffer lets binary input be recognised as such. */
  readStdin(): Promise<string | Buffer>;
  env: Record<string, string | undefined>;
}

async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The real process's I/O. */
export function processIo(): CliIo {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    readStdin: readAllStdin,
    env: process.env,
  };
}
