/**
 * The limits every Task states: a timeout, Retry on named transient errors
 * with backoff, and a Catch into a named path. Every Lambda task, child
 * execution and Catch of the state machines is built here.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Fail,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Timeout,
  type CatchProps,
  type Chain,
  type IChainable,
  type IStateMachine,
  type TaskInput,
  type TaskStateBase,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/**
 * Errors worth retrying: Lambda service hiccups and throttling, SDK
 * throttling surfaced by a handler, and the handlers' own `TransientError`s
 * (a registry connection reset, say). Anything else is a real outcome.
 */
export const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'ThrottlingException',
  'TooManyUpdates',
  'TransientError',
] as const;

export interface LambdaTaskProps {
  readonly fn: IFunction;
  readonly payload: TaskInput;
  /** Where the handler's return value goes in the state (`DISCARD` keeps the input). */
  readonly resultPath: string;
  readonly timeout?: Duration;
  readonly comment?: string;
  /** Shape the handler's result before it is placed at `resultPath`. */
  readonly resultSelector?: Record<string, unknown>;
  /**
   * Wait for a callback (`.waitForTaskToken`): the payload carries
   * `JsonPath.taskToken`, the result is what SendTaskSuccess sends, and the
   * task fails with States.HeartbeatTimeout after `heartbeat` without a
   * SendTaskHeartbeat.
   */
  readonly callback?: { readonly heartbeat: Duration };
}

/** A Lambda task whose result is the handler's return value, with the house Retry. */
export function lambdaTask(scope: Construct, id: string, props: LambdaTaskProps): LambdaInvoke {
  const task = new LambdaInvoke(scope, id, {
    lambdaFunction: props.fn,
    payload: props.payload,
    ...(props.callback
      ? { integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN, heartbeatTimeout: Timeout.duration(props.callback.heartbeat) }
      : { payloadResponseOnly: true }),
    retryOnServiceExceptions: false,
    resultPath: props.resultPath,
    resultSelector: props.resultSelector,
    taskTimeout: Timeout.duration(props.timeout ?? Duration.seconds(120)),
    comment: props.comment,
  });
  task.addRetry({
    errors: [...TRANSIENT_ERRORS],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: JitterType.FULL,
  });
  return task;
}

export interface CatchOptions {
  /** Default `States.ALL`; a narrower catch must be added before the `States.ALL` one. */
  readonly errors?: string[];
  /**
   * Where the error goes (default `$.error`). A handler on a failure path
   * puts its own error elsewhere (`$.finishError`) so the original survives.
   */
  readonly resultPath?: string;
}

/** Catch what the Retry did not absorb, keeping the input and adding the error at `$.error`. */
export function catchInto<T extends { addCatch(handler: IChainable, props?: CatchProps): unknown }>(
  task: T,
  handler: IChainable,
  options: CatchOptions = {},
): T {
  task.addCatch(handler, { errors: options.errors ?? ['States.ALL'], resultPath: options.resultPath ?? '$.error' });
  return task;
}

/**
 * A task that records how the execution ends: on success it goes on to
 * `then`; when the recording itself fails, to `broken` (a loud Fail or a
 * skip), with that second error at `resultPath` so `$.error` stays the first.
 */
export function finishing(task: TaskStateBase, then: IChainable, broken: IChainable, resultPath = '$.finishError'): Chain {
  return catchInto(task, broken, { resultPath }).next(then);
}

/** Fail with the error a Catch put at `$.error`, unchanged. */
export function failWithCaughtError(scope: Construct, id: string): Fail {
  return new Fail(scope, id, { errorPath: JsonPath.stringAt('$.error.Error'), causePath: JsonPath.stringAt('$.error.Cause') });
}

/**
 * Errors a `startExecution.sync:2` task retries: the child could not be
 * started or watched, never a child that ran and failed (that is
 * `States.TaskFailed`, which goes to the Catch).
 * - `StepFunctions.ExecutionLimitExceeded`: too many open executions; AWS's
 *   own nested-workflow example retries exactly this error:
 *   https://docs.aws.amazon.com/step-functions/latest/dg/concepts-nested-workflows.html
 * - `StepFunctions.AWSStepFunctionsException` / `StepFunctions.SdkClientException`:
 *   a 500 from the Step Functions API, or a client call that failed. AWS
 *   publishes no error list for this integration; these follow the
 *   `<Service>.<SDK exception>` names it documents as the transient errors of
 *   its Lambda integration (`Lambda.AWSLambdaException`, `Lambda.SdkClientException`:
 *   https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html),
 *   `AWSStepFunctionsException` being the SDK's base class of Step Functions
 *   service errors.
 */
export const CHILD_EXECUTION_ERRORS = [
  'StepFunctions.ExecutionLimitExceeded',
  'StepFunctions.SdkClientException',
  'StepFunctions.AWSStepFunctionsException',
] as const;

export interface ChildExecutionProps {
  readonly stateMachine: IStateMachine;
  readonly input: TaskInput;
  /** Execution name; a deterministic one makes a retried start return the running child. */
  readonly name?: string;
  readonly comment?: string;
  /** How long the child may run before this task fails with `States.Timeout`. */
  readonly timeout: Duration;
  readonly resultSelector?: Record<string, unknown>;
  readonly resultPath: string;
  /** Where a child that failed, timed out or could not be started goes, with `$.error`. */
  readonly onError: IChainable;
}

/**
 * A child execution (`startExecution.sync:2`, linked to its parent) with the
 * one Retry and Catch every child of fleetwave has.
 */
export function childExecution(scope: Construct, id: string, props: ChildExecutionProps): StepFunctionsStartExecution {
  const task = new StepFunctionsStartExecution(scope, id, {
    stateMachine: props.stateMachine,
    integrationPattern: IntegrationPattern.RUN_JOB,
    associateWithParent: true,
    comment: props.comment,
    name: props.name,
    input: props.input,
    resultSelector: props.resultSelector,
    resultPath: props.resultPath,
    taskTimeout: Timeout.duration(props.timeout),
  });
  task.addRetry({ errors: [...CHILD_EXECUTION_ERRORS], interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
  return catchInto(task, props.onError);
}
