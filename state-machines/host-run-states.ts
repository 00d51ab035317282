/**
 * The states HostUpgrade and HostRollback share around one host run: Init,
 * begin-run (a refusal fails the execution with the handler's error),
 * finish-run, and the Fails that end a run. The events are those of
 * docs/contracts.md (begin-run, finish-run).
 */
import type { RunKind } from '../core/models';
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Fail, JsonPath, Pass, TaskInput } from 'aws-cdk-lib/aws-stepfunctions';
import type { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { catchInto, failWithCaughtError, lambdaTask } from './task-policy';

/** Keep the input and make room for what the run records. */
export function hostRunInit(scope: Construct): Pass {
  return new Pass(scope, 'Init', {
    // CDK drops null literals from Parameters, so "nothing yet" is an empty object
    parameters: { 'input.$': '$', backup: {}, steps: {}, verdict: {}, error: {} },
  });
}

export interface BeginRunProps {
  readonly kind: RunKind;
  readonly comment: string;
  readonly resultPath: string;
  readonly resultSelector?: Record<string, unknown>;
}

/** begin-run; whatever it refuses (unknown host, host locked, ...) ends the execution in `Refused` with its error. */
export function beginRunTask(scope: Construct, id: string, fn: IFunction, props: BeginRunProps): LambdaInvoke {
  const task = lambdaTask(scope, id, {
    fn,
    comment: props.comment,
    payload: TaskInput.fromObject({ kind: props.kind, 'request.$': '$.input', 'executionArn.$': '$$.Execution.Id' }),
    resultSelector: props.resultSelector,
    resultPath: props.resultPath,
    timeout: Duration.seconds(60),
  });
  return catchInto(task, failWithCaughtError(scope, 'Refused'));
}

export interface FinishRunProps {
  readonly comment: string;
  /** `null`: finish-run classifies the outcome from `failedStep` and the verdict. */
  readonly outcome: string | null;
  /** HostUpgrade's step that failed; absent from HostRollback's events. */
  readonly failedStep?: string | null;
}

/** finish-run: record the run's outcome, release (or keep) the host lease; the run summary goes to `$.summary`. */
export function finishRunTask(scope: Construct, id: string, fn: IFunction, props: FinishRunProps): LambdaInvoke {
  return lambdaTask(scope, id, {
    fn,
    comment: props.comment,
    payload: TaskInput.fromObject({
      'run.$': '$.run',
      'request.$': '$.input',
      outcome: props.outcome,
      ...(props.failedStep === undefined ? {} : { failedStep: props.failedStep }),
      'verdict.$': '$.verdict',
      'error.$': '$.error',
      'backup.$': '$.backup',
      'executionArn.$': '$$.Execution.Id',
    }),
    resultPath: '$.summary',
    timeout: Duration.seconds(60),
  });
}

/** End the execution failed with `error`, the run summary's sentence as the cause. */
export function failWithRunSummary(scope: Construct, error: string): Fail {
  return new Fail(scope, error, { error, causePath: JsonPath.stringAt('$.summary.cause') });
}

/** A finish-run that itself cannot complete must still fail the execution loudly; `cause` tells the operator what to check. */
export function finishRunBroken(scope: Construct, cause: string): Fail {
  return new Fail(scope, 'FinishRunFailed', { error: 'FinishRunFailed', cause });
}
