/**
 * Lab fidelity test for the SSM endpoint: the real @aws-sdk/client-ssm and
 * client-s3 against the lab's servers, real `sh`/`bash` scripts on simulated
 * hosts. Each assertion names the AWS behaviour it mirrors. One file: every test
 * shares one lab SSM endpoint, S3 server and set of agents, started once.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  ListComplianceItemsCommand,
  ListResourceComplianceSummariesCommand,
  PutComplianceItemsCommand,
  SendCommandCommand,
  SSMClient,
  type CommandFilterKey,
  type GetCommandInvocationCommandOutput,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { labS3Client, startS3, type LabS3 } from '../../../lab/s3';
import { startSsm, type LabSsm } from '../../../lab/ssm';
import { labClock } from '../../../lab/clock';

const BUCKET = 'lab-command-output';
const HOST_A = 'i-0aaaaaaaaaaaaaaa1';
const HOST_B = 'i-0bbbbbbbbbbbbbbb2';
const OFFLINE = 'i-0ccccccccccccccc3';
const UNREACHABLE = 'i-0ddddddddddddddd4';
/**
 * The lab's time scale for this file: the default delivery timeout (3600 s)
 * lasts 1.5 s, and so does every shorter limit (the floor), a 30 s delivery
 * timeout and a 5 s execution timeout included.
 */
const CLOCK = labClock(1 / 2400, { minRealLimitMs: 1500 });

const shellDoc = (parameters: Record<string, unknown>, runCommand: string[], inputs: Record<string, unknown> = {}) => ({
  schemaVersion: '2.2',
  description: 'lab test document',
  parameters,
  mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand, ...inputs } }],
});

const documents = new Map<string, object | string>([
  [
    'Lab-Echo',
    JSON.stringify(
      shellDoc(
        {
          Message: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^[A-Za-z0-9 ]{1,40}$' },
          Items: { type: 'StringList', interpolationType: 'ENV_VAR', allowedPattern: '^[a-z]{1,10}$', default: ['one'] },
        },
        [
          '#!/bin/bash',
          'set -euo pipefail',
          'echo "message=$SSM_Message"',
          'echo "items=$SSM_Items"',
          'echo "cwd=$(pwd)"',
          'echo "instance=$AWS_SSM_INSTANCE_ID region=$AWS_SSM_REGION_NAME command=$SSM_COMMAND_ID"',
          'echo "script=$0"',
          'echo "host-root=$FLEETWAVE_HOST_ROOT"',
        ],
      ),
    ),
  ],
  ['Lab-Touch', shellDoc({ Path: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^/[A-Za-z0-9/_.-]{1,200}$' } }, ['touch "$SSM_Path"'])],
  [
    'Lab-Exit',
    shellDoc({ Code: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^[0-9]{1,3}$' } }, ['echo before-exit', 'echo oops >&2', 'exit "$SSM_Code"']),
  ],
  [
    // Like AWS-RunShellScript, the execution timeout is a parameter substituted into timeoutSeconds.
    'Lab-Sleep',
    shellDoc(
      {
        executionTimeout: { type: 'String', default: '3600', allowedPattern: '^[0-9]{1,6}$' },
        PidDir: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^/[A-Za-z0-9/_.-]{1,200}$' },
      },
      ['echo started', 'echo $$ > "$SSM_PidDir/shell.pid"', 'sleep 60 &', 'echo $! > "$SSM_PidDir/child.pid"', 'wait'],
      { timeoutSeconds: '{{ executionTimeout }}' },
    ),
  ],
  ['Lab-Quick', shellDoc({ Seconds: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^[0-9.]{1,4}$', default: '0' } }, ['sleep "$SSM_Seconds"', 'echo done'])],
  [
    'Lab-Big',
    shellDoc({}, ["head -c 30000 /dev/zero | tr '\\0' 'a'", 'echo', "head -c 9000 /dev/zero | tr '\\0' 'e' >&2"]),
  ],
  [
    // Checks in under Dir, then waits (at most 50 s) until Count scripts have checked in there.
    'Lab-Barrier',
    shellDoc(
      {
        Dir: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^/[A-Za-z0-9/_.-]{1,200}$' },
        Count: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^[0-9]{1,2}$' },
      },
      [
        'touch "$SSM_Dir/$SSM_COMMAND_ID"',
        'for _ in $(seq 1 1000); do',
        '  [ "$(ls "$SSM_Dir" | wc -l)" -ge "$SSM_Count" ] && { echo together; exit 0; }',
        '  sleep 0.05',
        'done',
        'echo alone >&2; exit 1',
      ],
    ),
  ],
  ['Lab-ListA', shellDoc({}, ['echo a'])],
  ['Lab-ListB', shellDoc({}, ['exit 2'])],
  [
    'Lab-Legacy',
    // No ENV_VAR: the agent substitutes {{ }} text; a StringList alone in a line expands to several lines.
    shellDoc({ Commands: { type: 'StringList', allowedPattern: '^[a-z =$"]{1,40}$' }, Word: { type: 'String', allowedPattern: '^[a-z]{1,10}$' } }, [
      '{{ Commands }}',
      'echo "word={{Word}} env=${SSM_Word:-unset}"',
    ]),
  ],
]);

let root: string;
let s3: LabS3;
let ssm: LabSsm;
let client: SSMClient;
let s3Client: S3Client;
const hostRoots: Record<string, string> = {};

const terminal = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);

/** What a correct poller does: InvocationDoesNotExist right after SendCommand means "not yet". */
async function waitForInvocation(commandId: string, instanceId: string, timeoutMs = 20_000): Promise<GetCommandInvocationCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const out = await client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      if (out.Status && terminal.has(out.Status)) return out;
    } catch (err) {
      if ((err as Error).name !== 'InvocationDoesNotExist') throw err;
    }
    if (Date.now() > deadline) throw new Error(`invocation ${commandId}/${instanceId} did not finish`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForStatus(commandId: string, instanceId: string, status: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const out = await client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      if (out.Status === status) return;
    } catch (err) {
      if ((err as Error).name !== 'InvocationDoesNotExist') throw err;
    }
    if (Date.now() > deadline) throw new Error(`invocation never reached ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function send(documentName: string, parameters: Record<string, string[]> = {}, extra: Partial<ConstructorParameters<typeof SendCommandCommand>[0]> = {}) {
  const out = await client.send(new SendCommandCommand({ DocumentName: documentName, InstanceIds: [HOST_A], Parameters: parameters, ...extra }));
  const commandId = out.Command?.CommandId;
  if (!commandId) throw new Error('no command id');
  return { commandId, command: out.Command! };
}

/** Alive = exists and is not a zombie (killed children may linger unreaped under a container's PID 1). */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fw-lab-ssm-'));
  s3 = await startS3({ directory: join(root, 's3'), buckets: [BUCKET] });
  ssm = await startSsm({
    documents,
    s3: { endpoint: s3.endpoint },
    region: 'us-east-1',
    clock: CLOCK,
    options: { invocationVisibilityDelayMs: 300 },
  });
  for (const id of [HOST_A, HOST_B, OFFLINE, UNREACHABLE]) {
    hostRoots[id] = mkdtempSync(join(root, `host-${id}-`));
    ssm.registerInstance({
      instanceId: id,
      hostRoot: hostRoots[id]!,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FLEETWAVE_HOST_ROOT: hostRoots[id]! },
      online: id === HOST_A || id === HOST_B,
    });
  }
  ssm.setAgentState(UNREACHABLE, 'undeliverable');
  client = new SSMClient({ region: 'us-east-1', endpoint: ssm.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
  s3Client = labS3Client(s3.endpoint);
});

afterAll(async () => {
  client?.destroy();
  s3Client?.destroy();
  await ssm?.close();
  await s3?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('SendCommand and the agent', () => {
  it('runs the document with ENV_VAR parameters as SSM_<name> and reports Success with its output', async () => {
    const { commandId, command } = await send('Lab-Echo', { Message: ['hello lab'], Items: ['red', 'green'] }, { Comment: 'echo test' });
    // SendCommand returns the Command in status Pending with the request's fields (API reference: SendCommand).
    expect(command.Status).toBe('Pending');
    expect(command.DocumentName).toBe('Lab-Echo');
    expect(command.Comment).toBe('echo test');
    expect(command.RequestedDateTime).toBeInstanceOf(Date);
    expect(command.CommandId).toMatch(/^[0-9a-f-]{36}$/);

    const result = await waitForInvocation(commandId, HOST_A);
    // Exit code 0 → Status Success, ResponseCode 0 ("Understanding command statuses").
    expect(result.Status).toBe('Success');
    expect(result.StatusDetails).toBe('Success');
    expect(result.ResponseCode).toBe(0);
    // For 2.2 documents PluginName is the step name (GetCommandInvocation reference).
    expect(result.PluginName).toBe('run');
    const lines = result.StandardOutputContent!.split('\n');
    // interpolationType ENV_VAR: "the system creates an environment variable named SSM_<parameter-name>".
    expect(lines).toContain('message=hello lab');
    // StringList values reach one variable, comma-joined.
    expect(lines).toContain('items=red,green');
    // The agent sets AWS_SSM_INSTANCE_ID / AWS_SSM_REGION_NAME (agent executers.go) and SSM_COMMAND_ID (runscript.go).
    expect(lines).toContain(`instance=${HOST_A} region=us-east-1 command=${commandId}`);
    // The agent writes the lines to <orchestration>/<commandId>/<step>/_script.sh and runs `sh -c <path>`.
    const scriptPath = join(hostRoots[HOST_A]!, 'ssm', 'orchestration', commandId, 'run', '_script.sh');
    expect(lines).toContain(`script=${scriptPath}`);
    expect(readFileSync(scriptPath, 'utf8').split('\n')[2]).toBe('echo "message=$SSM_Message"');
    // Without a workingDirectory the script runs in the agent's own working directory (lab: the host root).
    expect(lines).toContain(`cwd=${hostRoots[HOST_A]}`);
    expect(lines).toContain(`host-root=${hostRoots[HOST_A]}`);
    expect(result.ExecutionStartDateTime).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('refuses a parameter that violates allowedPattern with InvalidParameters and starts no process', async () => {
    const target = join(hostRoots[HOST_A]!, 'pattern-check');
    const before = existsSync(join(hostRoots[HOST_A]!, 'ssm', 'orchestration')) ? readdirSync(join(hostRoots[HOST_A]!, 'ssm', 'orchestration')).length : 0;
    // SendCommand validates parameters against the document before delivery (InvalidParameters).
    await expect(client.send(new SendCommandCommand({ DocumentName: 'Lab-Touch', InstanceIds: [HOST_A], Parameters: { Path: [`${target}; rm -rf /`] } }))).rejects.toMatchObject({
      name: 'InvalidParameters',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target};`)).toBe(false);
    const after = existsSync(join(hostRoots[HOST_A]!, 'ssm', 'orchestration')) ? readdirSync(join(hostRoots[HOST_A]!, 'ssm', 'orchestration')).length : 0;
    expect(after).toBe(before);
  });

  it('refuses undeclared and missing required parameters, unknown documents and unknown instances', async () => {
    await expect(send('Lab-Touch', { Path: ['/tmp/x'], Extra: ['y'] })).rejects.toMatchObject({ name: 'InvalidParameters' });
    // A parameter without a default is required.
    await expect(send('Lab-Touch', {})).rejects.toMatchObject({ name: 'InvalidParameters' });
    await expect(send('Lab-Nope')).rejects.toMatchObject({ name: 'InvalidDocument' });
    // InvalidInstanceId: the node is not managed by SSM in this account.
    await expect(
      client.send(new SendCommandCommand({ DocumentName: 'Lab-ListA', InstanceIds: ['i-0eeeeeeeeeeeeeee5'] })),
    ).rejects.toMatchObject({ name: 'InvalidInstanceId' });
    // Comment is at most 100 characters (SendCommand request constraints).
    await expect(send('Lab-ListA', {}, { Comment: 'x'.repeat(101) })).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('reports a non-zero exit as Failed with that ResponseCode', async () => {
    const { commandId } = await send('Lab-Exit', { Code: ['3'] });
    const result = await waitForInvocation(commandId, HOST_A);
    // "Failed: ... for a plugin, this indicates that the result code wasn't zero."
    expect(result.Status).toBe('Failed');
    expect(result.StatusDetails).toBe('Failed');
    expect(result.ResponseCode).toBe(3);
    expect(result.StandardOutputContent).toBe('before-exit\n');
    expect(result.StandardErrorContent).toBe('oops\n');
    // The command aggregates its invocations: with MaxErrors 0 one failure makes it Failed.
    const listed = await client.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(listed.Commands?.[0]?.Status).toBe('Failed');
    expect(listed.Commands?.[0]?.ErrorCount).toBe(1);
  });

  it.concurrent('kills the whole process group at the execution timeout and reports TimedOut / ExecutionTimedOut', async () => {
    const pidDir = mkdtempSync(join(root, 'pids-'));
    // 5 s is the smallest execution timeout the agent honours (pluginutil.ValidateExecutionTimeout).
    const { commandId } = await send('Lab-Sleep', { executionTimeout: ['5'], PidDir: [pidDir] });
    const started = Date.now();
    const result = await waitForInvocation(commandId, HOST_A);
    // the 5 s timeout on the lab's clock
    expect(Date.now() - started).toBeGreaterThanOrEqual(CLOCK.limit(5000) - 100);
    expect(Date.now() - started).toBeLessThan(CLOCK.limit(5000) + 4000);
    // "Execution Timed Out: the command started to run on the managed node, but the execution wasn't complete before the timeout expired."
    expect(result.Status).toBe('TimedOut');
    expect(result.StatusDetails).toBe('ExecutionTimedOut');
    // The agent kills with SIGKILL and reports CommandStoppedPreemptivelyExitCode (137 on Linux).
    expect(result.ResponseCode).toBe(137);
    expect(result.StandardOutputContent).toBe('started\n');
    const child = Number(readFileSync(join(pidDir, 'child.pid'), 'utf8'));
    expect(processAlive(child)).toBe(false);
  });

  it('truncates inline output to 24,000 / 8,000 characters and writes the full output to S3 at the agent key layout', async () => {
    const { commandId } = await send('Lab-Big', {}, { OutputS3BucketName: BUCKET, OutputS3KeyPrefix: 'command-output' });
    const result = await waitForInvocation(commandId, HOST_A);
    expect(result.Status).toBe('Success');
    // GetCommandInvocation: "the first 24,000 characters written by the plugin to stdout" / "the first 8,000 ... to stderr".
    expect(result.StandardOutputContent).toHaveLength(24_000);
    expect(result.StandardErrorContent).toHaveLength(8_000);
    const stdoutKey = `command-output/${commandId}/${HOST_A}/awsrunShellScript/run/stdout`;
    expect(result.StandardOutputUrl).toBe(`${s3.endpoint}/${BUCKET}/${stdoutKey}`);
    expect(result.StandardErrorUrl).toBe(`${s3.endpoint}/${BUCKET}/command-output/${commandId}/${HOST_A}/awsrunShellScript/run/stderr`);
    const full = await s3Client.send(new GetObjectCommand({ Bucket: BUCKET, Key: stdoutKey }));
    const text = await full.Body!.transformToString();
    expect(text).toBe(`${'a'.repeat(30_000)}\n`);
    const err = await s3Client.send(new GetObjectCommand({ Bucket: BUCKET, Key: stdoutKey.replace(/stdout$/, 'stderr') }));
    expect((await err.Body!.transformToString()).length).toBe(9_000);
    // ListCommandInvocations Details: the plugin Output is the agent's 2,500-character combined summary.
    const listed = await client.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
    const output = listed.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output ?? '';
    expect(output.length).toBe(2_500);
    expect(output).toContain('---Output truncated---');
  });

  it('answers InvocationDoesNotExist right after SendCommand, then the invocation appears and succeeds', async () => {
    // The lab's clock is held still from before the send until the first read, so the read falls
    // inside the visibility window however slowly this machine answers.
    const held = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(held);
    let commandId: string;
    try {
      ({ commandId } = await send('Lab-Quick'));
      // Real SSM needs a moment before GetCommandInvocation knows a new invocation; pollers must treat it as pending.
      await expect(client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: HOST_A }))).rejects.toMatchObject({
        name: 'InvocationDoesNotExist',
      });
    } finally {
      clock.mockRestore();
    }
    const result = await waitForInvocation(commandId, HOST_A);
    expect(result.Status).toBe('Success');
    expect(result.StandardOutputContent).toBe('done\n');
  });

  it('substitutes {{ }} parameters as the agent does when a document does not use ENV_VAR', async () => {
    const { commandId } = await send('Lab-Legacy', { Commands: ['echo first', 'echo "second"'], Word: ['abc'] });
    const result = await waitForInvocation(commandId, HOST_A);
    expect(result.Status).toBe('Success');
    // A StringList alone on a line becomes one line per item; {{Word}} inside a line becomes its value; no SSM_ variable.
    expect(result.StandardOutputContent).toBe('first\nsecond\nword=abc env=unset\n');
  });
});

describe('delivery', () => {
  it.concurrent('accepts a command for an offline instance, reports ConnectionLost, and ends DeliveryTimedOut', async () => {
    const info = await client.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [OFFLINE, HOST_A] }] }));
    const byId = Object.fromEntries((info.InstanceInformationList ?? []).map((i) => [i.InstanceId, i.PingStatus]));
    // PingStatus: Online | ConnectionLost | Inactive (DescribeInstanceInformation).
    expect(byId).toEqual({ [OFFLINE]: 'ConnectionLost', [HOST_A]: 'Online' });

    const out = await client.send(new SendCommandCommand({ DocumentName: 'Lab-Quick', InstanceIds: [OFFLINE], TimeoutSeconds: 30 }));
    const commandId = out.Command!.CommandId!;
    // "Delayed: the system attempted to send the command to the target, but the target wasn't available."
    await waitForStatus(commandId, OFFLINE, 'Delayed');
    const result = await waitForInvocation(commandId, OFFLINE);
    // "Delivery Timed Out: the command wasn't delivered to the managed node before the delivery timeout expired."
    expect(result.Status).toBe('TimedOut');
    expect(result.StatusDetails).toBe('DeliveryTimedOut');
    // "If the response code is -1, then the command hasn't started running on the managed node."
    expect(result.ResponseCode).toBe(-1);
    expect(existsSync(join(hostRoots[OFFLINE]!, 'ssm', 'orchestration', commandId))).toBe(false);
    const listed = await client.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(listed.Commands?.[0]).toMatchObject({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', DeliveryTimedOutCount: 1 });
  });

  it('delivers a delayed command once the agent comes back within the delivery timeout', async () => {
    ssm.setOnline(HOST_B, false);
    const out = await client.send(new SendCommandCommand({ DocumentName: 'Lab-Quick', InstanceIds: [HOST_B] }));
    const commandId = out.Command!.CommandId!;
    // One read with the lab's clock past the visibility window: no 300 ms wait and no polling
    // inside the 1.5 s delivery timeout, however loaded the machine.
    const real = Date.now.bind(Date);
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => real() + 1000);
    let seen: string | undefined;
    try {
      seen = (await client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: HOST_B }))).Status;
    } finally {
      clock.mockRestore();
      ssm.setOnline(HOST_B, true);
    }
    expect(seen).toBe('Delayed');
    const result = await waitForInvocation(commandId, HOST_B);
    expect(result.Status).toBe('Success');
  });

  it('ends an invocation to an unreachable node as Failed / Undeliverable', async () => {
    const out = await client.send(new SendCommandCommand({ DocumentName: 'Lab-Quick', InstanceIds: [UNREACHABLE] }));
    const result = await waitForInvocation(out.Command!.CommandId!, UNREACHABLE);
    // "Undeliverable: the command can't be delivered to the managed node ... This is a terminal state."
    expect(result.Status).toBe('Failed');
    expect(result.StatusDetails).toBe('Undeliverable');
    expect(result.ResponseCode).toBe(-1);
  });

  it('runs several commands on one instance and on several instances at the same time', async () => {
    // A barrier instead of a stopwatch: each script checks in, then waits until every script of its
    // instance has checked in. Run one after another, the first would wait alone and fail.
    const barrier = mkdtempSync(join(root, 'barrier-'));
    const targets = [HOST_A, HOST_A, HOST_A, HOST_A, HOST_B];
    const sends = await Promise.all(
      targets.map((id) => {
        const dir = join(barrier, id);
        mkdirSync(dir, { recursive: true });
        const count = String(targets.filter((t) => t === id).length);
        return client
          .send(new SendCommandCommand({ DocumentName: 'Lab-Barrier', InstanceIds: [id], Parameters: { Dir: [dir], Count: [count] } }))
          .then((o) => ({ id, commandId: o.Command!.CommandId! }));
      }),
    );
    const results = await Promise.all(sends.map((s) => waitForInvocation(s.commandId, s.id, 60_000)));
    expect(results.map((r) => [r.Status, r.StandardOutputContent])).toEqual(targets.map(() => ['Success', 'together\n']));
  }, 90_000);
});

describe('ListCommands, ListCommandInvocations and CancelCommand', () => {
  it('filters commands by document, status, execution stage and time', async () => {
    const since = new Date(Date.now() - 1000);
    const a = await client.send(new SendCommandCommand({ DocumentName: 'Lab-ListA', InstanceIds: [HOST_A, HOST_B] }));
    const b = await client.send(new SendCommandCommand({ DocumentName: 'Lab-ListB', InstanceIds: [HOST_A] }));
    const aId = a.Command!.CommandId!;
    const bId = b.Command!.CommandId!;
    // ListCommands knows a command as soon as it is sent.
    const early = await client.send(new ListCommandsCommand({ CommandId: aId }));
    expect(early.Commands?.map((c) => c.CommandId)).toEqual([aId]);
    await waitForInvocation(aId, HOST_A);
    await waitForInvocation(aId, HOST_B);
    await waitForInvocation(bId, HOST_A);

    const byDoc = await client.send(new ListCommandsCommand({ Filters: [{ key: 'DocumentName', value: 'Lab-ListA' }] }));
    expect(byDoc.Commands?.map((c) => c.CommandId)).toEqual([aId]);
    expect(byDoc.Commands?.[0]).toMatchObject({ Status: 'Success', TargetCount: 2, CompletedCount: 2, ErrorCount: 0 });
    const failed = await client.send(
      new ListCommandsCommand({
        Filters: [
          { key: 'Status', value: 'Failed' },
          { key: 'InvokedAfter', value: since.toISOString() },
        ],
      }),
    );
    const failedIds = failed.Commands?.map((c) => c.CommandId) ?? [];
    expect(failedIds).toContain(bId);
    expect(failedIds).not.toContain(aId);
    const complete = await client.send(new ListCommandsCommand({ Filters: [{ key: 'ExecutionStage', value: 'Complete' }, { key: 'DocumentName', value: 'Lab-ListB' }] }));
    expect(complete.Commands?.map((c) => c.CommandId)).toEqual([bId]);
    const future = await client.send(new ListCommandsCommand({ Filters: [{ key: 'InvokedAfter', value: new Date(Date.now() + 60_000).toISOString() }] }));
    expect(future.Commands).toEqual([]);
    const forB = await client.send(new ListCommandsCommand({ InstanceId: HOST_B, Filters: [{ key: 'DocumentName', value: 'Lab-ListB' }] }));
    expect(forB.Commands).toEqual([]);
    await expect(client.send(new ListCommandsCommand({ Filters: [{ key: 'Colour' as CommandFilterKey, value: 'x' }] }))).rejects.toMatchObject({ name: 'InvalidFilterKey' });

    const invocations = await client.send(new ListCommandInvocationsCommand({ CommandId: aId }));
    expect(invocations.CommandInvocations?.map((i) => i.InstanceId).sort()).toEqual([HOST_A, HOST_B].sort());
    expect(invocations.CommandInvocations?.every((i) => i.Status === 'Success')).toBe(true);
  });

  it('pages ListCommands with MaxResults and NextToken', async () => {
    const first = await client.send(new ListCommandsCommand({ MaxResults: 2 }));
    expect(first.Commands).toHaveLength(2);
    expect(first.NextToken).toBeDefined();
    const second = await client.send(new ListCommandsCommand({ MaxResults: 2, NextToken: first.NextToken }));
    const ids = new Set([...(first.Commands ?? []), ...(second.Commands ?? [])].map((c) => c.CommandId));
    expect(ids.size).toBe((first.Commands?.length ?? 0) + (second.Commands?.length ?? 0));
  });

  it('cancels a running script: the process group is killed and the invocation ends Cancelled', async () => {
    const pidDir = mkdtempSync(join(root, 'pids-'));
    const { commandId } = await send('Lab-Sleep', { PidDir: [pidDir] });
    await waitForStatus(commandId, HOST_A, 'InProgress');
    await expect.poll(() => existsSync(join(pidDir, 'child.pid')), { timeout: 5000 }).toBe(true);
    await client.send(new CancelCommandCommand({ CommandId: commandId }));
    const result = await waitForInvocation(commandId, HOST_A, 5000);
    // "Cancelled: the command was terminated before it was completed."
    expect(result.Status).toBe('Cancelled');
    expect(result.StatusDetails).toBe('Cancelled');
    expect(processAlive(Number(readFileSync(join(pidDir, 'child.pid'), 'utf8')))).toBe(false);
    expect(processAlive(Number(readFileSync(join(pidDir, 'shell.pid'), 'utf8')))).toBe(false);
    const listed = await client.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(listed.Commands?.[0]?.Status).toBe('Cancelled');
    await expect(client.send(new CancelCommandCommand({ CommandId: '00000000-0000-0000-0000-000000000000' }))).rejects.toMatchObject({ name: 'InvalidCommandId' });
  });
});

describe('faults and compliance', () => {
  it('surfaces throttling as ThrottlingException, which the SDK retries by default', async () => {
    const noRetry = new SSMClient({ region: 'us-east-1', endpoint: ssm.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' }, maxAttempts: 1 });
    try {
      ssm.throttle(1);
      await expect(noRetry.send(new DescribeInstanceInformationCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException' });
      const after = await noRetry.send(new DescribeInstanceInformationCommand({}));
      expect(after.InstanceInformationList?.length).toBeGreaterThan(0);
      // ThrottlingException is a retryable error for the SDK's standard retry strategy (3 attempts).
      ssm.throttle(2);
      const retried = await client.send(new DescribeInstanceInformationCommand({}));
      expect(retried.$metadata.attempts).toBe(3);
    } finally {
      noRetry.destroy();
    }
  });

  it('stores compliance items per instance and type and summarises them', async () => {
    const put = (status: 'COMPLIANT' | 'NON_COMPLIANT') =>
      client.send(
        new PutComplianceItemsCommand({
          ResourceId: HOST_A,
          ResourceType: 'ManagedInstance',
          ComplianceType: 'Custom:FleetwaveParity',
          ExecutionSummary: { ExecutionTime: new Date() },
          Items: [{ Id: 'api-service', Title: 'api-service version', Severity: 'HIGH', Status: status, Details: { running: '1.6.0' } }],
        }),
      );
    await put('COMPLIANT');
    await put('NON_COMPLIANT');
    const items = await client.send(new ListComplianceItemsCommand({ ResourceIds: [HOST_A], ResourceTypes: ['ManagedInstance'] }));
    // UploadType COMPLETE (the default) replaces the earlier items of that type.
    expect(items.ComplianceItems).toHaveLength(1);
    expect(items.ComplianceItems?.[0]).toMatchObject({ Id: 'api-service', Status: 'NON_COMPLIANT', Severity: 'HIGH', Details: { running: '1.6.0' } });
    const summaries = await client.send(new ListResourceComplianceSummariesCommand({ Filters: [{ Key: 'ComplianceType', Values: ['Custom:FleetwaveParity'] }] }));
    expect(summaries.ResourceComplianceSummaryItems?.[0]).toMatchObject({ ResourceId: HOST_A, Status: 'NON_COMPLIANT', OverallSeverity: 'HIGH' });
    await expect(
      client.send(
        new PutComplianceItemsCommand({
          ResourceId: 'i-0fffffffffffffff9',
          ResourceType: 'ManagedInstance',
          ComplianceType: 'Custom:FleetwaveParity',
          ExecutionSummary: { ExecutionTime: new Date() },
          Items: [],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidResourceId' });
  });
});

describe('close', () => {
  it('kills the scripts still running when the lab stops', async () => {
    const second = await startSsm({ documents, region: 'us-east-1' });
    const hostRoot = mkdtempSync(join(root, 'host-close-'));
    second.registerInstance({ instanceId: HOST_A, hostRoot });
    const other = new SSMClient({ region: 'us-east-1', endpoint: second.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
    const pidDir = mkdtempSync(join(root, 'pids-'));
    try {
      await other.send(new SendCommandCommand({ DocumentName: 'Lab-Sleep', InstanceIds: [HOST_A], Parameters: { PidDir: [pidDir] } }));
      await expect.poll(() => existsSync(join(pidDir, 'child.pid')), { timeout: 5000 }).toBe(true);
      const child = Number(readFileSync(join(pidDir, 'child.pid'), 'utf8'));
      expect(processAlive(child)).toBe(true);
      await second.close();
      expect(processAlive(child)).toBe(false);
    } finally {
      other.destroy();
    }
  });
});
