/**
 * Version-parity compliance: the shapes that travel between the inventory
 * command, the ComplianceCheck tasks, the registry, the S3 report and the CLI.
 * No AWS imports; patterns come from core/models.ts.
 */
import { z } from 'zod';
import { ComposeDir, FleetId, HostId, InstanceId, SERVICES, Version } from '../models';

export const COMPLIANCE_STATES = ['COMPLIANT', 'NON_COMPLIANT', 'UNKNOWN'] as const;
export const ComplianceState = z.enum(COMPLIANCE_STATES);
export type ComplianceState = z.infer<typeof ComplianceState>;

/**
 * Why a reachable host is NON_COMPLIANT. Independent facts: a host can have
 * several (a data-service left on 1.4.0 is both `mixed-versions` and
 * `not-desired-version` when the fleet wants 1.5.0).
 */
export const DRIFT_REASONS = [
  'mixed-versions',
  'not-desired-version',
  'pinned-differs-from-running',
  'unpinned-or-latest',
  'service-not-running',
  /** The release it runs was withdrawn by the vendor (`fleetwave release withdraw`, or its releases file). */
  'withdrawn-release',
] as const;
export const DriftReason = z.enum(DRIFT_REASONS);
export type DriftReason = z.infer<typeof DriftReason>;

/** Why a host is UNKNOWN: nothing trustworthy was read from it. */
export const UNKNOWN_CAUSES = ['agent-offline', 'not-managed', 'undeliverable', 'timed-out', 'inventory-failed', 'no-inventory'] as const;
export const UnknownCause = z.enum(UNKNOWN_CAUSES);
export type UnknownCause = z.infer<typeof UnknownCause>;

/** The `inventory` step's result line (docs/contracts.md), as far as parity needs it. */
const Tag = z.string().max(128).nullable();
export const InventoryResult = z.object({
  step: z.literal('inventory'),
  ok: z.literal(true),
  services: z.record(
    z.string(),
    z.object({ image: z.string().max(512).nullable(), tag: Tag, digest: z.string().max(256).nullable(), running: z.boolean() }),
  ),
  pinned: z.record(z.string(), Tag),
  /** Per service the digest the configuration pins (`repo:tag@sha256:…`), null when it pins a tag alone. */
  pinnedDigests: z.record(z.string(), z.string().max(256).nullable()).optional(),
  logVersion: z.string().max(128).nullable().optional(),
});
export type InventoryResult = z.infer<typeof InventoryResult>;

/** What was read from one host in one check (written per batch to S3). */
export const HostObservation = z.discriminatedUnion('reached', [
  z.object({ hostId: HostId, instanceId: InstanceId, reached: z.literal(true), inventory: InventoryResult }),
  z.object({ hostId: HostId, instanceId: InstanceId, reached: z.literal(false), cause: UnknownCause, message: z.string().max(1000) }),
]);
export type HostObservation = z.infer<typeof HostObservation>;

export const HostCompliance = z.object({
  hostId: HostId,
  fleetId: FleetId,
  instanceId: InstanceId,
  state: ComplianceState,
  /** Sorted; empty unless NON_COMPLIANT. */
  reasons: z.array(DriftReason),
  /** Set only when UNKNOWN. */
  unknownCause: UnknownCause.nullable(),
  /** One sentence per reason (or the unknown cause), for people. */
  details: z.array(z.string()),
  desiredVersion: Version.nullable(),
  /** The one version all running services share; null when mixed, stopped or unknown. */
  runningVersion: z.string().nullable(),
  /** Per service: the running tag (null when not running or unknown). */
  running: z.record(z.string(), z.string().nullable()),
  /** Per service: the tag pinned in the compose file (null when unpinned). */
  pinned: z.record(z.string(), z.string().nullable()),
});
export type HostCompliance = z.infer<typeof HostCompliance>;

export interface FleetCounts {
  fleetId: string;
  desiredVersion: string | null;
  hosts: number;
  compliant: number;
  /** NON_COMPLIANT hosts plus UNKNOWN ones: an unreachable host is never counted as fine. */
  nonCompliant: number;
  /** UNKNOWN hosts alone (already included in nonCompliant). */
  unknown: number;
  /** Hosts quarantined (a failed restore; no upgrade until an operator unlocks them) when the check was planned. */
  quarantined: number;
}

/** Drift, for alerts: any host of the fleet not COMPLIANT. */
export type DriftEvent = 'drift-appeared' | 'drift-cleared';

// ---------------------------------------------------------------- task payloads

/** ComplianceCheck input: `{}` (every fleet) or `{"fleetId": "acme"}`. */
export const ComplianceCheckInput = z.object({ fleetId: FleetId.optional() }).strict();
export type ComplianceCheckInput = z.infer<typeof ComplianceCheckInput>;

/** One SendCommand: hosts sharing a compose dir (the one document parameter), at most MAX_BATCH_SIZE. */
export const Batch = z.object({
  index: z.number().int().min(0),
  composeDir: ComposeDir,
  hosts: z.array(z.object({ hostId: HostId, instanceId: InstanceId, fleetId: FleetId })).min(1).max(50),
});
export type Batch = z.infer<typeof Batch>;

/** Written to S3 by plan; the state carries only `{checkId, index}` per batch. */
export const CheckPlan = z.object({
  checkId: z.string().uuid(),
  fleetId: FleetId.nullable(),
  /** Fleets in scope with their desired version at plan time. */
  /** Fleets in scope with their desired version and how many of their hosts were quarantined, at plan time. */
  fleets: z.array(z.object({ fleetId: FleetId, desiredVersion: Version.nullable(), quarantined: z.number().int().min(0).default(0) })),
  /** Releases withdrawn at plan time, with why (plans written before withdrawal existed have none). */
  withdrawn: z.array(z.object({ version: Version, reason: z.string().max(4000) })).default([]),
  batches: z.array(Batch),
  startedAt: z.number().int(),
});
export type CheckPlan = z.infer<typeof CheckPlan>;

/** What send records per batch (S3), so a retried send or a collect knows what happened. */
export const BatchSend = z.object({
  index: z.number().int().min(0),
  commandId: z.string().min(1).nullable(),
  sentTo: z.array(InstanceId),
  /** Hosts never sent to (offline, not managed): already UNKNOWN. */
  unreachable: z.array(z.object({ instanceId: InstanceId, cause: UnknownCause, message: z.string() })),
  sentAt: z.number().int(),
  /** Epoch ms after which collect stops waiting and reports the rest `timed-out`. */
  deadline: z.number().int(),
});
export type BatchSend = z.infer<typeof BatchSend>;

export const BatchObservations = z.object({ index: z.number().int().min(0), observations: z.array(HostObservation) });
export type BatchObservations = z.infer<typeof BatchObservations>;

/** The JSON report at `compliance/<checkId>.json`. */
export interface ComplianceReport {
  checkId: string;
  fleetId: string | null;
  startedAt: string;
  finishedAt: string;
  /** UNKNOWN hosts count as non-compliant in `totals.nonCompliant` and in the metric; `unknown` repeats them. */
  totals: { hosts: number; compliant: number; nonCompliant: number; unknown: number };
  fleets: FleetReport[];
}

export interface FleetReport {
  fleetId: string;
  desiredVersion: string | null;
  counts: FleetCounts;
  drift: DriftEvent | null;
  hosts: HostCompliance[];
}

export const SERVICE_NAMES: readonly string[] = SERVICES;
