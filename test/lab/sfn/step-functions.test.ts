/**
 * The lab's Step Functions fidelity test: a CDK app synthesized once, its
 * state machines run by the lab engine behind a real HTTP endpoint, driven
 * with the ordinary @aws-sdk/client-sfn. Each assertion cites the AWS
 * behaviour it mirrors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaRuntime, type LambdaRuntime } from '../../../lab/sfn/lambda-runtime';
import { startStepFunctions, type StepFunctionsLab } from '../../../lab/sfn/server';
import { labClock } from '../../../lab/clock';
import { loadCloudAssembly, type LabTemplate } from '../../../lab/template';
import { synthFixtureApp } from './fixture-app';

let outdir: string;
let template: LabTemplate;
let lambda: LambdaRuntime;
let lab: StepFunctionsLab;
let client: SFNClient;
let endpoint = '';

const machineArn = (name: string) => Object.values(template.stateMachines).find((m) => m.name === name)!.arn;
const workerName = () => template.functions[Object.keys(template.functions).find((k) => k.startsWith('Worker'))!]!.functionName;

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'fw-sfn-lab-'));
  synthFixtureApp(outdir);
  template = loadCloudAssembly(outdir);
  lambda = createLambdaRuntime({
    functions: template.functions,
    // Read lazily when an environment starts, after the endpoint is known.
    extraEnv: () => ({ AWS_ENDPOINT_URL_SFN: endpoint, AWS_ACCESS_KEY_ID: 'lab', AWS_SECRET_ACCESS_KEY: 'lab' }),
    onLog: () => undefined,
  });
  lab = await startStepFunctions({ template, lambda, clock: labClock(0.01) });
  endpoint = lab.endpoint;
  client = new SFNClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await lab?.close();
  await lambda?.close();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

async function start(machine: string, input: unknown, name?: string): Promise<string> {
  const out = await client.send(new StartExecutionCommand({ stateMachineArn: machineArn(machine), input: JSON.stringify(input), name }));
  return out.executionArn!;
}

async function finished(executionArn: string, timeoutMs = 20_000): Promise<DescribeExecutionCommandOutput> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const d = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return d;
    if (Date.now() > until) throw new Error(`${executionArn} still RUNNING`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 5, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

describe('lab Step Functions running the synthesized state machines', () => {
  it('runs the success path and returns the output with the lambda:invoke result shape', async () => {
    const arn = await start('FixtureParent', { mode: 'ok', value: 42 });
    const d = await finished(arn);

    expect(d.status).toBe('SUCCEEDED');
    const output = JSON.parse(d.output!);
    // lambda:invoke returns {ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata, StatusCode};
    // Payload is the function's return value (AWS "Invoke Lambda with Step Functions").
    expect(output.statusCode).toBe(200);
    expect(output.payload.value).toBe(42);
    // $$.Execution.Id is the execution ARN (AWS "Context object").
    expect(output.payload.executionId).toBe(arn);
    // The function sees the environment the template gives it, references resolved.
    expect(output.payload.bucket).toBe(Object.values(template.buckets)[0]!.bucketName);
    expect(output.payload.functionName).toBe(workerName());
    expect(output.payload.remainingMs).toBeGreaterThan(5_000);
    expect(output.payload.remainingMs).toBeLessThanOrEqual(10_000);
    // Dates are returned as timestamps; stopDate is not before startDate.
    expect(d.stopDate!.getTime()).toBeGreaterThanOrEqual(d.startDate!.getTime());
  });

  it('returns the execution history in order with AWS event types and ids', async () => {
    const arn = await start('FixtureParent', { mode: 'ok', value: 1 });
    await finished(arn);

    const events = await history(arn);
    // GetExecutionHistory lists events oldest first, ids from 1, each naming its predecessor.
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[1]!.previousEventId).toBe(1);
    expect(events[1]!.stateEnteredEventDetails?.name).toBe('Work');
    expect(events[2]!.taskScheduledEventDetails).toMatchObject({ resourceType: 'lambda', resource: 'invoke', timeoutInSeconds: 1 });
    expect(JSON.parse(events[2]!.taskScheduledEventDetails!.parameters!).FunctionName).toBe(Object.values(template.functions)[0]!.arn);
    // reverseOrder returns newest first.
    const reversed = await client.send(new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true, maxResults: 2 }));
    expect(reversed.events!.map((e) => e.type)).toEqual(['ExecutionSucceeded', 'SucceedStateExited']);
    expect(reversed.nextToken).toBeTruthy();
  });

  it('retries a throttled Lambda and completes (Retry on Lambda.TooManyRequestsException)', async () => {
    const before = lambda.stats(workerName());
    lambda.throttle(workerName(), 2);
    const arn = await start('FixtureParent', { mode: 'ok', value: 'throttled' });
    const d = await finished(arn);

    expect(d.status).toBe('SUCCEEDED');
    const after = lambda.stats(workerName());
    // Throttled invocations never run the function; the third attempt does.
    expect(after.throttled - before.throttled).toBe(2);
    expect(after.invocations - before.invocations).toBe(1);
    // Step Functions surfaces Lambda throttling as the error Lambda.TooManyRequestsException.
    const failed = (await history(arn)).filter((e) => e.type === 'TaskFailed');
    expect(failed.map((e) => e.taskFailedEventDetails?.error)).toEqual(['Lambda.TooManyRequestsException', 'Lambda.TooManyRequestsException']);
  });

  it('catches a named function error by its errorType, with the error document as Cause', async () => {
    const before = lambda.stats(workerName()).invocations;
    const arn = await start('FixtureParent', { mode: 'locked', value: 'host-a' });
    const d = await finished(arn);

    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('HostLocked');
    // For lambda:invoke, Error is the function's errorType and Cause the JSON
    // {errorMessage, errorType, trace} (AWS "Handling errors in Step Functions", Lambda).
    const cause = JSON.parse(d.cause!);
    expect(cause.errorType).toBe('HostLockedError');
    expect(cause.errorMessage).toBe('host host-a is locked by another run');
    expect(Array.isArray(cause.trace)).toBe(true);
    // HostLockedError is not in the Retry's ErrorEquals: exactly one invocation.
    expect(lambda.stats(workerName()).invocations - before).toBe(1);
  });

  it('times a slow task out with States.Timeout after TimeoutSeconds', async () => {
    const arn = await start('FixtureParent', { mode: 'slow', ms: 2500 });
    const d = await finished(arn);

    // A Task running longer than TimeoutSeconds fails with States.Timeout, which
    // States.TaskFailed does not match but an explicit States.Timeout catcher does.
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.Timeout');
    // Read from the history, not the wall clock: the attempt timed out (never succeeded), and
    // not before its 1 s TimeoutSeconds (a timer cannot fire early, however loaded the machine).
    const events = await history(arn);
    const startedAt = events.find((e) => e.type === 'TaskStarted')!.timestamp!.getTime();
    const timedOut = events.find((e) => e.type === 'TaskTimedOut' && e.taskTimedOutEventDetails?.error === 'States.Timeout');
    expect(timedOut).toBeDefined();
    expect(events.filter((e) => e.type === 'TaskSucceeded' || e.type === 'TaskFailed')).toEqual([]);
    // 999: a Node timer may fire up to 1 ms early against Date.now() (libuv compares against its
    // loop time, cached in whole milliseconds); the engine's timer is a plain setTimeout
    expect(timedOut!.timestamp!.getTime() - startedAt).toBeGreaterThanOrEqual(999);
  });

  it('scales Wait states with secondsPath by the lab time scale', async () => {
    const arn = await start('FixtureParent', { mode: 'wait', seconds: 40 });
    const d = await finished(arn);

    expect(d.status).toBe('SUCCEEDED');
    const events = await history(arn);
    const entered = events.find((e) => e.type === 'WaitStateEntered')!;
    const exited = events.find((e) => e.type === 'WaitStateExited')!;
    const waitedMs = exited.timestamp!.getTime() - entered.timestamp!.getTime();
    // 40 s × 0.01 = 400 ms: the wait happened, scaled.
    expect(waitedMs).toBeGreaterThanOrEqual(350);
    expect(waitedMs).toBeLessThan(3_000);
  });

  it('runs a child with startExecution.sync:2 and hands its parsed output to the parent', async () => {
    const arn = await start('FixtureParent', { mode: 'child', childMode: 'ok', value: 'from-parent' });
    const d = await finished(arn);

    expect(d.status).toBe('SUCCEEDED');
    const output = JSON.parse(d.output!);
    // .sync:2 returns the child's Output as JSON (not a string) once it SUCCEEDED.
    expect(output.childOutput.value).toBe('from-parent');
    const child = await client.send(new DescribeExecutionCommand({ executionArn: output.childArn }));
    expect(child.status).toBe('SUCCEEDED');
    expect(child.stateMachineArn).toBe(machineArn('FixtureChild'));
  });

  it("fails the parent's task with States.TaskFailed when the child fails, so Catch fires", async () => {
    const arn = await start('FixtureParent', { mode: 'child', childMode: 'locked', value: 'host-b' });
    const d = await finished(arn);

    expect(d.status).toBe('FAILED');
    // A failed child surfaces as States.TaskFailed with the child's description,
    // including its Error and Cause, as the Cause.
    expect(d.error).toBe('States.TaskFailed');
    const cause = JSON.parse(d.cause!);
    expect(cause.Status).toBe('FAILED');
    expect(cause.Error).toBe('HostLockedError');
    expect(JSON.parse(cause.Cause).errorMessage).toBe('host host-b is locked by another run');
  });

  it('treats a duplicate StartExecution name as idempotent while running, and refuses reuse otherwise', async () => {
    const name = `dup-${Date.now()}`;
    const input = { mode: 'wait', seconds: 100 };
    const first = await start('FixtureParent', input, name);
    const second = await start('FixtureParent', input, name);

    // Same name and input while the execution is open: the same execution (StartExecution API reference).
    expect(second).toBe(first);
    const listed = await client.send(new ListExecutionsCommand({ stateMachineArn: machineArn('FixtureParent') }));
    expect(listed.executions!.filter((e) => e.name === name)).toHaveLength(1);
    // Different input: ExecutionAlreadyExists.
    await expect(start('FixtureParent', { ...input, seconds: 101 }, name)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await finished(first);
    // Closed: ExecutionAlreadyExists regardless of input (names are unique for 90 days).
    await expect(start('FixtureParent', input, name)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('aborts a running execution with StopExecution', async () => {
    const arn = await start('FixtureParent', { mode: 'wait', seconds: 3000 });
    await new Promise((r) => setTimeout(r, 200));
    await client.send(new StopExecutionCommand({ executionArn: arn, error: 'Operator', cause: 'stopped by test' }));
    const d = await client.send(new DescribeExecutionCommand({ executionArn: arn }));

    // StopExecution: the execution becomes ABORTED, with the given error and cause.
    expect(d.status).toBe('ABORTED');
    expect(d.error).toBe('Operator');
    expect(d.cause).toBe('stopped by test');
    const events = await history(arn);
    expect(events.at(-1)!.type).toBe('ExecutionAborted');
    expect(events.some((e) => e.type === 'WaitStateExited')).toBe(false);
    const aborted = await client.send(new ListExecutionsCommand({ stateMachineArn: machineArn('FixtureParent'), statusFilter: 'ABORTED' }));
    expect(aborted.executions!.map((e) => e.executionArn)).toContain(arn);
  });

  it('resumes a waitForTaskToken task when the function calls SendTaskSuccess, then publishes to SNS', async () => {
    const arn = await start('FixtureCallback', { value: 'cb-1' });
    const d = await finished(arn);

    expect(d.status).toBe('SUCCEEDED');
    // The task's result is the SendTaskSuccess output, not the function's return value.
    expect(JSON.parse(d.output!)).toEqual({ called: 'back', value: 'cb-1' });
    const message = lab.publishedMessages().find((m) => m.executionArn === arn);
    expect(message?.topicArn).toBe(Object.values(template.topics)[0]!.topicArn);
    expect(JSON.parse(message!.message)).toEqual({ callback: { called: 'back', value: 'cb-1' } });
  });

  it('answers TaskDoesNotExist for an unknown task token', async () => {
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: 'no-such-token', output: '{}' }))).rejects.toMatchObject({
      name: 'TaskDoesNotExist',
    });
  });
});

describe('lab Lambda runtime', () => {
  it('fails an invocation that outlives the function Timeout with Sandbox.Timedout and starts a fresh environment', async () => {
    const before = lambda.stats('fixture-short-worker');
    const slow = await lambda.invoke('fixture-short-worker', { mode: 'slow', ms: 1500 });
    expect(slow.functionError?.errorType).toBe('Sandbox.Timedout');
    expect(slow.functionError?.errorMessage).toMatch(/Task timed out after 1\.00 seconds/);

    const next = await lambda.invoke('arn:aws:lambda:us-east-1:000000000000:function:fixture-short-worker', { mode: 'ok' });
    expect(next.functionError).toBeUndefined();
    // The timed-out environment was discarded: the next one starts cold.
    expect((next.payload as { invocationsInThisEnvironment: number }).invocationsInThisEnvironment).toBe(1);
    expect(lambda.stats('fixture-short-worker').coldStarts - before.coldStarts).toBe(2);
  });

  it('reuses a warm environment between sequential invocations', async () => {
    const a = await lambda.invoke('fixture-short-worker', { mode: 'ok' });
    const b = await lambda.invoke('fixture-short-worker', { mode: 'ok' });
    const count = (r: { payload: unknown }) => (r.payload as { invocationsInThisEnvironment: number }).invocationsInThisEnvironment;
    expect(count(b)).toBe(count(a) + 1);
  });

  it('refuses an unknown function with ResourceNotFoundException', async () => {
    await expect(lambda.invoke('nope', {})).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
