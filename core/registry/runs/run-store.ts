/**
 * The host runs port: one row per upgrade or rollback of one host, with the
 * outcome of each step. Writes are fenced by the lease the run was created under.
 */
import { z } from 'zod';
import { HostId, HostStep, RolloutId, RunKind, RunOutcome, StepOutcome, Version, type RunStatus } from '../../models';
import { ExecutionArn, Text } from '../fields';
import { LeaseToken } from '../leases/lease-store';

export const CreateRunInput = z.object({
  id: z.string().uuid(),
  hostId: HostId,
  rolloutId: RolloutId.nullable().default(null),
  kind: RunKind,
  fromVersion: Version.nullable(),
  targetVersion: Version,
  leaseToken: LeaseToken,
  executionArn: ExecutionArn.nullable().default(null),
});
export type CreateRunInput = z.input<typeof CreateRunInput>;

export interface HostRun {
  id: string;
  hostId: string;
  rolloutId: string | null;
  kind: RunKind;
  fromVersion: string | null;
  targetVersion: string;
  status: RunStatus;
  outcome: RunOutcome | null;
  failedStep: HostStep | null;
  commandId: string | null;
  outputUri: string | null;
  message: string | null;
  executionArn: string | null;
  leaseToken: number;
  startedAt: number;
  finishedAt: number | null;
}

/** What poll-step returns is what gets recorded (core/models.ts StepOutcome). */
export const RecordStepInput = StepOutcome;
export type RecordStepInput = z.input<typeof StepOutcome>;

export interface RunStep {
  runId: string;
  step: HostStep;
  commandId: string;
  status: RecordStepInput['status'];
  result: Record<string, unknown> | null;
  error: string | null;
  message: string | null;
  outputUri: string | null;
  recordedAt: number;
}

export interface RecordStepResult {
  /** false when the same data was already recorded (a retried Lambda). */
  changed: boolean;
  step: RunStep;
}

export const FinishRunInput = z.object({
  status: z.enum(['succeeded', 'failed']),
  outcome: RunOutcome,
  failedStep: HostStep.nullable().default(null),
  commandId: z.string().min(1).max(256).nullable().default(null),
  outputUri: z.string().max(2048).nullable().default(null),
  message: Text.nullable().default(null),
});
export type FinishRunInput = z.input<typeof FinishRunInput>;

export interface RunStore {
  /** Fenced on first creation; idempotent on id (returns the stored run). @throws RunConflictError */
  createRun(input: CreateRunInput): Promise<HostRun>;
  /** @throws RunNotFoundError */
  getRun(runId: string): Promise<HostRun>;
  /** Newest first. */
  listRuns(filter?: { hostId?: string; rolloutId?: string; limit?: number }): Promise<HostRun[]>;
  /**
   * Fenced. Overwrites the step's record only when the command id differs or
   * the status changes; identical data is a no-op. A terminal status is never
   * replaced by Pending for the same command (a late poll result).
   */
  recordStep(runId: string, leaseToken: number, step: RecordStepInput): Promise<RecordStepResult>;
  listSteps(runId: string): Promise<RunStep[]>;
  /**
   * Fenced and idempotent: finishing again with the same status/outcome/failedStep
   * returns the stored run even after the lease was released.
   * @throws RunAlreadyFinishedError when finished with a different result
   */
  finishRun(runId: string, leaseToken: number, result: FinishRunInput): Promise<HostRun>;
}
