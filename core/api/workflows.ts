/**
 * The Step Functions side of the operator API: starting the state machines,
 * reading an execution's progress, and answering a rollout's approval task
 * token. A port, so the routes are tested without AWS; `SfnWorkflows` is the
 * adapter over the ordinary SDK client (the lab's endpoint speaks the same
 * protocol).
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { z } from 'zod';

export const STATE_MACHINES = ['hostUpgrade', 'hostRollback', 'fleetRollout', 'rolloutRollback', 'complianceCheck'] as const;
export type StateMachineKey = (typeof STATE_MACHINES)[number];
export type StateMachineArns = Record<StateMachineKey, string>;

export const Started = z.object({
  executionArn: z.string(),
  /** false when an execution of that name was already running or done: a repeated start started nothing new. */
  created: z.boolean(),
});
export type Started = z.infer<typeof Started>;

export const ExecutionView = z.object({
  executionArn: z.string(),
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
  startedAt: z.number().int().nullable(),
  stoppedAt: z.number().int().nullable(),
  output: z.unknown(),
  error: z.string().nullable(),
  cause: z.string().nullable(),
  /** The states entered so far, in order (the host steps a `--wait` shows). */
  states: z.array(z.string()),
});
export type ExecutionView = z.infer<typeof ExecutionView>;

export interface Workflows {
  start(stateMachineArn: string, name: string, input: unknown): Promise<Started>;
  describe(executionArn: string): Promise<ExecutionView>;
  sendTaskSuccess(taskToken: string, output: unknown): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
}

/** An execution ARN is its state machine's ARN with `:execution:` and the name appended. */
export const executionArnOf = (stateMachineArn: string, name: string) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/** The state machine an execution ARN belongs to. */
export function stateMachineOf(executionArn: string): string | null {
  const m = /^(arn:[^:]+:states:[^:]*:[^:]*):execution:([^:]+):[^:]+$/.exec(executionArn);
  return m ? `${m[1]}:stateMachine:${m[2]}` : null;
}

export class SfnWorkflows implements Workflows {
  constructor(private readonly sfn: SFNClient) {}

  async start(stateMachineArn: string, name: string, input: unknown): Promise<Started> {
    try {
      const r = await this.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return { executionArn: r.executionArn!, created: true };
    } catch (err) {
      // Standard workflows: a name already used (running with other input, or closed) is refused
      // with ExecutionAlreadyExists; the operator is pointed at that execution.
      if (err instanceof ExecutionAlreadyExists || (err as Error).name === 'ExecutionAlreadyExists') {
        return { executionArn: executionArnOf(stateMachineArn, name), created: false };
      }
      throw err;
    }
  }

  async describe(executionArn: string): Promise<ExecutionView> {
    const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const states: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
      for (const e of page.events ?? []) if (e.stateEnteredEventDetails?.name) states.push(e.stateEnteredEventDetails.name);
      nextToken = page.nextToken;
    } while (nextToken && states.length < 5000);
    let output: unknown = null;
    try {
      output = d.output ? JSON.parse(d.output) : null;
    } catch {
      output = d.output;
    }
    return {
      executionArn,
      status: d.status as ExecutionView['status'],
      startedAt: d.startDate ? d.startDate.getTime() : null,
      stoppedAt: d.stopDate ? d.stopDate.getTime() : null,
      output,
      error: d.error ?? null,
      cause: d.cause ?? null,
      states,
    };
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    await this.sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    await this.sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }));
  }
}
