/**
 * The registry's records as the operator API returns them: zod schemas built
 * from the same field schemas and enums the stores check their input with
 * (core/models.ts, the ports under core/registry/), each proved at compile
 * time to describe exactly the store's type, less what an operator must never
 * receive (a rollout's approval task token, lease tokens).
 */
import { z } from 'zod';
import { HostCompliance } from '../compliance/model';
import {
  BackupStatus,
  DatabaseMode,
  DataFormat,
  FailurePolicy,
  HostStep,
  RolloutHostResult,
  RolloutStatus,
  RunKind,
  RunOutcome,
  RunStatus,
  StepStatus,
  Tier,
  WaveStatus,
} from '../models';
import { ComplianceCheckStatus, DriftEvent } from '../registry/compliance/compliance-store';
import type {
  AuditEntry,
  Backup,
  ComplianceCheck,
  ComplianceFleetCounts,
  ComplianceResult,
  Fleet,
  Host,
  HostRun,
  Release,
  Rollout,
  RolloutHost,
  RolloutWave,
  RunStep,
} from '../registry/store';
import { EpochMs, sameShape, type Exactly } from './http';

const Json = z.record(z.string(), z.unknown());
const Ms = EpochMs;
const MsOrNull = EpochMs.nullable();

export const FleetView = z.object({
  id: z.string(),
  appProfile: z.string(),
  desiredVersion: z.string().nullable(),
  config: Json,
  createdAt: Ms,
  updatedAt: Ms,
});
sameShape<Exactly<z.output<typeof FleetView>, Fleet>>(true);

export const HostView = z.object({
  id: z.string(),
  fleetId: z.string(),
  instanceId: z.string(),
  tier: Tier,
  databaseMode: DatabaseMode,
  composeDir: z.string(),
  healthUrl: z.string(),
  wave: z.number().int().nullable(),
  observedVersion: z.string().nullable(),
  observedAt: MsOrNull,
  locked: z.boolean(),
  lockedReason: z.string().nullable(),
  retiredAt: MsOrNull.describe('when fleet apply retired the host (absent from the fleet file); null while it is in the fleet'),
  createdAt: Ms,
  updatedAt: Ms,
});
sameShape<Exactly<z.output<typeof HostView>, Omit<Host, 'leaseSeq'>>>(true);

export const RunView = z.object({
  id: z.string(),
  hostId: z.string(),
  rolloutId: z.string().nullable(),
  kind: RunKind,
  fromVersion: z.string().nullable(),
  targetVersion: z.string(),
  status: RunStatus,
  outcome: RunOutcome.nullable(),
  failedStep: HostStep.nullable(),
  commandId: z.string().nullable(),
  outputUri: z.string().nullable().describe('where the failing step\'s full output is (s3://…)'),
  message: z.string().nullable(),
  executionArn: z.string().nullable(),
  startedAt: Ms,
  finishedAt: MsOrNull,
});
sameShape<Exactly<z.output<typeof RunView>, Omit<HostRun, 'leaseToken'>>>(true);

export const StepView = z.object({
  runId: z.string(),
  step: HostStep,
  commandId: z.string(),
  status: StepStatus,
  result: Json.nullable(),
  error: z.string().nullable(),
  message: z.string().nullable(),
  outputUri: z.string().nullable().describe('where the step\'s full stdout and stderr are (s3://…)'),
  recordedAt: Ms,
});
sameShape<Exactly<z.output<typeof StepView>, RunStep>>(true);

export const BackupView = z.object({
  id: z.string(),
  hostId: z.string(),
  runId: z.string().nullable(),
  version: z.string(),
  mode: DatabaseMode,
  dataKey: z.string(),
  dataFormat: DataFormat,
  dataBytes: z.number().int().nullable(),
  dataSha256: z.string().nullable(),
  dataEntries: z.number().int().nullable(),
  configKey: z.string(),
  configBytes: z.number().int().nullable(),
  configSha256: z.string().nullable(),
  dataVersionId: z.string().nullable(),
  configVersionId: z.string().nullable(),
  status: BackupStatus,
  failure: z.string().nullable(),
  createdAt: Ms,
  verifiedAt: MsOrNull,
});
sameShape<Exactly<z.output<typeof BackupView>, Backup>>(true);

export const ReleaseView = z.object({
  version: z.string(),
  destructive: z.boolean(),
  requires: z.array(z.string()),
  notes: z.string(),
  link: z.string().nullable(),
  withdrawnAt: MsOrNull.describe('when the release was withdrawn; a withdrawn release is never upgraded to'),
  withdrawnReason: z.string().nullable(),
  createdAt: Ms,
  updatedAt: Ms,
});
sameShape<Exactly<z.output<typeof ReleaseView>, Release>>(true);

export const RolloutView = z.object({
  id: z.string(),
  fleetId: z.string(),
  targetVersion: z.string(),
  status: RolloutStatus,
  failurePolicy: FailurePolicy,
  attempt: z.number().int(),
  allowDestructive: z.boolean(),
  concurrency: z.number().int(),
  /** Production waits for an operator's approval (the task token itself never leaves the registry). */
  awaitingApproval: z.boolean(),
  approvedBy: z.string().nullable(),
  approvedAt: MsOrNull,
  executionArn: z.string().nullable(),
  plan: Json,
  createdAt: Ms,
  updatedAt: Ms,
});
sameShape<Exactly<z.output<typeof RolloutView>, Omit<Rollout, 'approvalToken'> & { awaitingApproval: boolean }>>(true);

export const rolloutView = (r: Rollout): z.input<typeof RolloutView> => {
  const { approvalToken, ...rest } = r;
  return { ...rest, awaitingApproval: approvalToken !== null };
};

export const RolloutHostView = z.object({
  rolloutId: z.string(),
  hostId: z.string(),
  wave: z.number().int(),
  attempt: z.number().int(),
  result: RolloutHostResult,
  outcome: z.string().nullable(),
  message: z.string().nullable(),
  executionArn: z.string().nullable(),
  updatedAt: Ms,
});
sameShape<Exactly<z.output<typeof RolloutHostView>, RolloutHost>>(true);

export const WaveView = z.object({
  rolloutId: z.string(),
  index: z.number().int(),
  name: z.string(),
  tier: Tier,
  hostIds: z.array(z.string()),
  maxFailures: z.number().int(),
  status: WaveStatus,
  failed: z.number().int(),
  succeeded: z.number().int(),
});
sameShape<Exactly<z.output<typeof WaveView>, RolloutWave>>(true);

export const ComplianceCheckView = z.object({
  id: z.string(),
  fleetId: z.string().nullable(),
  executionArn: z.string().nullable(),
  status: ComplianceCheckStatus,
  hostCount: z.number().int(),
  compliant: z.number().int().nullable(),
  nonCompliant: z.number().int().nullable(),
  unknown: z.number().int().nullable(),
  reportKey: z.string().nullable(),
  message: z.string().nullable(),
  drift: z.record(z.string(), z.object({ event: DriftEvent, notifiedAt: MsOrNull })),
  startedAt: Ms,
  finishedAt: MsOrNull,
});
sameShape<Exactly<z.output<typeof ComplianceCheckView>, ComplianceCheck>>(true);

export const ComplianceResultView = HostCompliance.extend({ checkId: z.string(), recordedAt: Ms });
sameShape<Exactly<z.output<typeof ComplianceResultView>, ComplianceResult>>(true);

export const ComplianceCountsView = z.object({
  fleetId: z.string(),
  hosts: z.number().int(),
  compliant: z.number().int(),
  nonCompliant: z.number().int(),
  unknown: z.number().int(),
});
sameShape<Exactly<z.output<typeof ComplianceCountsView>, ComplianceFleetCounts>>(true);

export const AuditView = z.object({
  id: z.number().int(),
  at: Ms,
  actor: z.string(),
  action: z.string(),
  hostId: z.string().nullable(),
  rolloutId: z.string().nullable(),
  runId: z.string().nullable(),
  details: Json,
});
sameShape<Exactly<z.output<typeof AuditView>, AuditEntry>>(true);
