/**
 * The tasks FleetRollout, RolloutRollback and RolloutBatch share: a call of
 * the rollout function (one function, the event's `action` says which job),
 * and RunBatch, the RolloutBatch child of the two parents.
 */
import type { RunKind } from '../core/models';
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { JsonPath, TaskInput, type IChainable, type IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { childExecution, lambdaTask } from './task-policy';

export interface RolloutTaskProps {
  readonly action: string;
  readonly comment: string;
  /** The rest of the event, after `action`. */
  readonly input: Record<string, unknown>;
  readonly resultPath: string;
  /** Default 60 s. */
  readonly timeout?: Duration;
}

/** One action of the rollout function (docs/contracts.md), with the house Retry. */
export function rolloutTask(scope: Construct, id: string, fn: IFunction, props: RolloutTaskProps): LambdaInvoke {
  return lambdaTask(scope, id, {
    fn,
    comment: props.comment,
    payload: TaskInput.fromObject({ action: props.action, ...props.input }),
    resultPath: props.resultPath,
    timeout: props.timeout ?? Duration.seconds(60),
  });
}

/** The parent's RunBatch task: one RolloutBatch child for the hosts in `$.batch.items`. */
export function runBatchTask(
  scope: Construct,
  batch: IStateMachine,
  mode: RunKind,
  wave: number | string,
  onError: IChainable,
): StepFunctionsStartExecution {
  return childExecution(scope, 'RunBatch', {
    stateMachine: batch,
    input: TaskInput.fromObject({
      rollout: JsonPath.objectAt('$.rollout'),
      wave,
      mode,
      items: JsonPath.listAt('$.batch.items'),
    }),
    resultPath: JsonPath.DISCARD,
    timeout: Duration.hours(24),
    onError,
  });
}
