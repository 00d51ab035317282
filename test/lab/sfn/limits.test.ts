/**
 * The lab's Step Functions and Lambda are no kinder than AWS: one time scale
 * for every duration (lab/clock.ts), the 25,000-event history quota, the
 * 256 KiB payload quota (States.DataLimitExceeded, terminal), the counts a
 * test reads (state transitions, history events), and Lambda's timeout
 * measured from the end of the Init phase. Hand-written definitions, in
 * process; AWS pages cited in lab/sfn/limits.ts and lab/sfn/lambda-runtime.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { labClock, type LabClock } from '../../../lab/clock';
import { StepFunctionsEngine } from '../../../lab/sfn/api';
import { createLambdaRuntime } from '../../../lab/sfn/lambda-runtime';
import { MAX_HISTORY_EVENTS } from '../../../lab/sfn/limits';
import type { LabFunction } from '../../../lab/template';
import { arnOf, templateWith } from './engine-support';

const noLambda = createLambdaRuntime({ functions: [] });
const engines: StepFunctionsEngine[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(async () => {
  await noLambda.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});


async function engineFor(machines: Record<string, object>, clock?: LabClock): Promise<StepFunctionsEngine> {
  const engine = new StepFunctionsEngine({ template: templateWith(machines), lambda: noLambda, ...(clock ? { clock } : {}) });
  await engine.ready();
  engines.push(engine);
  return engine;
}

const BIG = 'arn:aws:states:::aws-sdk:lab:big';
const FLAKY = 'arn:aws:states:::aws-sdk:lab:flaky';
const HOLD = 'arn:aws:states:::aws-sdk:lab:hold.waitForTaskToken';
const SLOW = 'arn:aws:states:::aws-sdk:lab:slow';
/** Everything caught: what a limit must get past. */
const CATCH_ALL = [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }];

describe('one time scale', () => {
  it('compresses Task TimeoutSeconds, HeartbeatSeconds and the execution TimeoutSeconds alike', async () => {
    // one simulated hour lasts one real second
    const clock = labClock(1 / 3600, { minRealLimitMs: 100 });
    const engine = await engineFor(
      {
        TaskHour: { StartAt: 'Hold', States: { Hold: { Type: 'Task', Resource: HOLD, TimeoutSeconds: 3600, End: true } } },
        BeatHour: { StartAt: 'Hold', States: { Hold: { Type: 'Task', Resource: HOLD, HeartbeatSeconds: 3600, End: true } } },
        RunTwoHours: { TimeoutSeconds: 7200, StartAt: 'Hold', States: { Hold: { Type: 'Task', Resource: HOLD, End: true } } },
      },
      clock,
    );
    engine.registerSdkIntegration(HOLD.replace('.waitForTaskToken', ''), () => ({}));
    const started = Date.now();
    const runs = ['TaskHour', 'BeatHour', 'RunTwoHours'].map((m) => engine.startExecution({ stateMachineArn: arnOf(m) }).executionArn);
    const [task, beat, run] = await Promise.all(runs.map((arn) => engine.waitForExecution(arn, 20_000)));
    const took = (d: { stopDate?: number } | undefined) => d!.stopDate! - started;

    expect(task).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(beat).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(run).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    for (const d of [task, beat]) {
      expect(took(d)).toBeGreaterThanOrEqual(950);
      expect(took(d)).toBeLessThan(1_950); // before the execution's two hours
    }
    expect(took(run)).toBeGreaterThanOrEqual(1_950);
    expect(took(run)).toBeLessThan(10_000);
  });

  it('gives HeartbeatSeconds the floor of a limit on real-speed work: the heartbeats come from a Lambda running at real speed', async () => {
    // One simulated hour is 0.5 real s, below the work floor of 2 s (and above the waiting floor of 0.1 s).
    // run-events' safety poll sends the heartbeats at real speed: a 10-minute heartbeat at 1/50 (12 s)
    // was missed on two loaded cores, failing steps AWS would finish (faults suites, "timed-out at preflight").
    const clock = labClock(1 / 7200, { minRealLimitMs: 100, minRealWorkLimitMs: 2_000 });
    const engine = await engineFor({ BeatHour: { StartAt: 'Hold', States: { Hold: { Type: 'Task', Resource: HOLD, HeartbeatSeconds: 3600, End: true } } } }, clock);
    engine.registerSdkIntegration(HOLD.replace('.waitForTaskToken', ''), () => ({}));
    const started = Date.now();
    const { executionArn } = engine.startExecution({ stateMachineArn: arnOf('BeatHour') });
    const beat = await engine.waitForExecution(executionArn, 20_000);
    expect(beat).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(beat!.stopDate! - started).toBeGreaterThanOrEqual(1_950);
    expect(beat!.stopDate! - started).toBeLessThan(10_000);
  });
});

describe('the history quota', () => {
  it(`fails an execution at ${MAX_HISTORY_EVENTS} events with States.Runtime, past every Catch, the closing event last`, async () => {
    const engine = await engineFor({
      Forever: {
        StartAt: 'Guard',
        States: {
          // A Parallel whose branch loops for ever, with a Catch for everything around it.
          Guard: {
            Type: 'Parallel',
            Catch: CATCH_ALL,
            End: true,
            Branches: [{ StartAt: 'Spin', States: { Spin: { Type: 'Pass', Next: 'Again' }, Again: { Type: 'Choice', Choices: [{ Variable: '$.n', IsPresent: true, Next: 'Spin' }], Default: 'Stop' }, Stop: { Type: 'Succeed' } } }],
          },
          Caught: { Type: 'Succeed' },
        },
      },
    });
    const { executionArn } = engine.startExecution({ stateMachineArn: arnOf('Forever'), input: '{"n":1}' });
    const d = await engine.waitForExecution(executionArn, 50_000);

    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.Runtime');
    expect(d.cause).toContain(`maximum number of events in its history (${MAX_HISTORY_EVENTS})`);
    const { events } = engine.getExecutionHistory({ executionArn, maxResults: 1000, reverseOrder: true });
    expect(events[0]).toMatchObject({ id: MAX_HISTORY_EVENTS, type: 'ExecutionFailed' });
    expect(engine.executionMetrics(executionArn).historyEvents).toBe(MAX_HISTORY_EVENTS);
    // no Catch ran
    const caught = pages(engine, executionArn).some((e) => e.type === 'SucceedStateEntered');
    expect(caught).toBe(false);
  }, 60_000);
});

/** Every event of an execution, through the API's paging. */
function pages(engine: StepFunctionsEngine, executionArn: string): Array<{ type: string }> {
  const out: Array<{ type: string }> = [];
  let nextToken: string | undefined;
  do {
    const page = engine.getExecutionHistory({ executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) });
    out.push(...page.events);
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

describe('the payload quota', () => {
  it('fails the execution with States.DataLimitExceeded when a task returns more than 256 KiB, past Retry and Catch', async () => {
    const engine = await engineFor({
      Big: {
        StartAt: 'Fetch',
        States: {
          Fetch: { Type: 'Task', Resource: BIG, Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 2 }], Catch: CATCH_ALL, End: true },
          Caught: { Type: 'Succeed' },
        },
      },
    });
    let calls = 0;
    engine.registerSdkIntegration(BIG, (params: { bytes: number }) => {
      calls += 1;
      return { blob: 'x'.repeat(params.bytes) };
    });
    // just under the quota (the JSON text {"blob":"…"} is 11 bytes longer) passes
    const fits = engine.startExecution({ stateMachineArn: arnOf('Big'), input: JSON.stringify({ bytes: 256 * 1024 - 11 }) }).executionArn;
    expect(await engine.waitForExecution(fits, 10_000)).toMatchObject({ status: 'SUCCEEDED' });

    calls = 0;
    const tooBig = engine.startExecution({ stateMachineArn: arnOf('Big'), input: JSON.stringify({ bytes: 256 * 1024 }) }).executionArn;
    const d = await engine.waitForExecution(tooBig, 10_000);
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.DataLimitExceeded');
    expect(d.cause).toBe(
      "the output of task state Fetch is 262155 bytes, more than the 262144 bytes (256 KiB) Step Functions allows for a task's or state's input or output.",
    );
    expect(calls).toBe(1); // not retried
    expect(pages(engine, tooBig).some((e) => e.type === 'SucceedStateEntered')).toBe(false); // not caught
  });
});

describe('inline Map concurrency', () => {
  it('runs at most 40 iterations at once, whatever MaxConcurrency or MaxConcurrencyPath asks, and no more than they ask', async () => {
    const map = (concurrency: Record<string, unknown>) => ({
      StartAt: 'Each',
      States: {
        Each: { Type: 'Map', ItemsPath: '$.items', ...concurrency, ItemProcessor: { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: SLOW, End: true } } }, End: true },
      },
    });
    const engine = await engineFor({
      Unbounded: map({ MaxConcurrency: 0 }),
      Hundred: map({ MaxConcurrency: 100 }),
      FromInput: map({ MaxConcurrencyPath: '$.concurrency' }),
    });
    let running = 0;
    let peak = 0;
    engine.registerSdkIntegration(SLOW, async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 150));
      running -= 1;
      return {};
    });
    const items = Array.from({ length: 90 }, (_, i) => i);
    for (const [machine, input] of [
      ['Unbounded', { items }],
      ['Hundred', { items }],
      ['FromInput', { items, concurrency: 100 }],
      ['FromInput', { items: items.slice(0, 20), concurrency: 7 }],
    ] as const) {
      peak = 0;
      const { executionArn } = engine.startExecution({ stateMachineArn: arnOf(machine), input: JSON.stringify(input) });
      const d = await engine.waitForExecution(executionArn, 30_000);
      expect(d.status, `${machine} ${d.cause ?? ''}`).toBe('SUCCEEDED');
      expect(JSON.parse(d.output!)).toHaveLength(input.items.length);
      expect(peak, machine).toBe(Math.min(40, 'concurrency' in input ? input.concurrency : 40));
    }
  }, 60_000);
});

describe('the counts a test reads', () => {
  it('counts a state transition per state entered and per retry, and every history event', async () => {
    const engine = await engineFor({
      Steps: {
        StartAt: 'One',
        States: {
          One: { Type: 'Pass', Next: 'Try' },
          Try: { Type: 'Task', Resource: FLAKY, Retry: [{ ErrorEquals: ['Lab.Flaky'], IntervalSeconds: 1, MaxAttempts: 3 }], Next: 'Done' },
          Done: { Type: 'Succeed' },
        },
      },
    }, labClock(0.01));
    let failures = 2;
    engine.registerSdkIntegration(FLAKY, () => {
      if (failures-- > 0) throw Object.assign(new Error('not yet'), { name: 'Flaky' });
      return {};
    });
    const { executionArn } = engine.startExecution({ stateMachineArn: arnOf('Steps') });
    const d = await engine.waitForExecution(executionArn, 10_000);
    expect(d, d.cause).toMatchObject({ status: 'SUCCEEDED' });
    // One, Try, Done entered; Try retried twice
    expect(engine.executionMetrics(executionArn)).toEqual({ stateTransitions: 5, historyEvents: pages(engine, executionArn).length });
  });
});

describe("Lambda's timeout on the lab's clock", () => {
  // 15 simulated minutes (Lambda's maximum) last 3 real seconds; the 10 s Init limit gets the 2 s floor
  const clock = labClock(1 / 300, { minRealLimitMs: 2_000 });
  const root = mkdtempSync(join(tmpdir(), 'fw-lambda-time-'));
  dirs.push(root);
  const handlerFile = join(root, 'slow.js');
  // a one-second Init (module load), then a handler that sleeps as long as it is told
  writeFileSync(
    handlerFile,
    `const until = Date.now() + 1000; while (Date.now() < until) {}
exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return { slept: e.ms }; };`,
  );
  const fn = (name: string): LabFunction => ({
    logicalId: name,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    functionName: name,
    handlerFile,
    handlerExport: 'handler',
    env: {},
    timeoutSeconds: 900,
    memoryMb: 128,
    runtime: 'nodejs22.x',
  });
  const runtime = createLambdaRuntime({ functions: [fn('Cold'), fn('Late')], clock, onLog: () => undefined });
  afterAll(() => runtime.close());

  it('runs a handler within the scaled timeout, the Init phase not counted, and fails one past it with Sandbox.Timedout', async () => {
    // Init 1 s + handler 2.5 s: over the 3 s timeout only if the Init counted
    const cold = await runtime.invoke('Cold', { ms: 2_500 });
    expect(cold.functionError).toBeUndefined();
    expect(cold.payload).toEqual({ slept: 2_500 });

    const started = Date.now();
    const late = await runtime.invoke('Late', { ms: 6_000 });
    expect(late.functionError).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: expect.stringContaining('Task timed out after 900.00 seconds') });
    // 1 s Init + the 3 s timeout
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_900);
    expect(Date.now() - started).toBeLessThan(5_800);
    expect(runtime.stats('Late').timeouts).toBe(1);
  }, 30_000);
});
