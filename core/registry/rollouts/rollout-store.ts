/**
 * The rollouts port: a fleet rollout with its attempt counter and approval
 * token, its planned waves with their failure budgets, and each host's result.
 *
 * Field names: a wave's own number is `index`; anything that points at a wave
 * (a rollout host, a host's pinned wave, a task event) calls it `wave`.
 */
import { z } from 'zod';
import {
  FailurePolicy,
  FleetId,
  HostId,
  RolloutHostResult,
  RolloutId,
  RolloutStatus,
  Tier,
  Version,
  WaveStatus,
} from '../../models';
import { ExecutionArn, JsonObject } from '../fields';
import { redactSecrets } from '../../redact';

/** A Step Functions task token: opaque, kept only to answer it. */
export const TaskToken = z.string().min(1);

export const PlannedWaveInput = z.object({
  index: z.number().int().min(0).max(1000),
  name: z.string().max(64),
  tier: Tier,
  hostIds: z.array(HostId).max(100_000),
  /** The wave fails once more than this many hosts failed. */
  maxFailures: z.number().int().min(0),
});

export const StartRolloutInput = z.object({
  id: RolloutId,
  fleetId: FleetId,
  targetVersion: Version,
  failurePolicy: FailurePolicy,
  allowDestructive: z.boolean(),
  concurrency: z.number().int().positive().max(10_000),
  /** The execution of this attempt: a retried task of the same execution finds its attempt, a new one starts the next. */
  executionArn: ExecutionArn,
  /** Stored on the first attempt only: the first plan, which `rollout status` compares the fleet with. */
  plan: JsonObject.default({}),
  /**
   * The waves against the fleet as it is now: stored at the first attempt, and replacing the
   * earlier attempt's waves at each resume (hosts added since are in them, retired hosts not).
   */
  waves: z.array(PlannedWaveInput).max(1000),
});
export type StartRolloutInput = z.input<typeof StartRolloutInput>;

export interface Rollout {
  id: string;
  fleetId: string;
  targetVersion: string;
  status: RolloutStatus;
  failurePolicy: FailurePolicy;
  /** 1 for the first execution, +1 for each resume. */
  attempt: number;
  allowDestructive: boolean;
  concurrency: number;
  /** The Step Functions task token while production waits for approval. */
  approvalToken: string | null;
  approvedBy: string | null;
  approvedAt: number | null;
  executionArn: string | null;
  plan: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface RolloutWave extends z.output<typeof PlannedWaveInput> {
  rolloutId: string;
  status: WaveStatus;
  /** As counted by the last wave evaluation. */
  failed: number;
  succeeded: number;
}

export const UpdateRolloutWaveInput = z.object({
  status: WaveStatus,
  failed: z.number().int().min(0),
  succeeded: z.number().int().min(0),
});
export type UpdateRolloutWaveInput = z.input<typeof UpdateRolloutWaveInput>;

export const RecordRolloutHostInput = z.object({
  rolloutId: RolloutId,
  hostId: HostId,
  wave: z.number().int().min(0).max(1000),
  attempt: z.number().int().min(0),
  result: RolloutHostResult,
  /** The run's outcome (core/models.ts RunOutcome) when the host had a run. */
  outcome: z.string().max(64).nullable(),
  /** Redacted and cut to 2,000 characters before it is stored. */
  message: z.string().nullable(),
  executionArn: ExecutionArn.nullable(),
});
export type RecordRolloutHostInput = z.input<typeof RecordRolloutHostInput>;

/** How a rollout host's message is stored, by every adapter: redacted, at most 2,000 characters, empty as null. */
export const storedMessage = (message: string | null): string | null => (message ? redactSecrets(message).slice(0, 2000) : null);

export interface RolloutHost extends z.output<typeof RecordRolloutHostInput> {
  updatedAt: number;
}

export interface RolloutStore {
  /**
   * Create the rollout with its waves (attempt 1, status `created`), or, when it exists, start
   * its next attempt: status running, the approval token cleared, the waves replaced by
   * `waves` (every one pending; host results are kept). Consent (`allowDestructive`), the
   * failure policy and the first plan are the first attempt's and never change. The same
   * execution calling again (a retried task) changes nothing. `resumed` is true for every
   * attempt after the first; `previousStatus` is the status the rollout had (null: created now).
   * @throws RolloutConflictError when the rollout exists for another fleet or version
   * @throws FleetNotFoundError
   */
  startRollout(input: StartRolloutInput): Promise<{ rollout: Rollout; resumed: boolean; previousStatus: RolloutStatus | null }>;
  /** null when there is no such rollout. */
  findRollout(rolloutId: string): Promise<Rollout | null>;
  /** @throws RolloutNotFoundError */
  getRollout(rolloutId: string): Promise<Rollout>;
  /** Newest first, at most 100. */
  listRollouts(filter?: { fleetId?: string }): Promise<Rollout[]>;
  /**
   * Also clears the approval token: a rollout that moves on no longer waits. `executionArn`:
   * the execution that now drives the rollout (a RolloutRollback). Only core/rollout-lifecycle.ts
   * calls it, one function per transition. @throws RolloutNotFoundError
   */
  setRolloutStatus(rolloutId: string, status: RolloutStatus, executionArn?: string): Promise<void>;
  /** Production waits: keep the task token an approval answers, status awaiting-approval. @throws RolloutNotFoundError */
  requestApproval(rolloutId: string, taskToken: string): Promise<void>;
  /** Clears the token, records who approved, status running. @throws RolloutNotFoundError */
  approveRollout(rolloutId: string, approvedBy: string): Promise<void>;

  /** In wave order. */
  listRolloutWaves(rolloutId: string): Promise<RolloutWave[]>;
  /** @throws RolloutNotFoundError when the rollout has no such wave */
  getRolloutWave(rolloutId: string, index: number): Promise<RolloutWave>;
  /** @throws RolloutNotFoundError when the rollout has no such wave */
  updateRolloutWave(rolloutId: string, index: number, update: UpdateRolloutWaveInput): Promise<void>;

  /** By host id; only the hosts of one wave when `wave` is given. */
  listRolloutHosts(rolloutId: string, filter?: { wave?: number }): Promise<RolloutHost[]>;
  /** One row per host and rollout: a later attempt's result replaces the earlier one. @throws RolloutNotFoundError, HostNotFoundError */
  recordRolloutHost(input: RecordRolloutHostInput): Promise<void>;
}
