/**
 * Engine behaviours that the CDK fixture does not reach: Map/Parallel task
 * dispatch, the library quirks the engine corrects, task tokens with
 * heartbeats, States.Runtime, and history that survives a restart.
 * Hand-written definitions, aws-sdk integrations registered in-process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StepFunctionsEngine } from '../../../lab/sfn/api';
import { createLambdaRuntime } from '../../../lab/sfn/lambda-runtime';
import { arnOf, templateWith } from './engine-support';

const lambda = createLambdaRuntime({ functions: [] });
const dirs: string[] = [];
const engines: StepFunctionsEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(async () => {
  await lambda.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});


async function engineFor(machines: Record<string, object>, historyDir?: string): Promise<StepFunctionsEngine> {
  const engine = new StepFunctionsEngine({ template: templateWith(machines), lambda, ...(historyDir ? { historyDir } : {}) });
  await engine.ready();
  engines.push(engine);
  return engine;
}

const ECHO = 'arn:aws:states:::aws-sdk:lab:echo';
const HOLD = 'arn:aws:states:::aws-sdk:lab:hold.waitForTaskToken';

describe('StepFunctionsEngine', () => {
  it('dispatches Task states inside Parallel branches and Map iterations, with $$.State.Name and $$.Map.Item', async () => {
    const engine = await engineFor({
      Fan: {
        StartAt: 'Both',
        States: {
          Both: {
            Type: 'Parallel',
            ResultPath: '$.both',
            Next: 'Zero',
            Branches: [
              { StartAt: 'Left', States: { Left: { Type: 'Task', Resource: ECHO, Parameters: { 'state.$': '$$.State.Name', 'exec.$': '$$.Execution.Name' }, End: true } } },
              {
                StartAt: 'Each',
                States: {
                  Each: {
                    Type: 'Map',
                    ItemsPath: '$.hosts',
                    ItemSelector: { 'host.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' },
                    ItemProcessor: { StartAt: 'PerHost', States: { PerHost: { Type: 'Task', Resource: ECHO, End: true } } },
                    End: true,
                  },
                },
              },
            ],
          },
          // The library outputs the input for a falsy Result; Step Functions outputs the Result.
          Zero: { Type: 'Pass', Result: 0, ResultPath: '$.zero', End: true },
        },
      },
    });
    engine.registerSdkIntegration(ECHO, (params) => params);
    const { executionArn } = engine.startExecution({ stateMachineArn: arnOf('Fan'), name: 'fan-1', input: JSON.stringify({ hosts: ['h1', 'h2'] }) });
    const d = await engine.waitForExecution(executionArn, 10_000);

    expect(d.status).toBe('SUCCEEDED');
    const out = JSON.parse(d.output!);
    expect(out.both[0]).toEqual({ state: 'Left', exec: 'fan-1' });
    expect(out.both[1]).toEqual([{ host: 'h1', index: 0 }, { host: 'h2', index: 1 }]);
    expect(out.zero).toBe(0);
    const types = engine.getExecutionHistory({ executionArn, maxResults: 1000 }).events.map((e) => e.type);
    expect(types.filter((t) => t === 'TaskScheduled')).toHaveLength(3);
    expect(types.filter((t) => t === 'MapIterationStarted')).toHaveLength(2);
    expect(types).toContain('PassStateEntered');
  });

  it('fails with States.Runtime, past any States.ALL catcher, when a resource has no integration', async () => {
    const engine = await engineFor({
      Missing: {
        StartAt: 'Call',
        States: {
          Call: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:ec2:describeInstances', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }], End: true },
          Caught: { Type: 'Succeed' },
        },
      },
    });
    const { executionArn } = engine.startExecution({ stateMachineArn: arnOf('Missing') });
    const d = await engine.waitForExecution(executionArn, 10_000);

    // States.Runtime is neither retried nor caught by States.ALL.
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('States.Runtime');
    expect(d.cause).toMatch(/aws-sdk:ec2:describeInstances/);
  });

  it('times out a callback task without heartbeats as States.Timeout, which States.TaskFailed does not catch', async () => {
    const engine = await engineFor({
      Callback: {
        StartAt: 'Hold',
        States: {
          Hold: {
            Type: 'Task',
            Resource: HOLD,
            HeartbeatSeconds: 1,
            Parameters: { 'token.$': '$$.Task.Token' },
            Catch: [
              { ErrorEquals: ['States.TaskFailed'], Next: 'WrongCatcher' },
              { ErrorEquals: ['States.Timeout'], ResultPath: '$.failure', Next: 'TimedOut' },
            ],
            End: true,
          },
          WrongCatcher: { Type: 'Fail', Error: 'WrongCatcher' },
          TimedOut: { Type: 'Pass', End: true },
        },
      },
    });
    const tokens: string[] = [];
    engine.registerSdkIntegration(HOLD, (params: { token: string }) => {
      tokens.push(params.token);
      return {};
    });
    const { executionArn } = engine.startExecution({ stateMachineArn: arnOf('Callback') });
    const d = await engine.waitForExecution(executionArn, 10_000);

    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output!).failure.Error).toBe('States.Timeout');
    expect(tokens).toHaveLength(1);
    // A token whose task has closed answers TaskTimedOut.
    expect(() => engine.sendTaskSuccess(tokens[0]!, '{}')).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
    expect(engine.getExecutionHistory({ executionArn }).events.some((e) => e.type === 'TaskTimedOut')).toBe(true);
  });

  it('fails a callback task with the error and cause given to SendTaskFailure', async () => {
    const engine = await engineFor({
      Callback: {
        StartAt: 'Hold',
        States: { Hold: { Type: 'Task', Resource: HOLD, Parameters: { 'token.$': '$$.Task.Token' }, End: true } },
      },
    });
    engine.registerSdkIntegration(HOLD, (params: { token: string }) => {
      setTimeout(() => engine.sendTaskFailure(params.token, 'RestoreFailedError', 'volume restore failed'), 20);
      return {};
    });
    const { executionArn } = engine.startExecution({ stateMachineArn: arnOf('Callback') });
    const d = await engine.waitForExecution(executionArn, 10_000);

    expect(d).toMatchObject({ status: 'FAILED', error: 'RestoreFailedError', cause: 'volume restore failed' });
  });

  it('keeps closed executions in historyDir so a restarted engine still lists and describes them', async () => {
    const historyDir = mkdtempSync(join(tmpdir(), 'fw-sfn-history-'));
    dirs.push(historyDir);
    const machines = { Quick: { StartAt: 'P', States: { P: { Type: 'Pass', Result: { ok: true }, End: true } } } };
    const first = await engineFor(machines, historyDir);
    const { executionArn } = first.startExecution({ stateMachineArn: arnOf('Quick'), name: 'persisted' });
    await first.waitForExecution(executionArn);

    const second = await engineFor(machines, historyDir);
    expect(second.describeExecution(executionArn)).toMatchObject({ status: 'SUCCEEDED', output: '{"ok":true}' });
    expect(second.listExecutions({ stateMachineArn: arnOf('Quick') }).executions.map((e) => e.name)).toEqual(['persisted']);
    expect(second.getExecutionHistory({ executionArn }).events.at(-1)!.type).toBe('ExecutionSucceeded');
  });
});
