/**
 * What starts a host run: the operator's (or FleetRollout's) request as the
 * Step Functions console takes it, the begin-run task's event, and the
 * health-check policy a run is verified with.
 */
import { z } from 'zod';
import { parseInput } from '../errors';
import { DEFAULT_HEALTH_CHECK, HealthCheckFields, HealthCheckPolicy, HostId, Reason, RolloutId, Version } from '../models';

export const HostUpgradeRequest = z
  .object({
    hostId: HostId,
    version: Version,
    rolloutId: RolloutId.nullable().optional(),
    allowDestructive: z.boolean().optional(),
    requestedBy: Reason.optional(),
    /** Overrides of the health-check policy (DEFAULT_HEALTH_CHECK) for this run and its restore. */
    healthCheck: HealthCheckFields.partial().optional(),
    /** Set by Step Functions when FleetRollout starts the run as a child. */
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
  })
  .strict();
export type HostUpgradeRequest = z.infer<typeof HostUpgradeRequest>;

export const HostRollbackRequest = z
  .object({
    hostId: HostId,
    backupId: z.string().uuid().optional(),
    toVersion: Version.optional(),
    reason: Reason,
    parentRunId: z.string().uuid().optional(),
    leaseToken: z.number().int().positive().optional(),
    requestedBy: Reason.optional(),
    /** Restore even though a later successful run changed the host since the backup (its changes are discarded). */
    force: z.boolean().optional(),
    /** HostUpgrade passes its run's policy, so the restore is verified the same way. */
    healthCheck: HealthCheckFields.partial().optional(),
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
  })
  .strict()
  .refine((r) => !(r.backupId && r.toVersion), { message: 'give backupId or toVersion, not both' })
  .refine((r) => (r.parentRunId === undefined) === (r.leaseToken === undefined), {
    message: 'parentRunId and leaseToken go together (only HostUpgrade sets them)',
  });
export type HostRollbackRequest = z.infer<typeof HostRollbackRequest>;

/** begin-run's event: which kind of run, the request as the execution received it, and the execution. */
export const BeginRunEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('upgrade'), request: HostUpgradeRequest, executionArn: z.string().min(1) }),
  z.object({ kind: z.literal('rollback'), request: HostRollbackRequest, executionArn: z.string().min(1) }),
]);
export type BeginRunEvent = z.infer<typeof BeginRunEvent>;

/**
 * The run's health-check policy: the defaults, then the fleet's (`healthCheck`
 * in the fleet file), then the request's overrides, checked as a whole.
 */
export function healthCheckOf(overrides: Partial<HealthCheckPolicy> | undefined, fleet?: unknown): HealthCheckPolicy {
  const fromFleet = HealthCheckFields.partial().safeParse((fleet as { healthCheck?: unknown } | undefined)?.healthCheck ?? {});
  return parseInput(HealthCheckPolicy, { ...DEFAULT_HEALTH_CHECK, ...(fromFleet.success ? fromFleet.data : {}), ...overrides }, 'healthCheck');
}

/** Who a run acts for: the request's requestedBy, else the execution. */
export const actorOf = (requestedBy: string | undefined, executionArn: string) => requestedBy ?? executionArn;
