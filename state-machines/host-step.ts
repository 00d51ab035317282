/**
 * One host step as states: send the SSM command, then wait and poll until the
 * command is terminal, then record the outcome in the registry.
 *
 *   Send<X> ─► Wait<X> ─► Poll<X> ─► <X>Done? ──Pending──► Wait<X>
 *                                          └──otherwise──► Record<X> ─► (caller's Choice on $.verdict)
 *
 * The poll loop is capped by the command's deadline: poll-step reports
 * `TimedOut` once it passes, whatever SSM still says.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Choice, Condition, JsonPath, TaskInput, Wait, WaitTime, type IChainable, type INextable, type State } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { HostStep } from '../core/models';
import { catchInto, lambdaTask } from './task-policy';

export interface HostStepFunctions {
  readonly sendStep: IFunction;
  readonly pollStep: IFunction;
  readonly recordStep: IFunction;
}

export interface HostStepProps {
  readonly step: HostStep;
  /** Distinguishes two uses of one step in a machine (e.g. `Verify` health check). */
  readonly label?: string;
  readonly functions: HostStepFunctions;
  /** How often a running SSM command is polled. Default 5 s. */
  readonly pollInterval?: Duration;
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
    const send = catchInto(
      lambdaTask(scope, `Send${name}`, {
        fn: props.functions.sendStep,
        comment: `Send the ${props.step} SSM command (idempotent on run and step)`,
        payload: TaskInput.fromObject({
          'run.$': '$.run',
          step: props.step,
          ...(props.extra ? { extra: props.extra } : {}),
        }),
        resultPath: '$.command',
        timeout: Duration.seconds(60),
      }),
      props.onError,
      caught,
    );
    const wait = new Wait(scope, `Wait${name}`, { time: WaitTime.duration(props.pollInterval ?? Duration.seconds(5)) });
    const poll = catchInto(
      lambdaTask(scope, `Poll${name}`, {
        fn: props.functions.pollStep,
        comment: `Read the ${props.step} command's status; InvocationDoesNotExist is Pending`,
        payload: TaskInput.fromObject({ 'run.$': '$.run', 'command.$': '$.command' }),
        resultPath: `$.steps.${key}`,
        timeout: Duration.seconds(60),
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
    const done = new Choice(scope, `${name}Done`)
      .when(Condition.stringEquals(`$.steps.${key}.status`, 'Pending'), wait)
      .otherwise(this.record);
    send.next(wait);
    wait.next(poll);
    poll.next(done);
    this.startState = send;
  }

  /** Continue after the outcome is recorded (the caller branches on `$.verdict`). */
  next(next: IChainable): void {
    this.record.next(next);
  }
}

/** `$.verdict.ok == true` */
export const verdictOk = (): Condition => Condition.booleanEquals('$.verdict.ok', true);
export const jsonPathOf = JsonPath.stringAt;
