/**
 * The lab's Step Functions: runs the CDK-synthesized state machines with
 * aws-local-stepfunctions and keeps executions, their history and task
 * tokens the way the Step Functions API reports them.
 *
 * The library runs the ASL (paths, Choice, Retry/Catch, Map, Parallel, Wait,
 * execution TimeoutSeconds, Task TimeoutSeconds). Every Task state gets a
 * local handler (the library keys them by state name) that dispatches on the
 * state's `Resource` to the service integrations the workflows use:
 * `lambda:invoke` (and direct Lambda ARNs), `states:startExecution` (plain,
 * `.sync`, `.sync:2`), `sns:publish`, `aws-sdk:*` (registered handlers only),
 * each optionally `.waitForTaskToken`. Errors are shaped so Retry/Catch match
 * them as on AWS (see errors.ts).
 *
 * The execution's events come from two places, merged in order: the
 * library's event log (state entered/exited/failed, map iterations) and the
 * task handlers (scheduled/started/succeeded/failed/timed out). Each handler
 * yields one macrotask before recording, so the library's "state entered"
 * event, dispatched synchronously before the handler was called, is recorded
 * first.
 */
import './polyfill';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { AwsServiceError, epochSeconds } from '../aws-json';
import type { LabStateMachine, LabTemplate } from '../template';
import {
  LAB_PASS_RESOURCE,
  LAB_WAIT_RESOURCE,
  prepareDefinition,
  waitMillis,
  type Json,
  type PreparedDefinition,
  type StateDef,
} from './definition';
import { ExecutionClosedError, StatesRuntimeError, TaskError } from './errors';
import { LambdaServiceError, type LambdaRuntime } from './lambda-runtime';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One event of GetExecutionHistory, in the API's shape (timestamps in epoch seconds). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  message: string;
  subject: string | undefined;
  messageAttributes: unknown;
  executionArn: string;
  stateName: string;
  timestamp: number;
}

export interface SdkIntegrationContext {
  executionArn: string;
  stateName: string;
  resource: string;
  signal: AbortSignal;
}
export type SdkIntegrationHandler = (parameters: any, context: SdkIntegrationContext) => Promise<unknown> | unknown;

export interface EngineOptions {
  template: LabTemplate;
  lambda: LambdaRuntime;
  /** Multiplies every Wait state's duration (0.01: a 60 s wait lasts 0.6 s). Default 1. */
  waitScale?: number;
  /** Multiplies Retry intervals (backoff kept). Default 1. */
  retryScale?: number;
  /** Closed executions (and started ones) are written here as JSON and reloaded on start. */
  historyDir?: string;
  /** Validate each definition with the library's ASL validator at start. Default true. */
  validate?: boolean;
}

export interface DescribedExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  inputDetails: { included: true };
  output?: string;
  outputDetails?: { included: true };
  error?: string;
  cause?: string;
  redriveCount: 0;
  redriveStatus: 'NOT_REDRIVABLE';
}

interface MachineEntry {
  lab: LabStateMachine;
  prepared: PreparedDefinition;
  machine: StateMachine;
  creationDate: number;
}

interface Attempt {
  stateName: string;
  closed: boolean;
  token: string | undefined;
  resourceType: string;
  resource: string;
  lambdaDirect: boolean;
  abort: AbortController;
}

interface Execution {
  seq: number;
  executionArn: string;
  stateMachineArn: string;
  machineName: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
  /** Aborted when the execution closes: cancels token and child waits. */
  closed: AbortController;
  abortRun?: () => void;
  stopRequest?: { error?: string; cause?: string };
  attemptsByState: Map<string, number>;
  openAttempts: Attempt[];
  syncChildren: Set<string>;
  done: Promise<void>;
}

interface TokenEntry {
  executionArn: string;
  stateName: string;
  state: 'open' | 'closed';
  answered?: boolean;
  settle?: (outcome: { output?: string; error?: string; cause?: string }) => void;
  early?: { output?: string; error?: string; cause?: string };
  heartbeat?: () => void;
}

const MAX_PAYLOAD = 256 * 1024;
const NAME_PATTERN = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
const CTX = {
  token: `__lab_ctx_task_token_${randomBytes(6).toString('hex')}__`,
  stateName: `__lab_ctx_state_name_${randomBytes(6).toString('hex')}__`,
  enteredTime: `__lab_ctx_entered_time_${randomBytes(6).toString('hex')}__`,
  retryCount: `__lab_ctx_retry_count_${randomBytes(6).toString('hex')}__`,
};

let statesTimeoutErrorClass: Promise<new () => Error> | undefined;
/**
 * The library excludes timeouts from `States.TaskFailed` with an `instanceof`
 * check on a class it does not export; a heartbeat timeout raised by the
 * engine must be an instance of it. Obtain the class once from a 1 ms Task
 * timeout.
 */
function statesTimeoutError(): Promise<new () => Error> {
  statesTimeoutErrorClass ??= (async () => {
    const sm = new StateMachine(
      { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:x', TimeoutSeconds: 0.001, End: true } } } as never,
      { validationOptions: { noValidate: true } },
    );
    const run = sm.run({}, { overrides: { taskResourceLocalHandlers: { T: () => new Promise((r) => setTimeout(() => r(null), 50)) } } });
    try {
      await run.result;
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof Error && cause.name === 'States.Timeout') return cause.constructor as new () => Error;
    }
    throw new Error('could not obtain the library States.Timeout error class');
  })();
  return statesTimeoutErrorClass;
}

const toJson = (v: unknown): string => JSON.stringify(v === undefined ? null : v);

/** Replaces the context placeholders in a task's effective input. */
function fillContext(value: unknown, values: { token?: string; stateName: string; enteredTime: string; retryCount: number }): unknown {
  if (typeof value === 'string') {
    if (value === CTX.retryCount) return values.retryCount;
    return value
      .replaceAll(CTX.token, values.token ?? '')
      .replaceAll(CTX.stateName, values.stateName)
      .replaceAll(CTX.enteredTime, values.enteredTime);
  }
  if (Array.isArray(value)) return value.map((v) => fillContext(v, values));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fillContext(v, values)]));
  }
  return value;
}

interface ParsedResource {
  kind: 'lambda-invoke' | 'lambda-direct' | 'sfn-start' | 'sns-publish' | 'lab-wait' | 'lab-pass' | 'other';
  pattern: 'request' | 'sync' | 'sync2' | 'token';
  /** The resource without its `.sync` / `.waitForTaskToken` suffix. */
  base: string;
  resourceType: string;
  resourceName: string;
}

export function parseResource(resource: string): ParsedResource {
  if (/^arn:aws[a-z-]*:lambda:/.test(resource)) {
    return { kind: 'lambda-direct', pattern: 'request', base: resource, resourceType: 'lambda', resourceName: resource };
  }
  let pattern: ParsedResource['pattern'] = 'request';
  let base = resource;
  if (base.endsWith('.waitForTaskToken')) {
    pattern = 'token';
    base = base.slice(0, -'.waitForTaskToken'.length);
  } else if (base.endsWith('.sync:2')) {
    pattern = 'sync2';
    base = base.slice(0, -'.sync:2'.length);
  } else if (base.endsWith('.sync')) {
    pattern = 'sync';
    base = base.slice(0, -'.sync'.length);
  }
  const m = /^arn:aws[a-z-]*:states:::(.+)$/.exec(base);
  const tail = m?.[1] ?? base;
  const colon = tail.lastIndexOf(':');
  const resourceType = colon > 0 ? tail.slice(0, colon) : tail;
  const resourceName = (colon > 0 ? tail.slice(colon + 1) : tail) + resource.slice(base.length);
  const kind: ParsedResource['kind'] =
    base === LAB_WAIT_RESOURCE ? 'lab-wait'
    : base === LAB_PASS_RESOURCE ? 'lab-pass'
    : tail === 'lambda:invoke' ? 'lambda-invoke'
    : tail === 'states:startExecution' ? 'sfn-start'
    : tail === 'sns:publish' ? 'sns-publish'
    : 'other';
  return { kind, pattern, base, resourceType, resourceName };
}

function sdkMetadata(requestId: string) {
  return {
    SdkHttpMetadata: {
      AllHttpHeaders: { 'x-amzn-RequestId': [requestId], 'Content-Type': ['application/json'] },
      HttpHeaders: { 'x-amzn-RequestId': requestId, 'Content-Type': 'application/json' },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
  };
}

export class StepFunctionsEngine {
  private readonly machines = new Map<string, MachineEntry>();
  private readonly executions = new Map<string, Execution>();
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly sdkIntegrations = new Map<string, SdkIntegrationHandler>();
  private readonly messages: PublishedMessage[] = [];
  private readonly waitScale: number;
  private readonly retryScale: number;
  private seq = 0;
  private closing = false;

  constructor(private readonly options: EngineOptions) {
    this.waitScale = options.waitScale ?? 1;
    this.retryScale = options.retryScale ?? 1;
    const now = Date.now();
    for (const lab of Object.values(options.template.stateMachines)) {
      if (options.validate !== false) {
        try {
          new StateMachine(lab.definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
        } catch (err) {
          throw new Error(`state machine ${lab.name} (${lab.logicalId}) has an invalid definition: ${(err as Error).message}`);
        }
      }
      const prepared = prepareDefinition(lab.definition, { waitScale: this.waitScale, retryScale: this.retryScale });
      const machine = new StateMachine(prepared.runtime as never, { validationOptions: { noValidate: true } });
      this.machines.set(lab.arn, { lab, prepared, machine, creationDate: now });
    }
    if (options.historyDir) this.loadHistory(options.historyDir);
  }

  /** Resolves when the engine is ready to run tasks (obtains the timeout error class). */
  async ready(): Promise<void> {
    await statesTimeoutError();
  }

  registerSdkIntegration(resource: string, handler: SdkIntegrationHandler): void {
    this.sdkIntegrations.set(parseResource(resource).base, handler);
  }

  publishedMessages(): PublishedMessage[] {
    return this.messages.map((m) => ({ ...m }));
  }

  // ---------------------------------------------------------------- API

  startExecution(input: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string; startDate: number } {
    if (this.closing) throw new AwsServiceError('ServiceUnavailable', 'the lab Step Functions endpoint is shutting down', 503);
    const entry = this.machineFor(input.stateMachineArn);
    const name = input.name ?? randomUUID();
    if (!NAME_PATTERN.test(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    const text = input.input ?? '{}';
    if (Buffer.byteLength(text) > MAX_PAYLOAD) {
      throw new AwsServiceError('InvalidExecutionInput', 'Input exceeds the maximum size of 262144 bytes');
    }
    let parsed: Json;
    try {
      parsed = JSON.parse(text) as Json;
    } catch (err) {
      throw new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(err as Error).message}'`);
    }
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:${entry.lab.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // AWS StartExecution (Standard): same name + same input while the
      // execution is open returns the original response; a different input,
      // or any input once it has closed, is ExecutionAlreadyExists.
      if (existing.status === 'RUNNING' && existing.input === text) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const exec = this.launch(entry, executionArn, name, text, parsed);
    return { executionArn, startDate: exec.startDate };
  }

  describeExecution(executionArn: string): DescribedExecution {
    const e = this.executionFor(executionArn);
    return {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      ...(e.stopDate !== undefined ? { stopDate: e.stopDate } : {}),
      input: e.input,
      inputDetails: { included: true },
      ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } as const } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  async stopExecution(input: { executionArn: string; error?: string; cause?: string }): Promise<{ stopDate: number }> {
    const e = this.executionFor(input.executionArn);
    if (e.status === 'RUNNING') {
      e.stopRequest = { error: input.error, cause: input.cause };
      e.abortRun?.();
      await e.done;
    }
    return { stopDate: e.stopDate ?? Date.now() };
  }

  listExecutions(input: { stateMachineArn: string; statusFilter?: ExecutionStatus; maxResults?: number; nextToken?: string }) {
    this.machineFor(input.stateMachineArn);
    const all = [...this.executions.values()]
      .filter((e) => e.stateMachineArn === input.stateMachineArn && (!input.statusFilter || e.status === input.statusFilter))
      .sort((a, b) => b.startDate - a.startDate || b.seq - a.seq);
    const { items, nextToken } = page(all, input.maxResults, input.nextToken, 100);
    return {
      executions: items.map((e) => ({
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: e.startDate,
        ...(e.stopDate !== undefined ? { stopDate: e.stopDate } : {}),
      })),
      ...(nextToken ? { nextToken } : {}),
    };
  }

  getExecutionHistory(input: { executionArn: string; maxResults?: number; nextToken?: string; reverseOrder?: boolean; includeExecutionData?: boolean }) {
    const e = this.executionFor(input.executionArn);
    let events = [...e.events];
    if (input.reverseOrder) events.reverse();
    if (input.includeExecutionData === false) events = events.map(stripData);
    const { items, nextToken } = page(events, input.maxResults, input.nextToken, 100);
    return { events: items, ...(nextToken ? { nextToken } : {}) };
  }

  describeStateMachine(stateMachineArn: string) {
    const { lab, creationDate } = this.machineFor(stateMachineArn);
    return {
      stateMachineArn: lab.arn,
      name: lab.name,
      status: 'ACTIVE',
      definition: lab.definitionString,
      roleArn: lab.roleArn ?? `arn:aws:iam::000000000000:role/${lab.name}-role`,
      type: lab.type,
      creationDate,
    };
  }

  describeStateMachineForExecution(executionArn: string) {
    const e = this.executionFor(executionArn);
    const d = this.describeStateMachine(e.stateMachineArn);
    return { stateMachineArn: d.stateMachineArn, name: d.name, definition: d.definition, roleArn: d.roleArn, updateDate: d.creationDate };
  }

  listStateMachines(input: { maxResults?: number; nextToken?: string }) {
    const all = [...this.machines.values()].sort((a, b) => a.lab.name.localeCompare(b.lab.name));
    const { items, nextToken } = page(all, input.maxResults, input.nextToken, 100);
    return {
      stateMachines: items.map((m) => ({ stateMachineArn: m.lab.arn, name: m.lab.name, type: m.lab.type, creationDate: m.creationDate })),
      ...(nextToken ? { nextToken } : {}),
    };
  }

  sendTaskSuccess(taskToken: string, output: string): void {
    if (Buffer.byteLength(output) > MAX_PAYLOAD) throw new AwsServiceError('InvalidOutput', 'Output exceeds the maximum size of 262144 bytes');
    try {
      JSON.parse(output);
    } catch (err) {
      throw new AwsServiceError('InvalidOutput', `Invalid Output: '${(err as Error).message}'`);
    }
    this.settleToken(taskToken, { output });
  }

  sendTaskFailure(taskToken: string, error?: string, cause?: string): void {
    this.settleToken(taskToken, { error: error ?? '', cause: cause ?? '' });
  }

  sendTaskHeartbeat(taskToken: string): void {
    const entry = this.openToken(taskToken);
    entry.heartbeat?.();
  }

  /** Resolves when the execution has closed (handy for tests and `--wait`). */
  async waitForExecution(executionArn: string, timeoutMs = 60_000): Promise<DescribedExecution> {
    const e = this.executionFor(executionArn);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      e.done,
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${executionArn} still ${e.status} after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return this.describeExecution(executionArn);
  }

  /** Aborts every running execution (recorded as ABORTED) and flushes history. */
  async close(): Promise<void> {
    this.closing = true;
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    await Promise.all(running.map((e) => this.stopExecution({ executionArn: e.executionArn, cause: 'lab shut down' })));
  }

  // ------------------------------------------------------------ running

  private machineFor(arn: string): MachineEntry {
    if (typeof arn !== 'string' || !arn.startsWith('arn:aws:states:')) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const m = this.machines.get(arn);
    if (!m) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  private executionFor(arn: string): Execution {
    if (typeof arn !== 'string' || !arn.startsWith('arn:aws:states:')) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const e = this.executions.get(arn);
    if (!e) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
  }

  private record(e: Execution, type: string, details?: Record<string, unknown>, at = Date.now()): void {
    const id = e.events.length + 1;
    // Library events carry their own time; keep the history monotonic anyway.
    const previous = e.events.at(-1)?.timestamp;
    if (previous !== undefined) at = Math.max(at, previous * 1000);
    // All `<Type>StateEntered` events carry `stateEnteredEventDetails` (same for Exited).
    const detailsKey = type.endsWith('StateEntered')
      ? 'stateEnteredEventDetails'
      : type.endsWith('StateExited')
        ? 'stateExitedEventDetails'
        : type.charAt(0).toLowerCase() + type.slice(1) + 'EventDetails';
    e.events.push({ id, previousEventId: id - 1, timestamp: epochSeconds(at), type, ...(details ? { [detailsKey]: details } : {}) });
  }

  private launch(entry: MachineEntry, executionArn: string, name: string, text: string, parsed: Json): Execution {
    const startDate = Date.now();
    let finish!: () => void;
    const exec: Execution = {
      seq: ++this.seq,
      executionArn,
      stateMachineArn: entry.lab.arn,
      machineName: entry.lab.name,
      name,
      input: text,
      status: 'RUNNING',
      startDate,
      events: [],
      closed: new AbortController(),
      attemptsByState: new Map(),
      openAttempts: [],
      syncChildren: new Set(),
      done: new Promise<void>((r) => (finish = r)),
    };
    this.executions.set(executionArn, exec);
    const roleArn = entry.lab.roleArn ?? `arn:aws:iam::000000000000:role/${entry.lab.name}-role`;
    this.record(exec, 'ExecutionStarted', { input: text, inputDetails: { truncated: false }, roleArn });

    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [stateName, def] of entry.prepared.tasks) {
      handlers[stateName] = (input) => this.runTask(exec, entry, stateName, def, input);
    }
    const run = entry.machine.run(parsed, {
      overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: entry.prepared.waitOverridesMs },
      context: {
        Execution: { Id: executionArn, Name: name, RoleArn: roleArn, StartTime: new Date(startDate).toISOString() },
        StateMachine: { Id: entry.lab.arn, Name: entry.lab.name },
        State: { Name: CTX.stateName, EnteredTime: CTX.enteredTime, RetryCount: CTX.retryCount },
        Task: { Token: CTX.token },
      },
    });
    exec.abortRun = run.abort;
    const consumed = this.consumeEvents(exec, entry, run.eventLogs);
    void (async () => {
      let outcome: Pick<Execution, 'status' | 'output' | 'error' | 'cause'>;
      try {
        const output = await run.result;
        outcome = { status: 'SUCCEEDED', output: toJson(output) };
      } catch (err) {
        outcome = this.failureOutcome(exec, err);
      }
      await consumed;
      this.finalize(exec, outcome);
      finish();
    })();
    this.persist(exec);
    return exec;
  }

  private failureOutcome(exec: Execution, err: unknown): Pick<Execution, 'status' | 'error' | 'cause'> {
    if (err instanceof ExecutionAbortedError) {
      return { status: 'ABORTED', error: exec.stopRequest?.error, cause: exec.stopRequest?.cause };
    }
    if (err instanceof ExecutionTimeoutError) {
      return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution timed out (state machine TimeoutSeconds)' };
    }
    const inner = err instanceof ExecutionError ? (err as { cause?: unknown }).cause : err;
    if (inner instanceof Error) {
      // The library's Fail state defaults stand for "no Error/Cause given".
      const error = inner.name === 'FailStateError' ? undefined : inner.name;
      const cause = inner.message === 'Execution failed because of a Fail state' ? undefined : inner.message;
      return { status: 'FAILED', error, cause };
    }
    return { status: 'FAILED', error: 'States.Runtime', cause: String(inner) };
  }

  private finalize(exec: Execution, outcome: Pick<Execution, 'status' | 'output' | 'error' | 'cause'>): void {
    exec.status = outcome.status;
    exec.output = outcome.output;
    exec.error = outcome.error;
    exec.cause = outcome.cause;
    exec.stopDate = Date.now();
    for (const a of exec.openAttempts) a.closed = true;
    exec.openAttempts = [];
    exec.closed.abort();
    for (const [token, t] of this.tokens) if (t.executionArn === exec.executionArn) this.closeToken(token);
    const errorDetails = { ...(exec.error !== undefined ? { error: exec.error } : {}), ...(exec.cause !== undefined ? { cause: exec.cause } : {}) };
    switch (exec.status) {
      case 'SUCCEEDED':
        this.record(exec, 'ExecutionSucceeded', { output: exec.output, outputDetails: { truncated: false } });
        break;
      case 'FAILED':
        this.record(exec, 'ExecutionFailed', errorDetails);
        break;
      case 'TIMED_OUT':
        this.record(exec, 'ExecutionTimedOut', errorDetails);
        break;
      case 'ABORTED':
        this.record(exec, 'ExecutionAborted', errorDetails);
        break;
    }
    if (exec.status === 'ABORTED' || exec.status === 'TIMED_OUT') {
      // Like other `.sync` jobs, a child started with startExecution.sync is
      // stopped (best effort) when its parent is stopped or times out.
      for (const child of exec.syncChildren) {
        void this.stopExecution({ executionArn: child, error: 'States.Aborted', cause: `parent ${exec.executionArn} ${exec.status}` }).catch(() => undefined);
      }
    }
    this.persist(exec);
  }

  private async consumeEvents(exec: Execution, entry: MachineEntry, events: AsyncGenerator<any>): Promise<void> {
    const typeOf = (name: string) => entry.prepared.stateTypes.get(name) ?? 'Task';
    try {
      for await (const ev of events) {
        switch (ev.type) {
          case 'StateEntered': {
            const type = typeOf(ev.state.name);
            exec.attemptsByState.set(ev.state.name, 0);
            this.record(exec, `${type}StateEntered`, { name: ev.state.name, input: toJson(ev.state.input), inputDetails: { truncated: false } }, ev.timestamp);
            if (type === 'Map' || type === 'Parallel') this.record(exec, `${type}StateStarted`);
            break;
          }
          case 'StateExited': {
            const type = typeOf(ev.state.name);
            if (type === 'Map' || type === 'Parallel') this.record(exec, `${type}StateSucceeded`);
            this.record(exec, `${type}StateExited`, { name: ev.state.name, output: toJson(ev.state.output), outputDetails: { truncated: false } }, ev.timestamp);
            break;
          }
          case 'StateFailed': {
            const type = typeOf(ev.state.name);
            if (type === 'Map' || type === 'Parallel') this.record(exec, `${type}StateFailed`);
            if (type === 'Task' && ev.Error === 'States.Timeout') {
              const attempt = exec.openAttempts.find((a) => a.stateName === ev.state.name && !a.closed);
              if (attempt) this.timeOutAttempt(exec, attempt, 'The task did not complete within its TimeoutSeconds');
            }
            break;
          }
          case 'MapIterationStarted':
          case 'MapIterationSucceeded':
          case 'MapIterationFailed':
            this.record(exec, ev.type, { name: ev.parentState.name, index: ev.index });
            break;
        }
      }
    } catch {
      /* the log ends with the execution; nothing to recover */
    }
  }

  private timeOutAttempt(exec: Execution, attempt: Attempt, cause: string): void {
    attempt.closed = true;
    attempt.abort.abort();
    exec.openAttempts = exec.openAttempts.filter((a) => a !== attempt);
    if (attempt.token) this.closeToken(attempt.token);
    const details = { error: 'States.Timeout', cause };
    if (attempt.lambdaDirect) this.record(exec, 'LambdaFunctionTimedOut', details);
    else this.record(exec, 'TaskTimedOut', { resourceType: attempt.resourceType, resource: attempt.resource, ...details });
  }

  private async runTask(exec: Execution, entry: MachineEntry, stateName: string, def: StateDef, rawInput: Json): Promise<Json> {
    // Let the event consumer record the library's StateEntered first.
    await nextMacrotask();
    if (exec.status !== 'RUNNING' || exec.closed.signal.aborted) throw new ExecutionClosedError('execution closed');
    const parsed = parseResource(String(def.Resource));
    if (parsed.kind === 'lab-wait') {
      const original = entry.prepared.substituted.get(stateName)!;
      let ms: number;
      try {
        ms = waitMillis(original, rawInput, this.waitScale);
      } catch (err) {
        throw new StatesRuntimeError((err as Error).message);
      }
      await sleep(ms, exec.closed.signal);
      return rawInput;
    }
    if (parsed.kind === 'lab-pass') return (entry.prepared.substituted.get(stateName)!.Result ?? null) as Json;

    const retryCount = exec.attemptsByState.get(stateName) ?? 0;
    exec.attemptsByState.set(stateName, retryCount + 1);
    const token = parsed.pattern === 'token' ? `${randomBytes(24).toString('base64url')}` : undefined;
    const input = fillContext(rawInput, { token, stateName, enteredTime: new Date().toISOString(), retryCount }) as Json;
    const attempt: Attempt = {
      stateName,
      closed: false,
      token,
      resourceType: parsed.resourceType,
      resource: parsed.resourceName,
      lambdaDirect: parsed.kind === 'lambda-direct',
      abort: new AbortController(),
    };
    const signal = AbortSignal.any([attempt.abort.signal, exec.closed.signal]);
    exec.openAttempts.push(attempt);
    const timeoutInSeconds = typeof def.TimeoutSeconds === 'number' ? def.TimeoutSeconds : undefined;
    const heartbeatInSeconds = typeof def.HeartbeatSeconds === 'number' ? def.HeartbeatSeconds : undefined;
    if (attempt.lambdaDirect) {
      this.record(exec, 'LambdaFunctionScheduled', {
        resource: parsed.resourceName,
        input: toJson(input),
        inputDetails: { truncated: false },
        ...(timeoutInSeconds ? { timeoutInSeconds } : {}),
      });
      this.record(exec, 'LambdaFunctionStarted');
    } else {
      this.record(exec, 'TaskScheduled', {
        resourceType: parsed.resourceType,
        resource: parsed.resourceName,
        region: 'us-east-1',
        parameters: toJson(input),
        ...(timeoutInSeconds ? { timeoutInSeconds } : {}),
        ...(heartbeatInSeconds ? { heartbeatInSeconds } : {}),
      });
      this.record(exec, 'TaskStarted', { resourceType: parsed.resourceType, resource: parsed.resourceName });
    }
    if (token) this.tokens.set(token, { executionArn: exec.executionArn, stateName, state: 'open' });

    try {
      let result = await this.dispatch(exec, stateName, parsed, input, signal);
      if (token) result = await this.awaitToken(exec, attempt, token, heartbeatInSeconds, signal);
      if (!attempt.closed) {
        if (attempt.lambdaDirect) this.record(exec, 'LambdaFunctionSucceeded', { output: toJson(result), outputDetails: { truncated: false } });
        else this.record(exec, 'TaskSucceeded', { resourceType: parsed.resourceType, resource: parsed.resourceName, output: toJson(result), outputDetails: { truncated: false } });
      }
      return result;
    } catch (err) {
      const failure = err instanceof Error ? err : new TaskError('States.TaskFailed', String(err));
      if (!attempt.closed && !(failure instanceof ExecutionClosedError) && failure.name !== 'States.Timeout') {
        const details = { error: failure.name, cause: failure.message };
        if (attempt.lambdaDirect) this.record(exec, 'LambdaFunctionFailed', details);
        else this.record(exec, 'TaskFailed', { resourceType: parsed.resourceType, resource: parsed.resourceName, ...details });
      }
      throw failure;
    } finally {
      attempt.closed = true;
      exec.openAttempts = exec.openAttempts.filter((a) => a !== attempt);
      if (token) this.closeToken(token);
    }
  }

  private async dispatch(exec: Execution, stateName: string, r: ParsedResource, input: Json, signal: AbortSignal): Promise<Json> {
    switch (r.kind) {
      case 'lambda-invoke':
        return this.lambdaInvoke(input, false);
      case 'lambda-direct':
        return this.lambdaInvoke({ FunctionName: r.base, Payload: input }, true);
      case 'sfn-start':
        return this.startChild(exec, r, input, signal);
      case 'sns-publish':
        return this.snsPublish(exec, stateName, input);
      default: {
        const handler = this.sdkIntegrations.get(r.base);
        if (!handler) {
          throw new StatesRuntimeError(
            `The lab has no integration for resource ${r.base}; register one with registerSdkIntegration()`,
          );
        }
        try {
          return (await handler(input, { executionArn: exec.executionArn, stateName, resource: r.base, signal })) as Json;
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          const service = r.resourceType.replace(/^aws-sdk:/, '');
          const name = e.name.includes('.') ? e.name : `${service.charAt(0).toUpperCase()}${service.slice(1)}.${e.name}`;
          throw new TaskError(name, e.message);
        }
      }
    }
  }

  private async lambdaInvoke(params: Json, direct: boolean): Promise<Json> {
    const p = (params ?? {}) as Record<string, Json>;
    if (typeof p.FunctionName !== 'string') {
      throw new TaskError('Lambda.InvalidRequestContentException', 'FunctionName is required (Service: Lambda, Status Code: 400)');
    }
    const invocationType = p.InvocationType === 'Event' ? 'Event' : 'RequestResponse';
    let res;
    try {
      res = await this.options.lambda.invoke(p.FunctionName, p.Payload ?? {}, { invocationType });
    } catch (err) {
      if (err instanceof LambdaServiceError) {
        // Step Functions surfaces Lambda service exceptions as `Lambda.<Exception>`.
        throw new TaskError(
          `Lambda.${err.code}`,
          `${err.message} (Service: Lambda, Status Code: ${err.statusCode}, Request ID: ${randomUUID()})`,
        );
      }
      throw err;
    }
    if (res.functionError) {
      // The function's errorType is the error name; the Cause is the runtime's JSON error document.
      const { errorType, errorMessage, trace } = res.functionError;
      throw new TaskError(errorType, JSON.stringify({ errorMessage, errorType, trace }));
    }
    const value = (res.payload === undefined ? null : res.payload) as Json;
    if (direct) return value;
    return {
      ExecutedVersion: res.executedVersion,
      Payload: invocationType === 'Event' ? '' : value,
      ...sdkMetadata(res.requestId),
      StatusCode: res.statusCode,
    } as Json;
  }

  private async startChild(exec: Execution, r: ParsedResource, params: Json, signal: AbortSignal): Promise<Json> {
    const p = (params ?? {}) as Record<string, Json>;
    const input = p.Input === undefined ? '{}' : typeof p.Input === 'string' ? p.Input : JSON.stringify(p.Input);
    let started: { executionArn: string; startDate: number };
    try {
      started = this.startExecution({
        stateMachineArn: String(p.StateMachineArn),
        ...(typeof p.Name === 'string' ? { name: p.Name } : {}),
        input,
      });
    } catch (err) {
      if (err instanceof AwsServiceError) {
        const name = err.name.endsWith('Exception') ? err.name : `${err.name}Exception`;
        throw new TaskError(`StepFunctions.${name}`, `${err.message} (Service: AWSStepFunctions; Status Code: ${err.statusCode}; Error Code: ${err.name})`);
      }
      throw err;
    }
    if (r.pattern === 'request' || r.pattern === 'token') {
      return { ExecutionArn: started.executionArn, StartDate: started.startDate, ...sdkMetadata(randomUUID()) } as Json;
    }
    exec.syncChildren.add(started.executionArn);
    const child = this.executions.get(started.executionArn)!;
    this.record(exec, 'TaskSubmitted', {
      resourceType: r.resourceType,
      resource: r.resourceName,
      output: JSON.stringify({ ExecutionArn: started.executionArn, StartDate: started.startDate }),
      outputDetails: { truncated: false },
    });
    await Promise.race([child.done, abortPromise(signal)]);
    const d = this.describeExecution(started.executionArn);
    const parse = (s: string | undefined) => (s === undefined ? null : (JSON.parse(s) as Json));
    const structured = r.pattern === 'sync2';
    const description: Record<string, Json> = {
      ExecutionArn: d.executionArn,
      Input: structured ? parse(d.input) : d.input,
      InputDetails: { Included: true },
      Name: d.name,
      StartDate: d.startDate,
      StateMachineArn: d.stateMachineArn,
      Status: d.status,
      StopDate: d.stopDate ?? null,
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
    };
    if (d.status === 'SUCCEEDED') {
      description.Output = structured ? parse(d.output) : (d.output ?? null);
      description.OutputDetails = { Included: true };
      return description;
    }
    if (d.error !== undefined) description.Error = d.error;
    if (d.cause !== undefined) description.Cause = d.cause;
    // A child that fails, times out or is aborted fails the parent task with
    // States.TaskFailed; the Cause is the child's description as JSON.
    throw new TaskError('States.TaskFailed', JSON.stringify(description));
  }

  private snsPublish(exec: Execution, stateName: string, params: Json): Json {
    const p = (params ?? {}) as Record<string, Json>;
    const topicArn = String(p.TopicArn ?? p.TargetArn ?? '');
    const known = Object.values(this.options.template.topics).some((t) => t.topicArn === topicArn);
    if (!known) throw new TaskError('SNS.NotFoundException', `Topic does not exist (Service: Sns, Status Code: 404, Error Code: NotFound): ${topicArn}`);
    if (p.Message === undefined) throw new TaskError('SNS.InvalidParameterException', 'Invalid parameter: Message (Service: Sns, Status Code: 400)');
    const messageId = randomUUID();
    this.messages.push({
      messageId,
      topicArn,
      message: typeof p.Message === 'string' ? p.Message : JSON.stringify(p.Message),
      subject: typeof p.Subject === 'string' ? p.Subject : undefined,
      messageAttributes: p.MessageAttributes,
      executionArn: exec.executionArn,
      stateName,
      timestamp: Date.now(),
    });
    return { MessageId: messageId, ...sdkMetadata(randomUUID()) } as Json;
  }

  // ------------------------------------------------------------- tokens

  private async awaitToken(exec: Execution, attempt: Attempt, token: string, heartbeatSeconds: number | undefined, signal: AbortSignal): Promise<Json> {
    const entry = this.tokens.get(token)!;
    const TimeoutError = await statesTimeoutError();
    const outcome = await new Promise<{ output?: string; error?: string; cause?: string }>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        if (!heartbeatSeconds) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          // HeartbeatSeconds elapsed without SendTaskHeartbeat: States.Timeout.
          const e = new TimeoutError();
          e.message = 'States.Timeout';
          reject(e); // before timeOutAttempt aborts the signal, which would reject as "closed"
          this.timeOutAttempt(exec, attempt, `no heartbeat within HeartbeatSeconds (${heartbeatSeconds})`);
        }, heartbeatSeconds * 1000);
      };
      const done = (o: { output?: string; error?: string; cause?: string }) => {
        clearTimeout(timer);
        resolve(o);
      };
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new ExecutionClosedError('task closed'));
      }, { once: true });
      if (entry.early) return done(entry.early);
      entry.settle = done;
      entry.heartbeat = arm;
      arm();
    });
    if (outcome.output !== undefined) return JSON.parse(outcome.output) as Json;
    throw new TaskError(outcome.error ?? '', outcome.cause ?? '');
  }

  private openToken(taskToken: string): TokenEntry {
    const entry = typeof taskToken === 'string' ? this.tokens.get(taskToken) : undefined;
    if (!entry) throw new AwsServiceError('TaskDoesNotExist', 'Task Token does not exist');
    if (entry.state === 'closed') throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: the task for this token has already been closed');
    return entry;
  }

  private settleToken(taskToken: string, outcome: { output?: string; error?: string; cause?: string }): void {
    const entry = this.openToken(taskToken);
    if (entry.answered) throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: the task for this token has already been completed');
    entry.answered = true;
    if (entry.settle) entry.settle(outcome);
    else entry.early = outcome; // the callback beat the integration's own response
  }

  private closeToken(token: string): void {
    const entry = this.tokens.get(token);
    if (entry) entry.state = 'closed';
  }

  // ------------------------------------------------------------ history

  private persist(exec: Execution): void {
    const dir = this.options.historyDir;
    if (!dir) return;
    const folder = join(dir, exec.machineName);
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `${exec.name}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ execution: this.describeExecution(exec.executionArn), events: exec.events }));
    renameSync(tmp, file);
  }

  private loadHistory(dir: string): void {
    for (const stored of readHistoryDir(dir)) {
      const d = stored.execution;
      if (!this.machines.has(d.stateMachineArn) || this.executions.has(d.executionArn)) continue;
      const exec: Execution = {
        seq: ++this.seq,
        executionArn: d.executionArn,
        stateMachineArn: d.stateMachineArn,
        machineName: d.stateMachineArn.split(':').pop() ?? '',
        name: d.name,
        input: d.input,
        status: d.status,
        startDate: d.startDate,
        stopDate: d.stopDate,
        output: d.output,
        error: d.error,
        cause: d.cause,
        events: stored.events,
        closed: new AbortController(),
        attemptsByState: new Map(),
        openAttempts: [],
        syncChildren: new Set(),
        done: Promise.resolve(),
      };
      this.executions.set(exec.executionArn, exec);
      if (exec.status === 'RUNNING') {
        // The process that ran it is gone; the lab cannot resume an execution.
        this.finalize(exec, { status: 'ABORTED', error: 'Lab.EngineRestarted', cause: 'the lab Step Functions engine restarted while this execution was running' });
      }
    }
  }
}

/** Reads what `historyDir` holds: one JSON file per execution. */
export function readHistoryDir(dir: string): Array<{ execution: DescribedExecution; events: HistoryEvent[] }> {
  const out: Array<{ execution: DescribedExecution; events: HistoryEvent[] }> = [];
  let machines: string[];
  try {
    machines = readdirSync(dir);
  } catch {
    return out;
  }
  for (const m of machines) {
    let files: string[];
    try {
      files = readdirSync(join(dir, m)).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of files) {
      try {
        out.push(JSON.parse(readFileSync(join(dir, m, f), 'utf8')));
      } catch {
        /* a torn file from a crash is skipped, not fatal */
      }
    }
  }
  return out;
}

function page<T>(all: T[], maxResults: number | undefined, nextToken: string | undefined, defaultMax: number): { items: T[]; nextToken?: string } {
  let offset = 0;
  if (nextToken) {
    const decoded = Number(Buffer.from(nextToken, 'base64url').toString('utf8').replace(/^o:/, ''));
    if (!Number.isInteger(decoded) || decoded < 0 || decoded > all.length) throw new AwsServiceError('InvalidToken', `Invalid Token: '${nextToken}'`);
    offset = decoded;
  }
  const size = maxResults && maxResults > 0 ? Math.min(maxResults, 1000) : defaultMax;
  const items = all.slice(offset, offset + size);
  const next = offset + size < all.length ? Buffer.from(`o:${offset + size}`).toString('base64url') : undefined;
  return next ? { items, nextToken: next } : { items };
}

function stripData(e: HistoryEvent): HistoryEvent {
  const out: HistoryEvent = { ...e };
  for (const [k, v] of Object.entries(e)) {
    if (k.endsWith('EventDetails') && v && typeof v === 'object') {
      const { input: _i, output: _o, parameters: _p, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    }
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ExecutionClosedError('execution closed'));
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new ExecutionClosedError('execution closed'));
    }, { once: true });
  });
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(new ExecutionClosedError('task closed'));
    signal.addEventListener('abort', () => reject(new ExecutionClosedError('task closed')), { once: true });
  });
}
