// The device-under-test command of the BGP benchmark (test/bench/bgp.ts): twill-bgp's daemon,
// configured from the JSON that ../shared/bench/bgp-converge.sh writes for DUT=custom
// (bgp-dut-config.ts), so twill-bgp itself needs no benchmark-only option.
//   node dist/test/bench/twill-bgp-dut.js CONFIG.json [--api unix:///path]
import { runDaemon } from '../../bgp/daemon/run-daemon.js';
import { processIo } from '../../src/lib/cli-io.js';
import { EXIT_USAGE } from '../../src/lib/exit-codes.js';
import { loadBenchConfig } from './bgp-dut-config.js';

const [config, flag, api] = process.argv.slice(2);
if (!config || (flag !== undefined && (flag !== '--api' || !api))) {
  process.stderr.write('usage: twill-bgp-dut.js CONFIG.json [--api unix:///path]\n');
  process.exit(EXIT_USAGE);
}
const code = await runDaemon({ config, api: api ?? false, logLevel: 'warn', logFormat: 'json', check: false }, processIo(), { loadConfig: loadBenchConfig });
process.exitCode = code;
setTimeout(() => process.exit(code), 200).unref();
