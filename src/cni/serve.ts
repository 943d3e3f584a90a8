// `twill-cni serve [--socket /run/twill/cni.sock]`: the standalone CNI server, for hosts whose
// twill-node does not serve CNI calls itself (twill-node --cni-socket ""). The server is
// cni/server.ts; this is the program around it (arguments, signals).
import { DEFAULT_CNI_SOCKET } from '../nodeapi/defaults.js';
import { startCniServer } from '../../cni/server.js';
import { errorMessage } from '../errors.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../lib/exit-codes.js';

export async function runServe(argv: string[]): Promise<number> {
  let socket = DEFAULT_CNI_SOCKET;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--socket' && argv[i + 1] !== undefined) socket = argv[++i] as string;
    else if (a?.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else {
      process.stderr.write(`twill-cni serve: unknown argument ${a}\nusage: twill-cni serve [--socket ${DEFAULT_CNI_SOCKET}]\n`);
      return EXIT_USAGE;
    }
  }
  let server;
  try {
    server = await startCniServer({ socket });
  } catch (e) {
    process.stderr.write(`twill-cni serve: ${errorMessage(e)}\n`);
    return EXIT_FAILED;
  }
  process.stdout.write(`twill-cni serving on ${socket}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.close();
  return EXIT_OK;
}
