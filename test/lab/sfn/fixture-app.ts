/**
 * A small CDK app shaped like fleetwave's workflows, synthesized by the lab
 * Step Functions tests: a bundled NodejsFunction whose environment references
 * other resources, a parent state machine (LambdaInvoke with Retry/Catch and a
 * task timeout, Choice on `$.status`, Wait with `secondsPath`, a child started
 * with RUN_JOB) and a callback machine (waitForTaskToken, then SNS publish).
 */
import { fileURLToPath } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';

const entry = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

export function synthFixtureApp(outdir: string): void {
  const app = new App({ outdir });
  const stack = new Stack(app, 'SfnLabFixture');
  const bucket = new s3.Bucket(stack, 'Backups');
  const topic = new sns.Topic(stack, 'Alerts');

  const fn = new NodejsFunction(stack, 'Worker', {
    entry,
    runtime: lambda.Runtime.NODEJS_22_X,
    timeout: Duration.seconds(10),
    bundling: { forceDockerBundling: false },
    environment: { BUCKET_NAME: bucket.bucketName, TOPIC_ARN: topic.topicArn },
  });
  // Same code with a 1 s Lambda timeout, for the runtime's timeout behaviour.
  new NodejsFunction(stack, 'ShortWorker', {
    entry,
    functionName: 'fixture-short-worker',
    runtime: lambda.Runtime.NODEJS_22_X,
    timeout: Duration.seconds(1),
    bundling: { forceDockerBundling: false },
  });

  const childWork = new tasks.LambdaInvoke(stack, 'ChildWork', {
    lambdaFunction: fn,
    payload: sfn.TaskInput.fromObject({ 'mode.$': '$.mode', 'value.$': '$.value' }),
    outputPath: '$.Payload',
    retryOnServiceExceptions: false,
  });
  const child = new sfn.StateMachine(stack, 'Child', {
    stateMachineName: 'FixtureChild',
    definitionBody: sfn.DefinitionBody.fromChainable(childWork),
  });

  const done = new sfn.Succeed(stack, 'Done');
  const locked = new sfn.Fail(stack, 'Locked', { error: 'HostLocked', causePath: '$.failure.Cause' });
  const timedOut = new sfn.Fail(stack, 'TimedOut', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' });
  const childFailed = new sfn.Fail(stack, 'ChildFailed', { errorPath: '$.failure.Error', causePath: '$.failure.Cause' });
  const unexpected = new sfn.Fail(stack, 'Unexpected', { error: 'UnexpectedStatus' });

  const work = new tasks.LambdaInvoke(stack, 'Work', {
    lambdaFunction: fn,
    // A path to a missing field is a States.Runtime failure on AWS, so the
    // whole input travels and the function picks what it needs.
    payload: sfn.TaskInput.fromObject({ 'input.$': '$', 'executionId.$': '$$.Execution.Id' }),
    resultSelector: { 'status.$': '$.Payload.status', 'payload.$': '$.Payload', 'statusCode.$': '$.StatusCode' },
    retryOnServiceExceptions: false,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(1)),
  });
  work.addRetry({ errors: ['Lambda.TooManyRequestsException', 'TransientError'], interval: Duration.seconds(1), maxAttempts: 3, backoffRate: 2 });
  work.addCatch(locked, { errors: ['HostLockedError'], resultPath: '$.failure' });
  work.addCatch(timedOut, { errors: ['States.Timeout'], resultPath: '$.failure' });

  const pause = new sfn.Wait(stack, 'Pause', { time: sfn.WaitTime.secondsPath('$.payload.seconds') });
  const runChild = new tasks.StepFunctionsStartExecution(stack, 'RunChild', {
    stateMachine: child,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    input: sfn.TaskInput.fromObject({ 'mode.$': '$.payload.childMode', 'value.$': '$.payload.value' }),
    resultSelector: { 'childOutput.$': '$.Output', 'childArn.$': '$.ExecutionArn' },
  });
  runChild.addCatch(childFailed, { errors: ['States.TaskFailed'], resultPath: '$.failure' });

  const route = new sfn.Choice(stack, 'Route')
    .when(sfn.Condition.stringEquals('$.status', 'done'), done)
    .when(sfn.Condition.stringEquals('$.status', 'wait'), pause.next(done))
    .when(sfn.Condition.stringEquals('$.status', 'child'), runChild.next(done))
    .otherwise(unexpected);

  new sfn.StateMachine(stack, 'Parent', {
    stateMachineName: 'FixtureParent',
    definitionBody: sfn.DefinitionBody.fromChainable(work.next(route)),
  });

  const callback = new tasks.LambdaInvoke(stack, 'AwaitCallback', {
    lambdaFunction: fn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ mode: 'token', token: sfn.JsonPath.taskToken, 'value.$': '$.value' }),
    retryOnServiceExceptions: false,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(20)),
  });
  const notify = new tasks.SnsPublish(stack, 'Notify', {
    topic,
    message: sfn.TaskInput.fromObject({ 'callback.$': '$' }),
    subject: 'fixture callback',
    resultPath: sfn.JsonPath.DISCARD,
  });
  new sfn.StateMachine(stack, 'Callback', {
    stateMachineName: 'FixtureCallback',
    definitionBody: sfn.DefinitionBody.fromChainable(callback.next(notify)),
  });

  app.synth();
}
