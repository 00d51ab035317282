/**
 * Proof that a restore child was started by the execution holding the host's lease.
 *
 * Lease tokens are small per-host counters that every execution's state shows, so a token is
 * no proof. Step Functions adds the parent's execution id to a child's input
 * (`AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID`, with the StartExecution integration's
 * associateWithParent), but a console user can type that field too. What they cannot forge is
 * the parent's own history: a `startExecution.sync` task records TaskSubmitted with the
 * child's ExecutionArn in its output (Step Functions, "Start workflow executions from a task
 * state"). So the parent must (1) be the lease holder, and (2) show this child in its history.
 */
import { GetExecutionHistoryCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Lease } from '../registry/store';
import { NotStartedByLeaseHolderError } from './errors';

/** Reads a parent execution's history: did it start `childArn`? */
export interface ExecutionHistory {
  startedChild(parentArn: string, childArn: string): Promise<boolean>;
}

export class SfnExecutionHistory implements ExecutionHistory {
  constructor(
    private readonly sfn: SFNClient,
    /** Reads before giving up: the parent records TaskSubmitted once StartExecution returned, which can trail the child's first task. */
    private readonly attempts = 3,
    private readonly pauseMs = 1000,
  ) {}

  async startedChild(parentArn: string, childArn: string): Promise<boolean> {
    for (let i = 0; i < this.attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, this.pauseMs));
      if (await this.readOnce(parentArn, childArn)) return true;
    }
    return false;
  }

  private async readOnce(parentArn: string, childArn: string): Promise<boolean> {
    let nextToken: string | undefined;
    // newest first: the child was started by the parent's latest task
    for (let page = 0; page < 20; page++) {
      const out = await this.sfn.send(new GetExecutionHistoryCommand({ executionArn: parentArn, reverseOrder: true, maxResults: 200, nextToken }));
      for (const e of out.events ?? []) {
        if (e.type !== 'TaskSubmitted') continue;
        const output = e.taskSubmittedEventDetails?.output;
        if (!output) continue;
        try {
          if ((JSON.parse(output) as { ExecutionArn?: unknown }).ExecutionArn === childArn) return true;
        } catch {
          // not a StartExecution result
        }
      }
      nextToken = out.nextToken;
      if (!nextToken) return false;
    }
    return false;
  }
}

export async function proveStartedByLeaseHolder(p: {
  hostId: string;
  lease: Lease | null;
  parentArn: string | undefined;
  childArn: string;
  history: ExecutionHistory;
}): Promise<void> {
  const refuse = (why: string): never => {
    throw new NotStartedByLeaseHolderError(`refused to work under the lease of host ${p.hostId}: ${why}; a console rollback must not pass parentRunId or leaseToken`);
  };
  if (!p.parentArn) refuse('the request names no parent execution (only HostUpgrade\'s restore branch works under its lease)');
  // expiry and the token itself are the fence's to judge (assertLease: StaleLeaseError); this is about who
  if (!p.lease) refuse('the host has no lease');
  if (p.lease!.holder !== p.parentArn) refuse('the lease is held by another execution than the one named as parent');
  if (!(await p.history.startedChild(p.parentArn!, p.childArn))) refuse('the lease holder\'s history shows it did not start this execution');
}
