#!/usr/bin/env node
// twill-lab: a whole Twill cluster on one machine (as root). validate / up / status / verify /
// exec / add / remove / stop / start / restart / down / demo. Exit codes: 0 ok, 1 failed (verify disagrees, up failed), 2 usage or a bad model.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { TwillError, errorMessage } from '../errors.js';
import { EXIT_FAILED, EXIT_USAGE, commanderExitCode } from '../lib/exit-codes.js';
import { LabModelError, parseModel, type LabModel } from './model.js';
import { labRestart, labStart, labStop, type ControlResult } from './control.js';
import { labDown } from './down.js';
import { labUp } from './up.js';
import { labAddWorkload, labRemoveWorkload } from './workloads.js';
import type { ServedPort } from './model.js';
import { loadState, resolveLabName, LabStateError } from './state.js';
import { formatReport, verifyLab } from './verify.js';
import { labStatus, formatStatus } from './status.js';

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../manifests/lab');

function readModel(file: string | undefined, example: string | undefined): { model: LabModel; baseDir: string; file: string } {
  const path = example ? join(EXAMPLES, `${example}.yaml`) : file;
  if (!path) throw new TwillError('LabUsage', 'no model given', { hint: 'pass -f MODEL.yaml, or --example zones|zones-frr|xyz' });
  if (!existsSync(path)) throw new TwillError('LabUsage', `${path}: no such file`, { hint: example ? `examples: zones, zones-frr, xyz (in ${EXAMPLES})` : 'check the path' });
  return { model: parseModel(readFileSync(path, 'utf8'), path), baseDir: dirname(resolve(path)), file: path };
}

const say = (s: string): void => void process.stdout.write(`${s}\n`);

async function verifyAndPrint(name: string | undefined, json: boolean): Promise<number> {
  const n = resolveLabName(name);
  const s = loadState(n);
  if (!s) throw new LabStateError(`no lab named ${n}`, 'start one with "twill-lab up"');
  const r = await verifyLab(s);
  process.stdout.write(json ? `${JSON.stringify(r, null, 2)}\n` : formatReport(r, process.stdout.isTTY === true || process.env.FORCE_COLOR === '1'));
  return r.ok ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('twill-lab')
    .description('A whole Twill cluster on one machine: hosts and top-of-rack routers in network namespaces, etcd, twill-node, workloads via twill-cni, live connectivity')
    .exitOverride()
    .showHelpAfterError();
  program
    .command('validate')
    .description('check a lab model and print what it would build')
    .option('-f, --file <model>', 'lab model (YAML)')
    .option('--example <name>', 'a shipped example: zones, zones-frr or xyz')
    .action((o: { file?: string; example?: string }) => {
      const { model, file } = readModel(o.file, o.example);
      say(`${file}: ok — lab ${model.name}: ${model.hosts.length} hosts in ${model.racks.length} rack(s), ${model.workloads.length} workloads in ${model.namespaces.length} namespace(s), ${model.outside.length} outside client(s), ${model.expect.length} expectation(s)`);
    });
  program
    .command('up')
    .description('bring a lab up; returns once every endpoint is programmed and every BGP session is up')
    .option('-f, --file <model>', 'lab model (YAML)')
    .option('--example <name>', 'a shipped example: zones, zones-frr or xyz')
    .option('--name <name>', 'lab name (default: the model\'s); prefixes every namespace')
    .action(async (o: { file?: string; example?: string; name?: string }) => {
      const { model, baseDir } = readModel(o.file, o.example);
      await labUp(model, { baseDir, say, ...(o.name ? { name: o.name } : {}) });
    });
  program
    .command('status')
    .description('hosts (agent, sessions, readiness and why not), routers, workloads')
    .option('--name <name>', 'lab name (default: the one lab that is up)')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (o: { name?: string; output: string }) => {
      const st = await labStatus(resolveLabName(o.name));
      process.stdout.write(o.output === 'json' ? `${JSON.stringify(st, null, 2)}\n` : formatStatus(st));
    });
  program
    .command('verify')
    .description('probe every pair with real TCP and UDP; compare with the model; check every host')
    .option('--name <name>', 'lab name (default: the one lab that is up)')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (o: { name?: string; output: string }) => {
      code = await verifyAndPrint(o.name, o.output === 'json');
    });
  program
    .command('exec')
    .description('run a command in a host (NODE) or a workload (NAMESPACE/WORKLOAD) namespace')
    .argument('<where>')
    .argument('<cmd...>')
    .option('--name <name>', 'lab name')
    .action((where: string, cmd: string[], o: { name?: string }) => {
      const s = loadState(resolveLabName(o.name));
      if (!s) throw new LabStateError('no such lab', 'see "twill-lab status"');
      const ns =
        s.plan.hosts.find((h) => h.name === where)?.ns ??
        s.workloads.find((w) => w.id === where)?.ns ??
        s.plan.outside.find((x) => x.name === where)?.ns ??
        s.plan.tors.find((t) => `tor-${t.rack}` === where)?.ns;
      if (!ns) {
        throw new TwillError('LabUsage', `${where} is not a host, workload, outside client or ToR of lab ${s.name}`, {
          hint: `hosts: ${s.plan.hosts.map((h) => h.name).join(', ')}; workloads: ${s.workloads.map((w) => w.id).join(', ')}`,
        });
      }
      const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, '--', ...cmd], { stdio: 'inherit' });
      code = r.status ?? 1;
    });
  const seconds = (v: string): number => {
    const n = Number(v);
    if (!(Number.isFinite(n) && n > 0)) throw new TwillError('LabUsage', `--timeout ${v} is not a number of seconds`, { hint: 'e.g. --timeout 60' });
    return n;
  };
  const partHelp = 'a host (its twill-node), tor-RACK (its BIRD) or etcd';
  const printed = (r: ControlResult): void => say(`${r.part}: ${r.action}${r.pid !== undefined ? ` (pid ${r.pid})` : ''}`);
  program
    .command('stop')
    .summary('stop one process of the lab (a host\'s twill-node, tor-RACK, etcd): gracefully, or --kill')
    .description('stop one process of a running lab: gracefully (twill-node: SIGTERM, kernel state kept; BIRD: birdc graceful restart, kernel routes kept; etcd: SIGTERM), or as a crash with --kill')
    .argument('<part>', partHelp)
    .option('--kill', 'SIGKILL: a crash, nothing cleaned up')
    .option('--name <name>', 'lab name (default: the one lab that is up)')
    .action(async (part: string, o: { kill?: boolean; name?: string }) => {
      printed(await labStop(resolveLabName(o.name), part, { kill: o.kill === true }));
    });
  program
    .command('start')
    .summary('start a stopped process again; returns once it is back')
    .description('start a stopped process of a running lab again (BIRD in graceful-restart recovery, -R); returns once it is back: a node ready with its sessions Established, a ToR\'s sessions Established, etcd healthy')
    .argument('<part>', partHelp)
    .option('--timeout <seconds>', 'how long to wait for it to be back', '120')
    .option('--name <name>', 'lab name (default: the one lab that is up)')
    .action(async (part: string, o: { timeout: string; name?: string }) => {
      printed(await labStart(resolveLabName(o.name), part, { timeoutS: seconds(o.timeout) }));
    });
  program
    .command('restart')
    .summary('stop (gracefully, or --kill) and start again; returns once it is back')
    .description('stop (gracefully, or --kill) and start again one process of a running lab; returns once it is back')
    .argument('<part>', partHelp)
    .option('--kill', 'stop it with SIGKILL (a crash) instead of gracefully')
    .option('--timeout <seconds>', 'how long to wait for it to be back', '120')
    .option('--name <name>', 'lab name (default: the one lab that is up)')
    .action(async (part: string, o: { kill?: boolean; timeout: string; name?: string }) => {
      for (const r of await labRestart(resolveLabName(o.name), part, { kill: o.kill === true, timeoutS: seconds(o.timeout) })) printed(r);
    });
  const collect = (v: string, prev: string[]): string[] => [...prev, v];
  const servedPort = (v: string): ServedPort => {
    const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(v);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new TwillError('LabUsage', `--port ${v} is not PORT or PORT/tcp|udp`, { hint: 'e.g. --port 80 --port 53/udp' });
    return { port: Number(m[1]), protocol: (m[2] ?? 'tcp').toUpperCase() as ServedPort['protocol'] };
  };
  program
    .command('add')
    .description('add a workload to the running lab through twill-cni (CNI ADD, as a runtime does), with a server on its ports; status and verify include it')
    .argument('<workload>', 'NAMESPACE/NAME (the namespace must be in the model)')
    .requiredOption('--host <host>', 'the host it runs on')
    .option('--label <key=value>', 'a label (repeatable)', collect, [])
    .option('--port <port>', 'a port its server answers on: PORT or PORT/udp (repeatable)', collect, [])
    .option('--name <name>', 'lab name (default: the one lab that is up)')
    .action(async (id: string, o: { host: string; label: string[]; port: string[]; name?: string }) => {
      const [namespace, wname, extra] = id.split('/');
      if (!namespace || !wname || extra !== undefined) throw new TwillError('LabUsage', `${id} is not NAMESPACE/NAME`, { hint: 'e.g. twill-lab add zones/web3 --host h3 --label zone=dmz --port 443' });
      const labels = Object.fromEntries(
        o.label.map((l) => {
          const i = l.indexOf('=');
          if (i <= 0) throw new TwillError('LabUsage', `--label ${l} is not key=value`, { hint: 'e.g. --label zone=dmz' });
          return [l.slice(0, i), l.slice(i + 1)];
        }),
      );
      const ws = await labAddWorkload(resolveLabName(o.name), { name: wname, namespace, host: o.host, labels, ports: o.port.map(servedPort) });
      say(`${ws.id} on ${ws.host}: ${ws.ips.join(', ')}`);
    });
  program
    .command('remove')
    .description('remove a workload from the running lab: its server, CNI DEL through twill-cni, its namespace')
    .argument('<workload>', 'NAMESPACE/NAME')
    .option('--name <name>', 'lab name (default: the one lab that is up)')
    .action(async (id: string, o: { name?: string }) => {
      const w = await labRemoveWorkload(resolveLabName(o.name), id);
      say(`${w.id} removed from ${w.host}`);
    });
  program
    .command('down')
    .description('take a lab down: processes, namespaces, files')
    .option('--name <name>', 'lab name (default: the one lab that is up)')
    .action(async (o: { name?: string }) => {
      const r = await labDown(resolveLabName(o.name));
      say(`lab ${r.name} is down: ${r.stopped} process(es) stopped, ${r.namespaces} namespace(s) deleted`);
    });
  program
    .command('demo')
    .description('up --example zones, verify, and what to try next')
    .action(async () => {
      const { model, baseDir } = readModel(undefined, 'zones');
      if (loadState(model.name)) {
        say(`lab ${model.name} was up: taking it down first`);
        await labDown(model.name);
      }
      await labUp(model, { baseDir, say });
      say('');
      code = await verifyAndPrint(model.name, false);
      const st = loadState(model.name)!;
      const ip = (id: string): string => st.workloads.find((w) => w.id === id)?.ips[0] ?? '<ip>';
      say(`Try next:
  twill-lab status                                         # hosts, BGP sessions, workloads
  twill-lab exec client -- nc -w1 ${ip('zones/web1')} 443        # the outside reaches the DMZ …
  twill-lab exec client -- nc -w1 -v ${ip('zones/db1')} 5432     # … but not the backend
  twillctl --datastore ${st.datastore} policy explain --from zones/web1 --to zones/db1 --port 5432
  twillctl node status --api-socket ${st.dir}/h1.sock    # h1's BGP sessions
  twill-lab stop h3 --kill; twill-lab start h3             # crash h3's agent: traffic keeps flowing
  twill-lab restart tor-r1                                 # the ToR's BIRD: graceful restart holds its routes
  twill-lab down                                           # leaves nothing behind`);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const parsed = commanderExitCode(e);
    if (parsed !== undefined) return parsed;
    if (e instanceof LabModelError) {
      process.stderr.write(`${e.message}\n`);
      return EXIT_USAGE; // the config file the command line names is wrong
    }
    process.stderr.write(`twill-lab: ${errorMessage(e)}\n`);
    return EXIT_FAILED;
  }
  return code;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  setTimeout(() => process.exit(code), 500).unref();
}
