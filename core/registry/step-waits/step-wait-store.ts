/**
 * The step waits port: a host step's task token, waiting for its SSM command
 * to end (migration 006). One row per task attempt; the command id finds the
 * open rows when the command's status-change event arrives.
 */
import { z } from 'zod';
import { HostRunContext, SentCommand } from '../../models';

/** Step Functions task tokens are at most 2048 characters (SendTaskSuccess, API reference). */
export const StepTaskToken = z.string().min(1).max(2048);
export const CloseReason = z.string().min(1).max(200);

export const OpenStepWaitInput = z.object({ taskToken: StepTaskToken, run: HostRunContext, sent: SentCommand });
export type OpenStepWaitInput = z.input<typeof OpenStepWaitInput>;

export interface StepWait {
  taskToken: string;
  run: HostRunContext;
  sent: SentCommand;
  createdAt: number;
}

export interface StepWaitStore {
  /** Idempotent on the token (a retried send-step writes the same row). */
  openStepWait(input: OpenStepWaitInput): Promise<void>;
  /** Open waits for one command, oldest first. */
  listStepWaits(filter: { commandId: string }): Promise<StepWait[]>;
  /** Every open wait, oldest first, at most `limit`: what the safety poll walks. */
  listOpenStepWaits(limit: number): Promise<StepWait[]>;
  /** Open waits of one run (an execution that ended closes them). */
  listRunStepWaits(runId: string): Promise<StepWait[]>;
  /** No-op when already closed. */
  closeStepWait(taskToken: string, reason: string): Promise<void>;
}
