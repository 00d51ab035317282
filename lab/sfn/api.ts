/**
 * The lab's Step Functions: runs the CDK-synthesized state machines with
 * aws-local-stepfunctions and answers the Step Functions API about them
 * (server.ts puts this class behind the AWS JSON protocol).
 *
 * This module is the API surface: request-level rules (ARNs, paging, payload
 * limits) and the response shapes. The rest, by concern:
 * - execution-lifecycle.ts: start (names, idempotency), run, finish, stop;
 * - task-runner.ts: one attempt of a Task state;
 * - integrations.ts: Lambda, `states:startExecution` (.sync, .sync:2), SNS,
 *   registered `aws-sdk:*` handlers;
 * - task-tokens.ts: `.waitForTaskToken` and SendTask*;
 * - history.ts: history events and the `historyDir` files;
 * - definition.ts / errors.ts: the runtime copy of a definition, and errors
 *   shaped so Retry/Catch match them as on AWS.
 */
import { AwsServiceError } from '../aws-json';
import { REAL_TIME, type LabClock } from '../clock';
import type { LabTemplate } from '../template';
import { statesTimeoutError } from './errors';
import {
  ExecutionLifecycle,
  executionSummary,
  MAX_PAYLOAD,
  roleArnOf,
  type DescribedExecution,
  type ExecutionStatus,
  type ExecutionStatusChange,
} from './execution-lifecycle';
import { stripData } from './history';
import { executionMetrics, type ExecutionMetrics } from './limits';
import { ServiceIntegrations, type PublishedMessage, type SdkIntegrationHandler } from './integrations';
import type { LambdaRuntime } from './lambda-runtime';
import { TaskRunner } from './task-runner';
import { TaskTokens } from './task-tokens';

export interface EngineOptions {
  template: LabTemplate;
  lambda: LambdaRuntime;
  /** The lab's one time scale (lab/clock.ts): Wait states, Retry intervals, Task, heartbeat and execution timeouts. Default unscaled. */
  clock?: LabClock;
  /** Closed executions (and started ones) are written here as JSON and reloaded on start. */
  historyDir?: string;
  /** Validate each definition with the library's ASL validator at start. Default true. */
  validate?: boolean;
}

export class StepFunctionsEngine {
  private readonly tokens = new TaskTokens();
  private readonly integrations: ServiceIntegrations;
  private readonly lifecycle: ExecutionLifecycle;

  constructor(options: EngineOptions) {
    const clock = options.clock ?? REAL_TIME;
    this.integrations = new ServiceIntegrations({
      template: options.template,
      lambda: options.lambda,
      children: {
        // A child starts as StartExecution would start it (closing endpoint included).
        start: (input) => this.startExecution(input),
        closed: (executionArn) => this.lifecycle.executions.get(executionArn)!.done,
        describe: (executionArn) => this.describeExecution(executionArn),
      },
    });
    this.lifecycle = new ExecutionLifecycle({
      template: options.template,
      clock,
      historyDir: options.historyDir,
      validate: options.validate !== false,
      tasks: new TaskRunner({ clock, integrations: this.integrations, tokens: this.tokens }),
      tokens: this.tokens,
    });
  }

  /** Resolves when the engine is ready to run tasks (obtains the timeout error class). */
  async ready(): Promise<void> {
    await statesTimeoutError();
  }

  registerSdkIntegration(resource: string, handler: SdkIntegrationHandler): void {
    this.integrations.registerSdkIntegration(resource, handler);
  }

  /** Every execution that closes from now on, as Step Functions reports it to EventBridge. */
  onExecutionStatusChange(listener: (change: ExecutionStatusChange) => void): void {
    this.lifecycle.statusListeners.push(listener);
  }

  publishedMessages(): PublishedMessage[] {
    return this.integrations.publishedMessages();
  }

  startExecution(input: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string; startDate: number } {
    return this.lifecycle.start(input);
  }

  /** State transitions and history events of one execution so far (limits.ts). */
  executionMetrics(executionArn: string): ExecutionMetrics {
    return executionMetrics(this.lifecycle.execution(executionArn));
  }

  describeExecution(executionArn: string): DescribedExecution {
    return this.lifecycle.describe(executionArn);
  }

  stopExecution(input: { executionArn: string; error?: string; cause?: string }): Promise<{ stopDate: number }> {
    return this.lifecycle.stop(input);
  }

  listExecutions(input: { stateMachineArn: string; statusFilter?: ExecutionStatus; maxResults?: number; nextToken?: string }) {
    this.lifecycle.machine(input.stateMachineArn);
    const all = [...this.lifecycle.executions.values()]
      .filter((e) => e.stateMachineArn === input.stateMachineArn && (!input.statusFilter || e.status === input.statusFilter))
      .sort((a, b) => b.startDate - a.startDate || b.seq - a.seq);
    const { items, nextToken } = page(all, input.maxResults, input.nextToken, 100);
    return { executions: items.map(executionSummary), ...(nextToken ? { nextToken } : {}) };
  }

  getExecutionHistory(input: { executionArn: string; maxResults?: number; nextToken?: string; reverseOrder?: boolean; includeExecutionData?: boolean }) {
    const e = this.lifecycle.execution(input.executionArn);
    let events = [...e.events];
    if (input.reverseOrder) events.reverse();
    if (input.includeExecutionData === false) events = events.map(stripData);
    const { items, nextToken } = page(events, input.maxResults, input.nextToken, 100);
    return { events: items, ...(nextToken ? { nextToken } : {}) };
  }

  describeStateMachine(stateMachineArn: string) {
    const { lab, creationDate } = this.lifecycle.machine(stateMachineArn);
    return {
      stateMachineArn: lab.arn,
      name: lab.name,
      status: 'ACTIVE',
      definition: lab.definitionString,
      roleArn: roleArnOf(lab),
      type: lab.type,
      creationDate,
    };
  }

  describeStateMachineForExecution(executionArn: string) {
    const e = this.lifecycle.execution(executionArn);
    const d = this.describeStateMachine(e.stateMachineArn);
    return { stateMachineArn: d.stateMachineArn, name: d.name, definition: d.definition, roleArn: d.roleArn, updateDate: d.creationDate };
  }

  listStateMachines(input: { maxResults?: number; nextToken?: string }) {
    const all = [...this.lifecycle.machines.values()].sort((a, b) => a.lab.name.localeCompare(b.lab.name));
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
    this.tokens.succeed(taskToken, output);
  }

  sendTaskFailure(taskToken: string, error?: string, cause?: string): void {
    this.tokens.fail(taskToken, error ?? '', cause ?? '');
  }

  sendTaskHeartbeat(taskToken: string): void {
    this.tokens.heartbeat(taskToken);
  }

  /** Resolves when the execution has closed (handy for tests and `--wait`). */
  async waitForExecution(executionArn: string, timeoutMs = 60_000): Promise<DescribedExecution> {
    const e = this.lifecycle.execution(executionArn);
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
    await this.lifecycle.close();
  }
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
