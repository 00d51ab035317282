/**
 * The life of an execution: StartExecution's name and input rules and its
 * idempotency, the run on aws-local-stepfunctions (which interprets the ASL:
 * paths, Choice, Retry/Catch, Map, Parallel, Wait, execution and Task
 * TimeoutSeconds), the outcome the library's result maps to, stop, and the
 * close that aborts open attempts, tokens and `.sync` children. Executions
 * are written to `historyDir` as they start and close, and reloaded on start.
 */
import './polyfill';
import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { AwsServiceError } from '../aws-json';
import type { LabClock } from '../clock';
import type { LabStateMachine, LabTemplate } from '../template';
import { prepareDefinition, type Json, type PreparedDefinition } from './definition';
import {
  persistExecution,
  readHistoryDir,
  recordEvent,
  recordExecutionClosed,
  recordLibraryEvents,
  toJson,
  type HistoryEvent,
} from './history';
import { limitOutcome, MAX_PAYLOAD_BYTES } from './limits';
import type { TaskTokens } from './task-tokens';
import { CTX, type TaskRunner } from './task-runner';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** ListExecutions' view of an execution; DescribeExecution starts with the same fields. */
export interface ExecutionSummary {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
}

export interface DescribedExecution extends ExecutionSummary {
  input: string;
  inputDetails: { included: true };
  output?: string;
  outputDetails?: { included: true };
  error?: string;
  cause?: string;
  redriveCount: 0;
  redriveStatus: 'NOT_REDRIVABLE';
}

export interface MachineEntry {
  lab: LabStateMachine;
  prepared: PreparedDefinition;
  machine: StateMachine;
  creationDate: number;
}

/** One attempt of a Task state, open until it answers, fails or times out. */
export interface Attempt {
  stateName: string;
  closed: boolean;
  token: string | undefined;
  resourceType: string;
  resource: string;
  lambdaDirect: boolean;
  abort: AbortController;
}

export interface Execution {
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
  /** Set when a Step Functions quota ended the execution (limits.ts): its terminal error. */
  limitFailure?: { error: string; cause: string };
  /** States entered and retried so far (limits.ts `executionMetrics`). */
  stateTransitions: number;
  attemptsByState: Map<string, number>;
  openAttempts: Attempt[];
  syncChildren: Set<string>;
  done: Promise<void>;
}

type Outcome = Pick<Execution, 'status' | 'output' | 'error' | 'cause'>;

/** Step Functions' limit for execution input and task output (limits.ts). */
export const MAX_PAYLOAD = MAX_PAYLOAD_BYTES;
const NAME_PATTERN = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

export const roleArnOf = (lab: LabStateMachine): string => lab.roleArn ?? `arn:aws:iam::000000000000:role/${lab.name}-role`;

export function executionSummary(e: Execution): ExecutionSummary {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: e.startDate,
    ...(e.stopDate !== undefined ? { stopDate: e.stopDate } : {}),
  };
}

export interface LifecycleOptions {
  template: LabTemplate;
  clock: LabClock;
  historyDir: string | undefined;
  validate: boolean;
  tasks: TaskRunner;
  tokens: TaskTokens;
}

/** What Step Functions sends EventBridge when an execution closes ("Step Functions Execution Status Change"). */
export type ExecutionStatusChange = Pick<Execution, 'executionArn' | 'stateMachineArn' | 'name' | 'status' | 'startDate' | 'stopDate' | 'input' | 'output' | 'error' | 'cause'>;

export class ExecutionLifecycle {
  /** Told of every execution that closes (lab/events.ts turns them into EventBridge events). */
  readonly statusListeners: ((change: ExecutionStatusChange) => void)[] = [];
  readonly machines = new Map<string, MachineEntry>();
  readonly executions = new Map<string, Execution>();
  private seq = 0;
  private closing = false;

  constructor(private readonly options: LifecycleOptions) {
    const now = Date.now();
    for (const lab of Object.values(options.template.stateMachines)) {
      if (options.validate) {
        try {
          new StateMachine(lab.definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
        } catch (err) {
          throw new Error(`state machine ${lab.name} (${lab.logicalId}) has an invalid definition: ${(err as Error).message}`);
        }
      }
      const prepared = prepareDefinition(lab.definition, { clock: options.clock });
      const machine = new StateMachine(prepared.runtime as never, { validationOptions: { noValidate: true } });
      this.machines.set(lab.arn, { lab, prepared, machine, creationDate: now });
    }
    if (options.historyDir) this.loadHistory(options.historyDir);
  }

  start(input: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string; startDate: number } {
    if (this.closing) throw new AwsServiceError('ServiceUnavailable', 'the lab Step Functions endpoint is shutting down', 503);
    const entry = this.machine(input.stateMachineArn);
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

  describe(executionArn: string): DescribedExecution {
    const e = this.execution(executionArn);
    return {
      ...executionSummary(e),
      input: e.input,
      inputDetails: { included: true },
      ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } as const } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  async stop(input: { executionArn: string; error?: string; cause?: string }): Promise<{ stopDate: number }> {
    const e = this.execution(input.executionArn);
    if (e.status === 'RUNNING') {
      e.stopRequest = { error: input.error, cause: input.cause };
      e.abortRun?.();
      await e.done;
    }
    return { stopDate: e.stopDate ?? Date.now() };
  }

  /** Refuses new executions, then aborts every running one. */
  async close(): Promise<void> {
    this.closing = true;
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    await Promise.all(running.map((e) => this.stop({ executionArn: e.executionArn, cause: 'lab shut down' })));
  }

  machine(arn: string): MachineEntry {
    if (typeof arn !== 'string' || !arn.startsWith('arn:aws:states:')) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const m = this.machines.get(arn);
    if (!m) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  execution(arn: string): Execution {
    if (typeof arn !== 'string' || !arn.startsWith('arn:aws:states:')) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const e = this.executions.get(arn);
    if (!e) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
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
      stateTransitions: 0,
      closed: new AbortController(),
      attemptsByState: new Map(),
      openAttempts: [],
      syncChildren: new Set(),
      done: new Promise<void>((r) => (finish = r)),
    };
    this.executions.set(executionArn, exec);
    const roleArn = roleArnOf(entry.lab);
    recordEvent(exec, 'ExecutionStarted', { input: text, inputDetails: { truncated: false }, roleArn });

    const { tasks } = this.options;
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [stateName, def] of entry.prepared.tasks) {
      handlers[stateName] = (input) => tasks.run(exec, entry.prepared, stateName, def, input);
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
    const consumed = recordLibraryEvents(exec, entry.prepared.stateTypes, run.eventLogs, {
      stateEntered: (stateName) => exec.attemptsByState.set(stateName, 0),
      taskTimedOut: (stateName) => {
        const attempt = exec.openAttempts.find((a) => a.stateName === stateName && !a.closed);
        if (attempt) tasks.timeOut(exec, attempt, 'The task did not complete within its TimeoutSeconds');
      },
    });
    void (async () => {
      let outcome: Outcome;
      try {
        const output = await run.result;
        outcome = { status: 'SUCCEEDED', output: toJson(output) };
      } catch (err) {
        outcome = failureOutcome(exec, err);
      }
      await consumed;
      outcome = limitOutcome(exec) ?? outcome;
      this.finalize(exec, outcome);
      finish();
    })();
    this.persist(exec);
    return exec;
  }

  private finalize(exec: Execution, outcome: Outcome): void {
    exec.status = outcome.status;
    exec.output = outcome.output;
    exec.error = outcome.error;
    exec.cause = outcome.cause;
    exec.stopDate = Date.now();
    for (const a of exec.openAttempts) a.closed = true;
    exec.openAttempts = [];
    exec.closed.abort();
    this.options.tokens.closeFor(exec.executionArn);
    recordExecutionClosed(exec);
    if (exec.status === 'ABORTED' || exec.status === 'TIMED_OUT') {
      // Like other `.sync` jobs, a child started with startExecution.sync is
      // stopped (best effort) when its parent is stopped or times out.
      for (const child of exec.syncChildren) {
        void this.stop({ executionArn: child, error: 'States.Aborted', cause: `parent ${exec.executionArn} ${exec.status}` }).catch(() => undefined);
      }
    }
    this.persist(exec);
    const { executionArn, stateMachineArn, name, status, startDate, stopDate, input, output, error, cause } = exec;
    for (const listener of this.statusListeners) listener({ executionArn, stateMachineArn, name, status, startDate, stopDate, input, output, error, cause });
  }

  private persist(exec: Execution): void {
    const dir = this.options.historyDir;
    if (!dir) return;
    persistExecution(dir, exec, this.describe(exec.executionArn));
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
        stateTransitions: stored.events.filter((ev) => ev.type.endsWith('StateEntered')).length,
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

/** What the library's rejection means for the execution. */
function failureOutcome(exec: Execution, err: unknown): Pick<Execution, 'status' | 'error' | 'cause'> {
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
