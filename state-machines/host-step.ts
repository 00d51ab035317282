/**
 * One host step as states: send the SSM command and wait for its end as one
 * `.waitForTaskToken` task, then record the outcome in the registry.
 *
 *   Send<X> ─► Record<X> ─► (caller's Choice on $.verdict)
 *
 * Send<X> invokes send-step with `$$.Task.Token`; send-step sends the command
 * and records the token against it (step_waits). run-events answers the token
 * with the StepOutcome (poll-step's classification) when SSM's status-change
 * event for the command arrives, or when the safety poll finds the command
 * ended or past its deadline (then cancelled, TimedOut). Two states per step
 * whatever the step's duration (docs/decisions/host-step-wait.md). The task's
 * TimeoutSeconds lies past the step's deadline and its HeartbeatSeconds
 * spans several safety polls (state-machines/step-timeouts.ts): both end in
 * the caller's `onError` only when the answering machinery itself is gone.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Condition, JsonPath, TaskInput, type IChainable, type INextable, type State } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { HostStep } from '../core/models';
import { STEP_HEARTBEAT, stepTaskTimeout } from './step-timeouts';
import { catchInto, lambdaTask } from './task-policy';

export interface HostStepFunctions {
  readonly sendStep: IFunction;
  readonly recordStep: IFunction;
}

export interface HostStepProps {
  readonly step: HostStep;
  /** Distinguishes two uses of one step in a machine (e.g. `Verify` health check). */
  readonly label?: string;
  readonly functions: HostStepFunctions;
  /** Payload field `extra` for send-step (JSONPath or literal object). */
  readonly extra?: Record<string, unknown>;
  /** Where any task error goes. */
  readonly onError: IChainable;
  /** Where record-step's verdict goes. Default `$.verdict`. */
  readonly verdictPath?: string;
  /** Where a caught task error goes. Default `$.error`. */
  readonly errorPath?: string;
}

/** `pull-images` → `PullImages` */
export const pascal = (step: string): string =>
  step.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
/** `pull-images` → `pullImages` (JSONPath dot notation cannot hold a dash) */
export const camel = (step: string): string => {
  const p = pascal(step);
  return p.charAt(0).toLowerCase() + p.slice(1);
};

export class HostStepStates {
  readonly startState: State;
  private readonly record: State & INextable;

  constructor(scope: Construct, props: HostStepProps) {
    const name = props.label ?? pascal(props.step);
    const key = camel(props.label ?? props.step);
    const caught = { resultPath: props.errorPath ?? '$.error' };
    const run = catchInto(
      lambdaTask(scope, `Send${name}`, {
        fn: props.functions.sendStep,
        comment: `Send the ${props.step} SSM command (idempotent on run and step) and wait for its end`,
        payload: TaskInput.fromObject({
          'run.$': '$.run',
          step: props.step,
          ...(props.extra ? { extra: props.extra } : {}),
          taskToken: JsonPath.taskToken,
        }),
        resultPath: `$.steps.${key}`,
        timeout: stepTaskTimeout(props.step),
        callback: { heartbeat: STEP_HEARTBEAT },
      }),
      props.onError,
      caught,
    );
    this.record = catchInto(
      lambdaTask(scope, `Record${name}`, {
        fn: props.functions.recordStep,
        comment: `Record the ${props.step} outcome in the registry and classify it`,
        payload: TaskInput.fromObject({
          'run.$': '$.run',
          'outcome.$': `$.steps.${key}`,
          'backup.$': '$.backup',
          'request.$': '$.input',
        }),
        resultPath: props.verdictPath ?? '$.verdict',
        timeout: Duration.seconds(60),
      }),
      props.onError,
      caught,
    );
    run.next(this.record);
    this.startState = run;
  }

  /** Continue after the outcome is recorded (the caller branches on `$.verdict`). */
  next(next: IChainable): void {
    this.record.next(next);
  }
}

/** `$.verdict.ok == true` */
export const verdictOk = (): Condition => Condition.booleanEquals('$.verdict.ok', true);
export const jsonPathOf = JsonPath.stringAt;
