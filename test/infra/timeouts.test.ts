/**
 * Timeouts nest, read from the synthesized template:
 *   step deadline < its task's timeout < the child execution's timeout
 *   < the parent's remaining time < the lease TTL.
 * An execution-level timeout cannot be caught inside the execution
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html:
 * catchers are "not for top-level state machine execution failures"), so every
 * bound inside a machine must be reached, and handled, before the machine's own.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BeginRunEnv, SendStepEnv } from '../../lambdas/shared/env';
import { STEP_EXECUTION_TIMEOUT_SECONDS } from '../../core/host-steps/parameters';
import { HostStep } from '../../core/models';
import { definitionOf, synthApp, type AslDefinition, type AslState, type Synthesized } from '../support/synth';
import { functionTimeouts, invokedFunction, taskWorstSeconds, worstPath } from '../support/time-bounds';

let s: Synthesized;
let upgrade: AslDefinition;
let rollback: AslDefinition;
let batch: AslDefinition;
let fnTimeouts: Map<string, number>;

beforeAll(() => {
  s = synthApp();
  upgrade = definitionOf(s, 'HostUpgrade');
  rollback = definitionOf(s, 'HostRollback');
  batch = definitionOf(s, 'RolloutBatch');
  fnTimeouts = functionTimeouts(s);
}, 120_000);

const envOf = (prefix: string): Record<string, string> => {
  const found = Object.entries(s.json.Resources).filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one function ${prefix}*, found ${found.length}`);
  return (found[0]![1].Properties.Environment?.Variables ?? {}) as Record<string, string>;
};

/** send-step's deadline for a step: delivery timeout + the step's execution bound + grace (core/host-steps/send-step.ts stepDeadline). */
const stepDeadlineSeconds = (step: HostStep): number => {
  const env = envOf('TasksSendStep');
  const delivery = SendStepEnv.shape.DELIVERY_TIMEOUT_SECONDS.parse(env.DELIVERY_TIMEOUT_SECONDS);
  const grace = SendStepEnv.shape.DEADLINE_GRACE_SECONDS.parse(env.DEADLINE_GRACE_SECONDS);
  return delivery + STEP_EXECUTION_TIMEOUT_SECONDS[step] + grace;
};

const leaseTtlSeconds = (): number => BeginRunEnv.shape.LEASE_TTL_SECONDS.parse(envOf('TasksBeginRun').LEASE_TTL_SECONDS);

/** Task states that send one host step (their payload names the step). */
const hostStepTasks = (def: AslDefinition): [string, AslState, HostStep][] =>
  Object.entries(def.States).flatMap(([name, st]) => {
    const payload = (st.Parameters as { Payload?: Record<string, unknown> } | undefined)?.Payload;
    const step = HostStep.safeParse(payload?.step);
    return st.Type === 'Task' && invokedFunction(st)?.startsWith('TasksSendStep') && step.success ? [[name, st, step.data] as [string, AslState, HostStep]] : [];
  });

/** A state of the definition or of one of its Map states' item processors. */
const stateNamed = (def: AslDefinition, name: string): AslState | undefined =>
  def.States[name] ??
  Object.values(def.States)
    .map((st) => (st as { ItemProcessor?: AslDefinition }).ItemProcessor)
    .filter((p): p is AslDefinition => p !== undefined)
    .map((p) => stateNamed(p, name))
    .find((x) => x !== undefined);

const childTask = (def: AslDefinition, name: string): AslState => {
  const st = stateNamed(def, name);
  if (!st || !String(st.Resource).includes('states:startExecution')) throw new Error(`${name} is not a child execution task`);
  return st;
};

const hours = (seconds: number) => `${(seconds / 3600).toFixed(2)} h`;

describe('timeouts nest', () => {
  it('every host step task outlasts its command deadline, so the deadline is reported as an outcome, not a task timeout', () => {
    for (const def of [upgrade, rollback]) {
      const steps = hostStepTasks(def);
      expect(steps.length).toBeGreaterThan(0);
      for (const [name, st, step] of steps) {
        expect(st.TimeoutSeconds, `${name} TimeoutSeconds vs the ${step} deadline ${stepDeadlineSeconds(step)} s`).toBeGreaterThan(stepDeadlineSeconds(step));
      }
    }
  });

  it('a waiting step hears from the safety poll several times per HeartbeatSeconds, and the heartbeat ends before the task timeout', () => {
    const rules = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::Events::Rule' && typeof r.Properties.ScheduleExpression === 'string');
    const poll = rules.map((r) => /^rate\((\d+) minutes?\)$/.exec(String(r.Properties.ScheduleExpression))).find((m) => m !== null);
    expect(poll, 'a rate(N minutes) safety-poll rule').toBeTruthy();
    const pollSeconds = Number(poll![1]) * 60;
    for (const def of [upgrade, rollback]) {
      for (const [name, st] of hostStepTasks(def)) {
        const heartbeat = st.HeartbeatSeconds as number;
        expect(heartbeat, `${name} HeartbeatSeconds`).toBeGreaterThanOrEqual(3 * pollSeconds);
        expect(heartbeat, `${name} HeartbeatSeconds`).toBeLessThan(st.TimeoutSeconds!);
      }
    }
  });

  it('the step deadline covers the document\'s own execution timeout', () => {
    const docs = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::SSM::Document');
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      const name = String(doc.Properties.Name);
      const step = HostStep.options.find((x) => name.endsWith(x.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')));
      if (!step) continue;
      const content = doc.Properties.Content as { mainSteps: { inputs: { timeoutSeconds?: number } }[] };
      for (const main of content.mainSteps) expect(main.inputs.timeoutSeconds ?? 3600, name).toBeLessThanOrEqual(STEP_EXECUTION_TIMEOUT_SECONDS[step]);
    }
  });

  it('HostRollback ends within its own timeout on its longest path', () => {
    const worst = worstPath(rollback, fnTimeouts);
    expect(worst.seconds, `longest path ${hours(worst.seconds)}: ${worst.states.join(' → ')}`).toBeLessThan(rollback.TimeoutSeconds!);
  });

  it('the Restore task waits longer than the HostRollback child may run, so the child\'s own end is what the parent sees', () => {
    expect(childTask(upgrade, 'Restore').TimeoutSeconds, `Restore task vs HostRollback ${hours(rollback.TimeoutSeconds!)}`).toBeGreaterThan(rollback.TimeoutSeconds!);
  });

  it('HostUpgrade ends within its own timeout on its longest path, the restore included', () => {
    const worst = worstPath(upgrade, fnTimeouts);
    expect(worst.states).toContain('Restore');
    expect(worst.seconds, `longest path ${hours(worst.seconds)}: ${worst.states.join(' → ')}`).toBeLessThan(upgrade.TimeoutSeconds!);
  });

  it('the host lease outlives any HostUpgrade or HostRollback execution', () => {
    const ttl = leaseTtlSeconds();
    expect(upgrade.TimeoutSeconds, `HostUpgrade ${hours(upgrade.TimeoutSeconds!)} vs lease TTL ${hours(ttl)}`).toBeLessThan(ttl);
    expect(rollback.TimeoutSeconds, `HostRollback ${hours(rollback.TimeoutSeconds!)} vs lease TTL ${hours(ttl)}`).toBeLessThan(ttl);
  });

  it('RolloutBatch waits longer for each child than the child may run', () => {
    expect(childTask(batch, 'UpgradeHost').TimeoutSeconds).toBeGreaterThan(upgrade.TimeoutSeconds!);
    expect(childTask(batch, 'RollbackHost').TimeoutSeconds).toBeGreaterThan(rollback.TimeoutSeconds!);
  });

  it('derives the bounds it checks (a task without TimeoutSeconds has no bound)', () => {
    expect(() => taskWorstSeconds('X', { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke' }, fnTimeouts)).toThrow(/no TimeoutSeconds/);
    const loop: AslDefinition = { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Choice', Choices: [{ Next: 'A' }], Default: 'C' }, C: { Type: 'Succeed' } } };
    expect(() => worstPath(loop, fnTimeouts)).toThrow(/cycle through A → B → A/);
  });
});
