/**
 * Benchmark 4 of issue #13: fleetwave side by side with Ansible (Debian's
 * `ansible` package) on the same kind of real lab hosts (the same scripts in
 * bash, embedded mode): bench/ansible/upgrade.yml, the playbook an operator
 * would write (serial waves in fleetwave's wave order, max_fail_percentage 0,
 * local connection, forks = the fleet's concurrency), against a FleetRollout
 * of an identical fleet. Then one injected failure (the canary's schema sync
 * fails) on a fresh pair of fleets, and what each leaves behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { planWaves } from '../core/waves';
import { documentName } from '../ssm-documents';
import { HOST_STEPS } from '../core/models';
import { createLabFleet, startLabHosts, type LabFleetHost, type LabHostSpec } from '../lab/fleet';
import { dataChecksums, hostEnv, runningVersions, setFaults } from '../lab/hosts';
import { waveRounds } from './ideal';
import { runRollout, startBenchLab, type BenchLab } from './lab-bench';
import { loadedNow, formatFigure, formatSeconds, type Machine } from './report';
import { FROM_VERSION, TO_VERSION } from './orchestration';

export interface AnsibleBenchOptions {
  root: string;
  hosts: number;
  concurrency: number;
  machine: Machine;
  log: (line: string) => void;
}

const PLAYBOOK = resolve(import.meta.dirname, 'ansible', 'upgrade.yml');

export function ansibleVersion(): string | null {
  const r = spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : null;
}

const specs = (prefix: string, n: number): LabHostSpec[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i === 0 ? 's' : 'p'}${i}`, tier: i === 0 ? 'staging' : 'production', mode: 'embedded', version: FROM_VERSION }));

/** The hosts in wave order and each wave's size, as FleetRollout plans them. */
function waveOrder(fleetId: string, hosts: LabFleetHost[]): { ordered: LabFleetHost[]; sizes: number[]; canary: LabFleetHost } {
  const waves = planWaves(fleetId, hosts.map((h) => ({ id: h.id, tier: h.tier })));
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const ordered = waves.flatMap((w) => w.hostIds.map((id) => byId.get(id)!));
  const canaryId = waves.find((w) => w.name === 'canary')?.hostIds[0] ?? ordered[0]!.id;
  return { ordered, sizes: waves.map((w) => w.hostIds.length).filter((n) => n > 0), canary: byId.get(canaryId)! };
}

/** Each document's runCommand as the stack deploys it, one script per step. */
function writeScripts(b: BenchLab, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const docs = new Map(Object.values(b.lab.template.documents).map((d) => [d.name, d.content as { mainSteps: { inputs: { runCommand: string[] } }[] }]));
  for (const step of HOST_STEPS) {
    const doc = docs.get(documentName(step));
    if (doc) writeFileSync(join(dir, `${step}.sh`), `${doc.mainSteps[0]!.inputs.runCommand.join('\n')}\n`);
  }
}

async function runPlaybook(dir: string, name: string, ordered: LabFleetHost[], sizes: number[], forks: number): Promise<{ wallMs: number; ok: boolean; tail: string }> {
  const scripts = join(dir, 'scripts');
  const hostVars: Record<string, Record<string, string>> = {};
  for (const h of ordered) {
    const env = await hostEnv(h.root);
    hostVars[h.id] = { host_root: h.root, compose_dir: h.composeDir, health_url: h.healthUrl, backup_dir: join(h.root, 'ansible-backup'), scripts, lab_path: env.PATH, ansible_python_interpreter: '/usr/bin/python3' };
  }
  const inventory = join(dir, `${name}-inventory.json`);
  writeFileSync(inventory, JSON.stringify({ all: { children: { semaphor: { hosts: hostVars } } } }, null, 2));
  const t0 = performance.now();
  let out = '';
  const code = await new Promise<number>((res) => {
    const child = spawn('ansible-playbook', ['-i', inventory, '-f', String(forks), '-e', JSON.stringify({ waves: sizes, version: TO_VERSION }), PLAYBOOK], {
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false', ANSIBLE_RETRY_FILES_ENABLED: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (c) => res(c ?? 1));
  });
  writeFileSync(join(dir, `${name}.log`), out);
  return { wallMs: performance.now() - t0, ok: code === 0, tail: out.slice(out.lastIndexOf('PLAY RECAP')).trim().replace(/\s+/g, ' ').slice(0, 600) };
}

interface Aftermath {
  failedRestored: boolean;
  failedVersion: string;
  others: { upgraded: number; untouched: number; total: number };
}

async function aftermath(hosts: LabFleetHost[], failed: LabFleetHost, before: Map<string, Record<string, string>>): Promise<Aftermath> {
  const version = (h: LabFleetHost) => Object.values(runningVersions(h.root))[0] ?? 'stopped';
  const restored = JSON.stringify(await dataChecksums(failed.root)) === JSON.stringify(before.get(failed.id)) && version(failed) === FROM_VERSION;
  const others = hosts.filter((h) => h.id !== failed.id);
  const upgraded = others.filter((h) => version(h) === TO_VERSION).length;
  return { failedRestored: restored, failedVersion: version(failed), others: { upgraded, untouched: others.length - upgraded, total: others.length } };
}

const describe = (a: Aftermath) =>
  `failed host ${a.failedRestored ? `restored (data checksums as before, on ${FROM_VERSION})` : `NOT restored (running ${a.failedVersion}, data ${'changed'})`}; other hosts: ${a.others.upgraded} of ${a.others.total} upgraded, ${a.others.untouched} left on ${FROM_VERSION}`;

export async function ansibleBench(o: AnsibleBenchOptions): Promise<string[]> {
  const version = ansibleVersion();
  if (!version) throw new Error('ansible-playbook is not installed: apt-get install -y ansible');
  const lines: string[] = [];
  const bench = await startBenchLab(o.root, 'ansible', 0.1, o.log);
  const dir = join(o.root, 'ansible', 'play');
  mkdirSync(dir, { recursive: true });
  writeScripts(bench, join(dir, 'scripts'));
  const size = `${o.hosts} real lab hosts (embedded), concurrency ${o.concurrency}, ${version}`;
  try {
    // the clean rollout, each tool on its own identical fleet
    const fw = await createLabFleet(bench.lab, 'fwclean', specs('fwclean', o.hosts), { concurrency: o.concurrency });
    bench.hosts.push(...fw);
    o.log(`ansible: fleetwave rollout of ${o.hosts} hosts`);
    const fwRun = await runRollout(bench, 'fwclean', TO_VERSION);
    const an = await startLabHosts(bench.lab, specs('anclean', o.hosts));
    bench.hosts.push(...an);
    const plan = waveOrder('anclean', an);
    o.log(`ansible: ansible-playbook on ${o.hosts} hosts, serial ${plan.sizes.join(',')}`);
    const anRun = await runPlaybook(dir, 'clean', plan.ordered, plan.sizes, o.concurrency);
    const rounds = waveRounds(plan.sizes, o.concurrency).reduce((a, b) => a + b, 0);
    lines.push(formatFigure({ name: 'ansible vs fleetwave, wall time', measured: `fleetwave ${fwRun.status} in ${formatSeconds(fwRun.wallMs)} vs ansible-playbook ${anRun.ok ? 'ok' : 'FAILED'} in ${formatSeconds(anRun.wallMs)}; fleetwave / ansible`, ratio: fwRun.wallMs / anRun.wallMs, dataSize: size, machine: loadedNow(o.machine) }));
    lines.push(formatFigure({ name: 'ansible vs fleetwave, per host on the critical path', measured: `fleetwave ${formatSeconds(fwRun.wallMs / rounds)} vs ansible ${formatSeconds(anRun.wallMs / rounds)} (wall / ${rounds} rounds of waves ${plan.sizes.join('/')})`, dataSize: size, machine: loadedNow(o.machine) }));
    if (!anRun.ok) lines.push(`  (ansible: ${anRun.tail})`);

    // one injected failure: the canary's schema sync fails
    const fwF = await createLabFleet(bench.lab, 'fwfail', specs('fwfail', o.hosts), { concurrency: o.concurrency });
    bench.hosts.push(...fwF);
    const anF = await startLabHosts(bench.lab, specs('anfail', o.hosts));
    bench.hosts.push(...anF);
    const fwPlan = waveOrder('fwfail', fwF);
    const anPlan = waveOrder('anfail', anF);
    const before = new Map<string, Record<string, string>>();
    for (const h of [...fwF, ...anF]) before.set(h.id, await dataChecksums(h.root));
    await setFaults(fwPlan.canary.root, { schemaSyncFails: true });
    await setFaults(anPlan.canary.root, { schemaSyncFails: true });
    o.log('ansible: the failure case, both tools');
    const fwFail = await runRollout(bench, 'fwfail', TO_VERSION);
    const anFail = await runPlaybook(dir, 'fail', anPlan.ordered, anPlan.sizes, o.concurrency);
    const fwLeft = await aftermath(fwF, fwPlan.canary, before);
    const anLeft = await aftermath(anF, anPlan.canary, before);
    lines.push(formatFigure({ name: 'injected failure (canary schema sync fails), fleetwave', measured: `rollout ${fwFail.status} in ${formatSeconds(fwFail.wallMs)}: ${describe(fwLeft)}`, dataSize: size, machine: loadedNow(o.machine) }));
    lines.push(formatFigure({ name: 'injected failure (canary schema sync fails), ansible', measured: `playbook ${anFail.ok ? 'ok' : 'failed'} in ${formatSeconds(anFail.wallMs)}: ${describe(anLeft)}; a full local backup left in each touched host's ansible-backup/`, dataSize: size, machine: loadedNow(o.machine) }));
  } finally {
    await bench.close();
  }
  return lines;
}
