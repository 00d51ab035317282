/**
 * Benchmarks 1 and 2 of issue #13, both on simulated agents
 * (lab/ssm/sim-agent.ts) behind the real state machines and tasks:
 *  - overhead: wall time of a full rollout against the ideal critical path;
 *  - scale: a large fleet's wall time, largest history, state transitions,
 *    registry queries per host and peak memory, under a time cap.
 */
import { planWaves } from '../core/waves';
import { idealCriticalPathMs, waveRounds } from './ideal';
import { historyOf, historyStats, memorySampler, registryCalls, runRollout, simFleet, startBenchLab } from './lab-bench';
import { loadedNow, formatBytes, formatFigure, formatSeconds, type Figure, type Machine } from './report';

export const FROM_VERSION = '1.4.0';
export const TO_VERSION = '1.5.0';

export interface OrchestrationOptions {
  root: string;
  hosts: number[];
  /** Simulated duration of every host step, in seconds. */
  stepSeconds: number;
  /** The lab's time compression: real ms = simulated ms × waitScale, for steps, polls and bake alike. */
  waitScale: number;
  concurrency: number;
  bakeMinutes: number;
  /** Stop a rollout that runs longer than this (real minutes). */
  capMinutes: number;
  machine: Machine;
  log: (line: string) => void;
}

const stepsPerHost = (counts: Map<string, number>, hosts: number) => [...counts.values()].reduce((a, b) => a + b, 0) / hosts;

export async function overheadBench(o: OrchestrationOptions): Promise<string[]> {
  const lines: string[] = [];
  const stepMs = o.stepSeconds * 1000 * o.waitScale;
  const bench = await startBenchLab(o.root, 'overhead', o.waitScale, o.log);
  try {
    for (const n of o.hosts) {
      const fleetId = `ovh${n}`;
      const fleet = await simFleet(bench, fleetId, n, stepMs, FROM_VERSION, { concurrency: o.concurrency, bakeMinutes: o.bakeMinutes });
      o.log(`overhead: rolling out ${n} simulated hosts`);
      const run = await runRollout(bench, fleetId, TO_VERSION, o.capMinutes * 60_000);
      const steps = stepsPerHost(fleet.agent.counts, n);
      const waves = planWaves(fleetId, fleet.hostIds.map((id, i) => ({ id, tier: i < Math.max(1, Math.round(n / 20)) ? 'staging' : 'production' })));
      const sizes = waves.map((w) => w.hostIds.length);
      const ideal = idealCriticalPathMs({ waveSizes: sizes, concurrency: o.concurrency, hostMs: steps * stepMs, bakeMs: o.bakeMinutes * 60_000 * o.waitScale });
      const upgraded = fleet.upgraded(TO_VERSION);
      const figure: Figure = {
        name: `overhead, ${n} hosts`,
        measured: `rollout ${run.status}${run.capped ? ' (cap)' : ''} in ${formatSeconds(run.wallMs)} vs ideal ${formatSeconds(ideal)} (waves ${sizes.join('/')}, rounds ${waveRounds(sizes, o.concurrency).join('+')}, concurrency ${o.concurrency}, ${steps.toFixed(1)} steps/host)`,
        ratio: run.wallMs / ideal,
        goal: '≤ 1.05',
        dataSize: `${n} simulated hosts × ${o.stepSeconds} s/step${o.waitScale !== 1 ? ` at time scale ${o.waitScale}` : ''}, bake ${o.bakeMinutes} min`,
        machine: loadedNow(o.machine),
      };
      lines.push(formatFigure(figure));
      o.log(lines.at(-1)!);
      if (run.status !== 'SUCCEEDED') lines.push(`  (rollout ended ${run.status}: ${run.error ?? ''}; ${upgraded} of ${n} hosts on ${TO_VERSION})`);
      else {
        // each wave's RolloutBatch against its own ideal: the first wave carries the lab's Lambda cold starts
        // (every function's worker threads start on the same 2 cores; on AWS each instance starts on its own)
        const batches = historyOf(bench).filter((x) => x.machine.startsWith('RolloutBatch') && x.stopDate !== undefined).sort((a, b) => a.startDate - b.startDate);
        const rounds = waveRounds(sizes, o.concurrency);
        if (batches.length === rounds.length && rounds.length > 1) {
          const per = batches.map((b, i) => ({ wall: b.stopDate! - b.startDate, ideal: rounds[i]! * steps * stepMs }));
          const later = per.slice(1);
          const ratio = later.reduce((a, w) => a + w.wall, 0) / later.reduce((a, w) => a + w.ideal, 0);
          lines.push(
            formatFigure({
              ...figure,
              name: `overhead, ${n} hosts, waves after the first`,
              measured: `each wave's RolloutBatch vs its ideal: ${per.map((w) => `${formatSeconds(w.wall)}/${formatSeconds(w.ideal)}`).join(', ')} (the first wave includes the lab's Lambda cold starts)`,
              ratio,
            }),
          );
          o.log(lines.at(-1)!);
        }
      }
    }
  } finally {
    await bench.close();
  }
  return lines;
}

export async function scaleBench(o: OrchestrationOptions): Promise<string[]> {
  const lines: string[] = [];
  const stepMs = o.stepSeconds * 1000 * o.waitScale;
  for (const n of o.hosts) {
    const bench = await startBenchLab(o.root, `scale-${n}`, o.waitScale, o.log);
    try {
      const fleetId = `scale${n}`;
      const fleet = await simFleet(bench, fleetId, n, stepMs, FROM_VERSION, { concurrency: o.concurrency, bakeMinutes: o.bakeMinutes });
      await registryCalls(bench, true);
      const memory = memorySampler();
      o.log(`scale: rolling out ${n} simulated hosts (cap ${o.capMinutes} min). This measures ORCHESTRATION only: the agents answer without bash or docker.`);
      const run = await runRollout(bench, fleetId, TO_VERSION, o.capMinutes * 60_000);
      const peak = memory.stop();
      const calls = await registryCalls(bench);
      const upgraded = fleet.upgraded(TO_VERSION);
      const h = historyStats(bench);
      const m = o.machine;
      const size = `${n} simulated hosts × ${o.stepSeconds} s/step at time scale ${o.waitScale}, concurrency ${o.concurrency}`;
      const fig = (name: string, measured: string) => formatFigure({ name: `scale ${n} (orchestration only: simulated agents), ${name}`, measured, dataSize: size, machine: loadedNow(m) });
      lines.push(fig('wall time', `${run.status}${run.capped ? ` at the ${o.capMinutes} min cap` : ''} in ${formatSeconds(run.wallMs)}, ${upgraded} of ${n} hosts upgraded${run.error ? ` (${run.error.slice(0, 300)})` : ''}`));
      lines.push(fig('largest history', `${h.largest.events} events (${h.largest.machine} ${h.largest.name}; AWS limit 25,000)`));
      lines.push(fig('state transitions', `${h.stateTransitions} over ${h.executions} executions (${Object.entries(h.byMachine).map(([k, v]) => `${k} ${v}`).join(', ')})`));
      lines.push(fig('registry queries', `${calls} statements, ${(calls / Math.max(1, upgraded)).toFixed(1)} per upgraded host (pg_stat_statements)`));
      lines.push(fig('peak memory', `${formatBytes(peak)} resident (the bench process tree: lab, Lambda worker threads, SSM, Step Functions, s3rver; PostgreSQL, a separate server, not included)`));
      for (const l of lines.slice(-5)) o.log(l);
    } finally {
      await bench.close();
    }
  }
  return lines;
}
