/**
 * The limits every Task states: a timeout, Retry on named transient errors
 * with capped exponential backoff and jitter, and a Catch into a named path.
 */
import { Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { acknowledge, wildcardResource, nagArn } from '../lib/nag';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { JitterType, type IChainable, type IStateMachine, type TaskInput, Timeout } from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
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
}

/** A Lambda task whose result is the handler's return value, with the house Retry. */
export function lambdaTask(scope: Construct, id: string, props: LambdaTaskProps): LambdaInvoke {
  const task = new LambdaInvoke(scope, id, {
    lambdaFunction: props.fn,
    payload: props.payload,
    payloadResponseOnly: true,
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

/** Catch everything the Retry did not absorb, keeping the input and adding `$.error`. */
export function catchInto<T extends { addCatch(handler: IChainable, props?: object): unknown }>(task: T, handler: IChainable): T {
  task.addCatch(handler, { errors: ['States.ALL'], resultPath: '$.error' });
  return task;
}

/**
 * The state machine role may invoke any version of its task functions
 * (`<arn>:*`), which CDK grants and cdk-nag flags; acknowledge exactly those.
 */
export function acknowledgeFunctionInvokes(machine: IConstruct, functions: IFunction[]): void {
  const ids = functions.map((fn) => {
    const cfn = fn.node.defaultChild as CfnElement;
    return wildcardResource(`<${Stack.of(fn).getLogicalId(cfn)}.Arn>:*`);
  });
  acknowledge(machine, ids, 'Step Functions invokes the task functions by ARN; the :* grant covers their versions and aliases only.');
  acknowledge(
    machine,
    [wildcardResource('*')],
    'X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and friends) support no resource-level permissions.',
  );
}

/**
 * `.sync` child executions need Describe/StopExecution on the child's
 * executions, whose names are made at run time (`execution:<machine>*`).
 */
export function acknowledgeChildExecutions(machine: IConstruct, children: IStateMachine[]): void {
  const ids = children.map((child) => {
    const logicalId = Stack.of(child).getLogicalId(child.node.defaultChild as CfnElement);
    return wildcardResource(
      `${nagArn(machine, 'states')}execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId}"}]}]}*`,
    );
  });
  acknowledge(machine, ids, 'startExecution.sync must describe and stop the child executions it starts, whose names are made at run time.');
}
