/**
 * Starting and following Step Functions executions from the CLI.
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
} from '@aws-sdk/client-sfn';

export interface Started {
  executionArn: string;
  /** false when an execution of that name already existed (a duplicate start). */
  created: boolean;
}

export async function startExecution(sfn: SFNClient, stateMachineArn: string, name: string, input: unknown): Promise<Started> {
  try {
    const r = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { executionArn: r.executionArn!, created: true };
  } catch (err) {
    if (err instanceof ExecutionAlreadyExists || (err as Error).name === 'ExecutionAlreadyExists') {
      const arn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      return { executionArn: arn, created: false };
    }
    throw err;
  }
}

/** Step names as an operator reads them, from the state names of the host workflows. */
export function describeState(state: string): string | null {
  const m = /^Send(.+)$/.exec(state);
  if (m) return m[1]!.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  if (state === 'Restore') return 'restoring from the backup (HostRollback)';
  if (state === 'CompleteBackup') return 'verifying the backup in S3';
  if (state === 'BeginRun' || state === 'BeginRollback') return 'taking the host lease';
  return null;
}

export interface ExecutionResult {
  status: string;
  output: unknown;
  error: string | null;
  cause: string | null;
  executionArn: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Follow an execution until it ends, calling `onStep` for each host step it enters. */
export async function waitForExecution(
  sfn: SFNClient,
  executionArn: string,
  onStep: (step: string) => void = () => undefined,
  pollMs = 500,
): Promise<ExecutionResult> {
  const seen = new Set<number>();
  for (;;) {
    const d: DescribeExecutionCommandOutput = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    for (const e of history.events ?? []) {
      if (seen.has(e.id!)) continue;
      seen.add(e.id!);
      const name = e.stateEnteredEventDetails?.name;
      const label = name ? describeState(name) : null;
      if (label) onStep(label);
    }
    if (d.status !== 'RUNNING') {
      return {
        status: d.status!,
        output: d.output ? JSON.parse(d.output) : null,
        error: d.error ?? null,
        cause: d.cause ?? null,
        executionArn,
      };
    }
    await sleep(pollMs);
  }
}

export async function listRunning(sfn: SFNClient, stateMachineArn: string): Promise<string[]> {
  const r = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }));
  return (r.executions ?? []).map((e) => e.executionArn!);
}
