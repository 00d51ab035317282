/**
 * The compliance checks port: every version-parity check and each host's
 * result in it, kept (never overwritten) so drift over time can be read back.
 */
import { z } from 'zod';
import { HostCompliance } from '../../compliance/model';
import { FleetId } from '../../models';
import { ExecutionArn, ObjectKey } from '../fields';

export const ComplianceCheckStatus = z.enum(['running', 'completed', 'failed']);
export type ComplianceCheckStatus = z.infer<typeof ComplianceCheckStatus>;
export const DriftEvent = z.enum(['drift-appeared', 'drift-cleared']);
export type DriftEvent = z.infer<typeof DriftEvent>;

export const CreateComplianceCheckInput = z.object({
  id: z.string().uuid(),
  fleetId: FleetId.nullable().default(null),
  executionArn: ExecutionArn.nullable().default(null),
  hostCount: z.number().int().min(0).max(1_000_000),
});
export type CreateComplianceCheckInput = z.input<typeof CreateComplianceCheckInput>;

export const CompleteComplianceCheckInput = z.object({
  results: z.array(HostCompliance).max(1_000_000),
  reportKey: ObjectKey.nullable(),
  /** Per fleet: the drift event this check raised, if any. */
  drift: z.record(FleetId, DriftEvent).default({}),
});
export type CompleteComplianceCheckInput = z.input<typeof CompleteComplianceCheckInput>;

export interface ComplianceCheck {
  id: string;
  fleetId: string | null;
  executionArn: string | null;
  status: ComplianceCheckStatus;
  hostCount: number;
  compliant: number | null;
  /** Includes UNKNOWN hosts. */
  nonCompliant: number | null;
  unknown: number | null;
  reportKey: string | null;
  message: string | null;
  /** fleetId → {event, notifiedAt (epoch ms) or null} */
  drift: Record<string, { event: DriftEvent; notifiedAt: number | null }>;
  startedAt: number;
  finishedAt: number | null;
}

export interface ComplianceResult extends HostCompliance {
  checkId: string;
  recordedAt: number;
}

export interface ComplianceFleetCounts {
  fleetId: string;
  hosts: number;
  compliant: number;
  nonCompliant: number;
  unknown: number;
}

export interface ComplianceCheckStore {
  /** Idempotent on id: returns the stored check when it exists. @throws FleetNotFoundError */
  createComplianceCheck(input: CreateComplianceCheckInput): Promise<ComplianceCheck>;
  getComplianceCheck(checkId: string): Promise<ComplianceCheck | null>;
  /**
   * Store every host's result and close the check, in one transaction.
   * Idempotent: a completed check is returned unchanged (`changed: false`).
   */
  completeComplianceCheck(checkId: string, input: CompleteComplianceCheckInput): Promise<{ check: ComplianceCheck; changed: boolean }>;
  /** Marks a running check failed; a completed one is left as it is. */
  failComplianceCheck(checkId: string, message: string): Promise<ComplianceCheck | null>;
  /** The newest completed check (covering `fleetId`, when given), optionally finished before `before`'s finish. */
  latestComplianceCheck(filter?: { fleetId?: string; before?: string }): Promise<ComplianceCheck | null>;
  /** Results of one check, by fleet then host. */
  listComplianceResults(checkId: string, filter?: { fleetId?: string }): Promise<ComplianceResult[]>;
  /** Per fleet of the check, counted from its results. */
  complianceCounts(checkId: string): Promise<ComplianceFleetCounts[]>;
  /** Records that the drift alert of `fleetId` in this check was published (idempotent). */
  markComplianceNotified(checkId: string, fleetId: string): Promise<void>;
}
