/**
 * `npm run bench [-- <benchmark> [options]]`: fleetwave's benchmarks
 * (issue #13), each a ratio measured in one run, each line naming the
 * machine's cores and the data size. Every benchmark writes its section of
 * docs/benchmarks.md with the command that reproduces it (--no-write: print
 * only). Not part of `npm test`; on the shared machine run it through
 * /work/bin/heavy.
 *
 *   npm run bench                           planning, then overhead, scale, backup, ansible
 *   npm run bench -- planning
 *   npm run bench -- overhead --hosts 20,100 --step-seconds 2
 *   npm run bench -- scale --hosts 1000 --wait-scale 0.25 --cap-minutes 20
 *   npm run bench -- backup --size-mb 1024
 *   npm run bench -- ansible --hosts 6 --concurrency 2
 */
import { durationsBench } from './durations';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { overheadBench, scaleBench, type OrchestrationOptions } from './orchestration';
import { planningBench } from './planning';
import { dataBench } from './data-bench';
import { ansibleBench } from './ansible-bench';
import { thisMachine, upsertSection, type Section } from './report';

const DOC = resolve(import.meta.dirname, '..', 'docs', 'benchmarks.md');
const machine = thisMachine();
const verbose = process.argv.includes('--verbose');
// the Lambda functions' own log lines (`[function] {...}`) only with --verbose
const log = (line: string) => {
  if (!verbose && line.startsWith('[')) return;
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

const hostList = (v: string): number[] => {
  const list = v.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000)) {
    throw new InvalidArgumentError('give host counts as whole numbers from 1 to 10000, separated by commas (e.g. 20,100)');
  }
  return list;
};
const secondsList = (v: string): number[] => {
  const list = v.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 8 * 86_400)) {
    throw new InvalidArgumentError('give step durations as whole seconds from 1 to 691200 (8 days), separated by commas (e.g. 10,600,21600)');
  }
  return list;
};
const positive = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a number above 0`);
  return n;
};
const whole = (what: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be a whole number of at least ${min}`);
  return n;
};

function write(write: boolean, section: Omit<Section, 'at'>): void {
  for (const l of section.lines) console.log(l);
  if (!write) return;
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  writeFileSync(DOC, upsertSection(doc, { ...section, at: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC' }));
  log(`wrote the ${section.key} section of docs/benchmarks.md`);
}

function benchRoot(dir: string | undefined): string {
  const root = resolve(dir ?? join(tmpdir(), 'fleetwave-bench'));
  mkdirSync(root, { recursive: true });
  return root;
}

const program = new Command('bench').description('fleetwave benchmarks (issue #13)').option('--no-write', 'print only; leave docs/benchmarks.md alone').option('--dir <dir>', 'working folder (default: $TMPDIR/fleetwave-bench)')
  .option('--verbose', "print the Lambda functions' log lines too");

const orchestrationOptions = (cmd: Command, defaults: { hosts: string; stepSeconds: string; waitScale: string; concurrency: string; cap: string }) =>
  cmd
    .option('--hosts <list>', 'host counts, comma-separated', hostList, hostList(defaults.hosts))
    .option('--step-seconds <s>', 'simulated duration of every host step', positive('--step-seconds'), Number(defaults.stepSeconds))
    .option('--wait-scale <f>', 'the lab time scale: steps, polls and bake all last this fraction of their time', positive('--wait-scale'), Number(defaults.waitScale))
    .option('--concurrency <n>', "the fleet's concurrency", whole('--concurrency', 1), Number(defaults.concurrency))
    .option('--bake-minutes <n>', "the fleet's bake after each wave", whole('--bake-minutes', 0), 0)
    .option('--cap-minutes <n>', 'stop a rollout after this many real minutes', positive('--cap-minutes'), Number(defaults.cap));

type OrchFlags = { hosts: number[]; stepSeconds: number; waitScale: number; concurrency: number; bakeMinutes: number; capMinutes: number };
const orch = (f: OrchFlags): OrchestrationOptions => ({ root: benchRoot(program.opts().dir), machine, log, ...f });
const commandLine = (name: string, f: OrchFlags) =>
  `npm run bench -- ${name} --hosts ${f.hosts.join(',')} --step-seconds ${f.stepSeconds} --wait-scale ${f.waitScale} --concurrency ${f.concurrency} --bake-minutes ${f.bakeMinutes} --cap-minutes ${f.capMinutes}`;

const DEFAULTS = {
  overhead: { hosts: '20,100', stepSeconds: '2', waitScale: '1', concurrency: '10', cap: '30' },
  scale: { hosts: '1000', stepSeconds: '2', waitScale: '0.25', concurrency: '50', cap: '30' },
  backup: { sizeMb: 1024, modes: ['embedded', 'external'] as ('embedded' | 'external')[] },
  ansible: { hosts: 6, concurrency: 2 },
};
const defaultsOf = (d: typeof DEFAULTS.overhead): OrchFlags => ({ hosts: hostList(d.hosts), stepSeconds: Number(d.stepSeconds), waitScale: Number(d.waitScale), concurrency: Number(d.concurrency), bakeMinutes: 0, capMinutes: Number(d.cap) });

async function runPlanning(): Promise<void> {
  write(program.opts().write, { key: 'planning', title: 'Planning and the lab docker call', command: 'npm run bench -- planning', lines: await planningBench(machine) });
}

// one section per host count, so each size keeps its own figures and reproducing command
async function runOverhead(f: OrchFlags): Promise<void> {
  for (const n of f.hosts) {
    const one = { ...f, hosts: [n] };
    write(program.opts().write, {
      key: `overhead-${n}`,
      title: `1. Orchestration overhead, ${n} hosts`,
      command: commandLine('overhead', one),
      lines: await overheadBench(orch(one)),
      notes: [
        'Ideal = Σ over waves ⌈hosts/concurrency⌉ × host time + bake after each wave (bench/ideal.ts); host time = steps per host × step time.',
        'The hosts are simulated agents (lab/ssm/sim-agent.ts) answering each document after the fixed step time: this measures orchestration (state machines, Lambda tasks, SSM polling, registry), not the host scripts.',
      ],
    });
  }
}

async function runScale(f: OrchFlags): Promise<void> {
  for (const n of f.hosts) {
    const one = { ...f, hosts: [n] };
    write(program.opts().write, {
      key: `scale-${n}`,
      title: `2. Scale, ${n} hosts`,
      command: commandLine('scale', one),
      lines: await scaleBench(orch(one)),
      notes: ['THIS MEASURES ORCHESTRATION ONLY: the hosts are simulated agents (lab/ssm/sim-agent.ts) that answer each document with a valid result line after the fixed step time, without bash or docker. The real scripts are tested in test/integration and test/workflows.'],
    });
  }
}

async function runBackup(f: { sizeMb: number; modes: ('embedded' | 'external')[] }): Promise<void> {
  write(program.opts().write, {
    key: `backup-${f.sizeMb}mb`,
    title: `3. Backup and restore speed, ${f.sizeMb} MiB per mode`,
    command: `npm run bench -- backup --size-mb ${f.sizeMb} --modes ${f.modes.join(',')}`,
    lines: await dataBench({ root: benchRoot(program.opts().dir), sizeMb: f.sizeMb, modes: f.modes, machine, log }),
    notes: [
      "Real lab hosts: the Backup and Restore documents run in bash with real tar / pg_dump / pg_restore, streaming to and from the lab S3 (s3rver) through presigned URLs. Step time is SSM's ExecutionStartDateTime..ExecutionEndDateTime of the command; raw runs use the same data and, for restore, the very archive the backup made.",
      'Ratio = raw time / step time (1.0 = as fast as raw). The embedded backup includes stopping and starting the services; the restore includes extracting beside the volume, checking and swapping it in.',
    ],
  });
}

async function runAnsible(f: { hosts: number; concurrency: number }): Promise<void> {
  write(program.opts().write, {
    key: 'ansible',
    title: '4. Side by side with Ansible',
    command: `npm run bench -- ansible --hosts ${f.hosts} --concurrency ${f.concurrency}`,
    lines: await ansibleBench({ root: benchRoot(program.opts().dir), hosts: f.hosts, concurrency: f.concurrency, machine, log }),
    notes: [
      'The playbook is bench/ansible/upgrade.yml: serial waves in the order FleetRollout plans them, max_fail_percentage 0, local connection, forks = concurrency, the same document scripts (each document\'s runCommand as deployed) with the same parameters; its backup is a local `tar -cz` of the volume (no S3), its rescue restores that and fails the host.',
      'Per host on the critical path = wall time / Σ over waves ⌈hosts/concurrency⌉: the same host work for both tools, so the difference is each tool\'s own per-host overhead.',
    ],
  });
}

const modes = (v: string): ('embedded' | 'external')[] => {
  const list = v.split(',').map((s) => s.trim());
  if (list.length === 0 || list.some((m) => m !== 'embedded' && m !== 'external')) throw new InvalidArgumentError('modes are embedded and/or external, separated by commas');
  return list as ('embedded' | 'external')[];
};

async function runDurations(f: { stepSeconds: number[]; realStepSeconds: number }): Promise<void> {
  write(program.opts().write, {
    key: 'durations',
    title: 'Cost of one host upgrade as its steps get longer (issue #11)',
    command: `npm run bench -- durations --step-seconds ${f.stepSeconds.join(',')} --real-step-seconds ${f.realStepSeconds}`,
    lines: await durationsBench({ root: benchRoot(program.opts().dir), machine, log, ...f }),
    notes: [
      "One simulated host (lab/ssm/sim-agent.ts) through FleetRollout, RolloutBatch and HostUpgrade; each duration in a lab of its own whose time scale makes a step last the given real seconds, so Wait states, timeouts, heartbeats and session expiry are compressed alike and stay in force. Transitions and events are the HostUpgrade execution's own history. Flat across durations is the goal: a host step waits for its command's status-change event (waitForTaskToken) instead of polling.",
      'Added latency = (HostUpgrade real duration − Σ real step time) / steps: what the Lambda tasks, SSM delivery, the status-change event and the registry add to every step.',
    ],
  });
}

program.command('planning').description('wave planning and the lab docker call').action(runPlanning);
orchestrationOptions(program.command('overhead').description('rollout wall time vs the ideal critical path (simulated agents)'), DEFAULTS.overhead).action(runOverhead);
orchestrationOptions(program.command('scale').description('a large fleet through the real state machines (simulated agents)'), DEFAULTS.scale).action(runScale);
program
  .command('durations')
  .description('state transitions, history events and added latency of one host upgrade for step durations of 10 s, 10 min and 6 h (simulated agent)')
  .option('--step-seconds <list>', 'simulated seconds per step, comma-separated', secondsList, secondsList('10,600,21600'))
  .option('--real-step-seconds <s>', 'real seconds each step lasts (sets each lab time scale)', positive('--real-step-seconds'), 2)
  .action(runDurations);
program
  .command('backup')
  .description('backup and restore throughput vs raw tar / pg_dump / pg_restore (real host scripts)')
  .option('--size-mb <n>', 'generated data per mode, MiB', whole('--size-mb', 4), DEFAULTS.backup.sizeMb)
  .option('--modes <list>', 'embedded,external', modes, DEFAULTS.backup.modes)
  .action(runBackup);
program
  .command('ansible')
  .description('the same upgrade as an Ansible playbook vs fleetwave, and one injected failure (real host scripts)')
  .option('--hosts <n>', 'hosts per fleet (4 fleets: clean and failing, one per tool)', whole('--hosts', 2), DEFAULTS.ansible.hosts)
  .option('--concurrency <n>', "the fleet's concurrency and Ansible's forks", whole('--concurrency', 1), DEFAULTS.ansible.concurrency)
  .action(runAnsible);

// no sub-command: every benchmark in order, each with its defaults
program.action(async () => {
  await runPlanning();
  await runOverhead(defaultsOf(DEFAULTS.overhead));
  await runDurations({ stepSeconds: [10, 600, 21600], realStepSeconds: 2 });
  await runScale(defaultsOf(DEFAULTS.scale));
  await runBackup(DEFAULTS.backup);
  await runAnsible(DEFAULTS.ansible);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // a missing tool or a failed run: its sentence, not a stack trace
  process.stderr.write(`bench: ${(err as Error).message ?? String(err)}\n`);
  process.exitCode = 1;
}
