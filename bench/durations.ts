/**
 * Issue #11's benchmark: what one host upgrade costs in Step Functions as its
 * steps get longer. A happy-path HostUpgrade of one simulated host
 * (lab/ssm/sim-agent.ts) whose every document takes the same simulated time,
 * for step durations of 10 s, 10 min and 6 h; each in a lab of its own whose
 * one time scale makes that step last `realStepSeconds` of real time, so every
 * limit stays in force (lab/clock.ts) while six simulated hours take seconds.
 *
 * Per upgrade: state transitions (StateEntered events, what Step Functions
 * bills: https://aws.amazon.com/step-functions/pricing/) and history events
 * (capped at 25,000 per execution:
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html),
 * which should not grow with the step time; and the latency the orchestration
 * adds per step: (the execution's real duration − Σ the steps' real time) /
 * steps, in real seconds (the lab compresses waiting, not the work of Lambda
 * tasks, SSM and the registry).
 */
import { historyOf, runRollout, simFleet, startBenchLab } from './lab-bench';
import { FROM_VERSION, TO_VERSION } from './orchestration';
import { formatFigure, loadedNow, type Machine } from './report';

export interface DurationsOptions {
  root: string;
  /** Simulated seconds per host step. */
  stepSeconds: number[];
  /** Real seconds each step lasts (sets each lab's time scale). */
  realStepSeconds: number;
  machine: Machine;
  log: (line: string) => void;
}

const human = (s: number) => (s >= 3600 ? `${+(s / 3600).toFixed(2)} h` : s >= 60 ? `${+(s / 60).toFixed(2)} min` : `${s} s`);

export async function durationsBench(o: DurationsOptions): Promise<string[]> {
  const lines: string[] = [];
  for (const seconds of o.stepSeconds) {
    const scale = Math.min(1, o.realStepSeconds / seconds);
    const bench = await startBenchLab(o.root, `durations-${seconds}`, scale, o.log);
    try {
      const stepMs = seconds * 1000 * scale;
      const fleet = await simFleet(bench, `dur${seconds}`, 1, stepMs, FROM_VERSION, { concurrency: 1, bakeMinutes: 0 });
      o.log(`durations: one host upgrade with ${human(seconds)} per step (time scale ${scale.toPrecision(3)})`);
      const run = await runRollout(bench, fleet.fleetId, TO_VERSION, 15 * 60_000);
      const upgrades = historyOf(bench).filter((x) => x.machine.startsWith('HostUpgrade'));
      const steps = [...fleet.agent.counts.values()].reduce((a, b) => a + b, 0);
      const size = `1 simulated host, ${steps} steps × ${human(seconds)} (time scale ${scale.toPrecision(3)}: ${o.realStepSeconds} s real per step)`;
      const u = upgrades[0];
      if (run.status !== 'SUCCEEDED' || upgrades.length !== 1 || !u || u.stopDate === undefined) {
        lines.push(formatFigure({ name: `durations ${human(seconds)}/step`, measured: `rollout ${run.status}${run.error ? ` (${run.error.slice(0, 300)})` : ''}, ${upgrades.length} HostUpgrade executions`, dataSize: size, machine: loadedNow(o.machine) }));
      } else {
        const wallMs = u.stopDate - u.startDate;
        const simulatedHours = (steps * seconds) / 3600;
        lines.push(
          formatFigure({
            name: `durations ${human(seconds)}/step, per host upgrade`,
            measured: `${u.transitions} state transitions, ${u.events} history events (${u.status}; ${simulatedHours.toFixed(2)} simulated hours of steps; AWS history limit 25,000)`,
            dataSize: size,
            machine: loadedNow(o.machine),
          }),
        );
        lines.push(
          formatFigure({
            name: `durations ${human(seconds)}/step, added latency`,
            measured: `${((wallMs - steps * stepMs) / steps / 1000).toFixed(2)} s real per step (execution ${(wallMs / 1000).toFixed(1)} s real for ${steps} steps of ${(stepMs / 1000).toFixed(1)} s)`,
            dataSize: size,
            machine: loadedNow(o.machine),
          }),
        );
      }
      for (const l of lines.slice(-2)) o.log(l);
    } finally {
      await bench.close();
    }
  }
  return lines;
}
