/**
 * The registry side of a host run: begin (validate, lease, run row), record
 * each step's outcome and decide what it means, finish (outcome, lease,
 * quarantine, alert). Pure over the RegistryStore port and an alert sink, so
 * tests run it against a real PostgreSQL without any AWS.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { classifyError, classifyStep } from './classify';
import {
  DEFAULT_HEALTH_CHECK,
  HealthCheckFields,
  HealthCheckPolicy,
  HostId,
  HostRunContext,
  HostStep,
  Reason,
  RolloutId,
  RunOutcome,
  StepOutcome,
  Version,
  type HostStep as HostStepT,
  type RunOutcome as RunOutcomeT,
} from './models';
import { decideUpgradePath } from './release-rules';
import type { Backup, RegistryStore } from './registry/store';

// ── errors the state machines match by name ─────────────────────────────────
export class InvalidTaskInputError extends Error {
  override name = 'InvalidTaskInputError';
}
export class UnknownReleaseError extends Error {
  override name = 'UnknownReleaseError';
}
export class DestructiveConsentRequiredError extends Error {
  override name = 'DestructiveConsentRequiredError';
}
export class UpgradePathRefusedError extends Error {
  override name = 'UpgradePathRefusedError';
}
export class NoUsableBackupError extends Error {
  override name = 'NoUsableBackupError';
}

export interface AlertSink {
  publish(subject: string, message: Record<string, unknown>): Promise<void>;
}

export interface HostRunDeps {
  store: RegistryStore;
  alerts: AlertSink;
  leaseTtlSeconds: number;
  now?: () => number;
}

/** Parse with zod, turning failures into a message that names every bad field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const fields = r.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ');
    throw new InvalidTaskInputError(`invalid ${what}: ${fields}`);
  }
  return r.data;
}

/** Run ids derive from the execution, so a retried begin-run finds its own run. */
export function runIdFor(executionArn: string): string {
  const h = createHash('sha256').update(`fleetwave-run:${executionArn}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The state machines start `backup`, `verdict` and `error` as `{}` (CDK drops null literals). */
export const emptyAsNull = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? null : v), schema.nullable().optional());

// ── inputs (what an operator types into the console) ────────────────────────
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

/**
 * The run's health-check policy: the defaults, then the fleet's (`healthCheck`
 * in the fleet file), then the request's overrides, checked as a whole.
 */
const healthCheckOf = (overrides: Partial<HealthCheckPolicy> | undefined, fleet?: unknown): HealthCheckPolicy => {
  const fromFleet = HealthCheckFields.partial().safeParse((fleet as { healthCheck?: unknown } | undefined)?.healthCheck ?? {});
  return parseInput(HealthCheckPolicy, { ...DEFAULT_HEALTH_CHECK, ...(fromFleet.success ? fromFleet.data : {}), ...overrides }, 'healthCheck');
};

const actorOf = (requestedBy: string | undefined, executionArn: string) => requestedBy ?? executionArn;
/** The actor as the run context carries it (Reason: printable ASCII, at most 500 characters). */
const runActor = (actor: string) => actor.replace(/[^\x20-\x7E]/g, '?').slice(0, 500);

// ── begin ───────────────────────────────────────────────────────────────────
export async function beginUpgrade(requestIn: unknown, executionArn: string, deps: HostRunDeps): Promise<HostRunContext> {
  const request = parseInput(HostUpgradeRequest, requestIn, 'HostUpgrade input');
  healthCheckOf(request.healthCheck); // a bad override is refused before anything is read
  const { store } = deps;
  const host = await store.getHost(request.hostId);
  const healthCheck = healthCheckOf(request.healthCheck, (await store.getFleet(host.fleetId)).config);
  const release = await store.getRelease(request.version);
  const actor = actorOf(request.requestedBy, executionArn);
  const refuse = async (err: Error) => {
    await store.appendAudit({ actor, action: 'upgrade.refused', hostId: host.id, details: { version: request.version, reason: err.message } });
    throw err;
  };
  if (!release) return refuse(new UnknownReleaseError(`version ${request.version} is not in the release catalog`));
  if (host.observedVersion) {
    const path = decideUpgradePath(host.observedVersion, request.version, await store.listReleases());
    if (path.kind === 'refused') return refuse(new UpgradePathRefusedError(path.reason));
    if (path.kind === 'proceed' && path.destructive && !request.allowDestructive) {
      return refuse(
        new DestructiveConsentRequiredError(
          `${host.observedVersion} → ${request.version} crosses a destructive release (${path.crossed.join(', ')}): pass allowDestructive (--allow-destructive) after checking the backup`,
        ),
      );
    }
  }
  // An unknown rollout must be refused before the lease is taken: createRun's
  // foreign key would otherwise fail after acquireLease and leave the host
  // leased (blocked) until the TTL runs out. Throws RolloutNotFoundError.
  if (request.rolloutId) await store.getRollout(request.rolloutId);
  const runId = runIdFor(executionArn);
  const lease = await store.acquireLease(host.id, executionArn, deps.leaseTtlSeconds);
  const run = await store.createRun({
    id: runId,
    hostId: host.id,
    rolloutId: request.rolloutId ?? null,
    kind: 'upgrade',
    fromVersion: host.observedVersion,
    targetVersion: request.version,
    leaseToken: lease.token,
    executionArn,
  });
  await store.appendAudit({
    actor,
    action: 'upgrade.started',
    hostId: host.id,
    runId,
    rolloutId: request.rolloutId ?? null,
    details: { from: host.observedVersion, to: request.version, allowDestructive: request.allowDestructive ?? false },
  });
  return HostRunContext.parse({
    runId,
    kind: 'upgrade',
    hostId: host.id,
    fleetId: host.fleetId,
    instanceId: host.instanceId,
    composeDir: host.composeDir,
    healthUrl: host.healthUrl,
    mode: host.databaseMode,
    fromVersion: host.observedVersion,
    targetVersion: request.version,
    rolloutId: request.rolloutId ?? null,
    leaseToken: lease.token,
    startedAt: run.startedAt,
    healthCheck,
    requestedBy: runActor(actor),
  });
}

/** The backup a rollback restores, as the restore step needs it. */
export interface RestoreSource {
  backupId: string;
  version: string;
  mode: 'embedded' | 'external';
  dataKey: string;
  dataFormat: string;
  dataSha256: string;
  configKey: string;
  configSha256: string;
}

const toSource = (b: Backup): RestoreSource => ({
  backupId: b.id,
  version: b.version,
  mode: b.mode,
  dataKey: b.dataKey,
  dataFormat: b.dataFormat,
  dataSha256: b.dataSha256!,
  configKey: b.configKey,
  configSha256: b.configSha256!,
});

export async function beginRollback(
  requestIn: unknown,
  executionArn: string,
  deps: HostRunDeps,
): Promise<{ run: HostRunContext; backup: RestoreSource }> {
  const request = parseInput(HostRollbackRequest, requestIn, 'HostRollback input');
  healthCheckOf(request.healthCheck);
  const { store } = deps;
  const host = await store.getHost(request.hostId);
  const healthCheck = healthCheckOf(request.healthCheck, (await store.getFleet(host.fleetId)).config);
  const actor = actorOf(request.requestedBy, executionArn);
  let backup: Backup | null;
  if (request.backupId) {
    backup = await store.getBackup(request.backupId);
    if (backup.hostId !== host.id) throw new NoUsableBackupError(`backup ${backup.id} belongs to host ${backup.hostId}, not ${host.id}`);
    if (backup.status !== 'verified') throw new NoUsableBackupError(`backup ${backup.id} is ${backup.status}, only verified backups are restored`);
  } else {
    backup = await store.latestVerifiedBackup(host.id, request.toVersion ? { version: request.toVersion } : {});
    if (!backup) {
      throw new NoUsableBackupError(
        request.toVersion ? `host ${host.id} has no verified backup taken at version ${request.toVersion}` : `host ${host.id} has no verified backup`,
      );
    }
  }
  let leaseToken: number;
  if (request.parentRunId && request.leaseToken) {
    // the restore branch of HostUpgrade: work under the parent's lease
    await store.assertLease(host.id, request.leaseToken);
    leaseToken = request.leaseToken;
  } else {
    leaseToken = (await store.acquireLease(host.id, executionArn, deps.leaseTtlSeconds)).token;
  }
  const runId = runIdFor(executionArn);
  const run = await store.createRun({
    id: runId,
    hostId: host.id,
    rolloutId: null,
    kind: 'rollback',
    fromVersion: host.observedVersion,
    targetVersion: backup.version,
    leaseToken,
    executionArn,
  });
  await store.appendAudit({
    actor,
    action: 'rollback.started',
    hostId: host.id,
    runId,
    details: { backupId: backup.id, toVersion: backup.version, reason: request.reason, parentRunId: request.parentRunId ?? null },
  });
  return {
    run: HostRunContext.parse({
      runId,
      kind: 'rollback',
      hostId: host.id,
      fleetId: host.fleetId,
      instanceId: host.instanceId,
      composeDir: host.composeDir,
      healthUrl: host.healthUrl,
      mode: backup.mode,
      fromVersion: host.observedVersion,
      targetVersion: backup.version,
      rolloutId: null,
      leaseToken,
      startedAt: run.startedAt,
      healthCheck,
      requestedBy: runActor(actor),
    }),
    backup: toSource(backup),
  };
}

// ── record ──────────────────────────────────────────────────────────────────
export const RecordStepEvent = z.object({
  run: HostRunContext,
  outcome: StepOutcome,
  /** The backup target (prepare-backup's result, with `verification` after complete-backup). */
  backup: emptyAsNull(z.record(z.string(), z.unknown())),
  /** Set on the record that follows complete-backup. */
  verification: z.boolean().optional(),
  request: z.record(z.string(), z.unknown()).optional(),
});
export type RecordStepEvent = z.infer<typeof RecordStepEvent>;

export interface Verdict {
  ok: boolean;
  step: HostStepT;
  classification: RunOutcomeT | null;
  message: string | null;
  /** preflight only */
  decision?: 'proceed' | 'noop';
  fromVersion?: string | null;
  estimatedBytes?: number;
}

const Verification = z.object({
  verified: z.boolean(),
  reason: z.string().nullable().optional(),
  dataBytes: z.number().int().nonnegative().optional(),
  dataSha256: z.string().optional(),
  configBytes: z.number().int().nonnegative().optional(),
  configSha256: z.string().optional(),
});

const PreflightResult = z.object({
  currentVersion: z.string().nullable().optional(),
  mixedVersions: z.boolean().optional(),
  dataBytesEstimate: z.number().nonnegative().optional(),
  mode: z.enum(['embedded', 'external']).optional(),
});

export async function recordStepOutcome(eventIn: unknown, deps: HostRunDeps): Promise<Verdict> {
  const event = parseInput(RecordStepEvent, eventIn, 'record-step event');
  const { run, outcome } = event;
  const { store } = deps;
  await store.recordStep(run.runId, run.leaseToken, outcome);
  const failed = (message: string | null, classification?: RunOutcomeT): Verdict => ({
    ok: false,
    step: outcome.step,
    classification: classification ?? classifyStep(outcome),
    message,
  });
  if (outcome.status !== 'Success') {
    return failed(outcome.message ?? outcome.error ?? `${outcome.step} ended ${outcome.status}`);
  }

  if (outcome.step === 'preflight') {
    const r = PreflightResult.safeParse(outcome.result ?? {});
    if (!r.success) return failed('preflight printed no usable result line');
    const pre = r.data;
    if (pre.mode && pre.mode !== run.mode) {
      return failed(`the host runs in ${pre.mode} mode but is registered as ${run.mode}: fix the fleet file`);
    }
    if (pre.mixedVersions) return failed('the three services run different versions: fix the host first');
    const current = pre.currentVersion ?? null;
    if (current) await store.recordObservedVersion(run.hostId, current);
    const path = decideUpgradePath(current, run.targetVersion, await store.listReleases());
    if (path.kind === 'refused') return failed(path.reason);
    if (path.kind === 'proceed' && path.destructive) {
      const request = event.request as { allowDestructive?: boolean } | undefined;
      if (!request?.allowDestructive) {
        return failed(`${current ?? 'unknown'} → ${run.targetVersion} crosses a destructive release: consent (allowDestructive) is required`);
      }
    }
    return {
      ok: true,
      step: 'preflight',
      classification: null,
      message: null,
      decision: path.kind === 'noop' ? 'noop' : 'proceed',
      fromVersion: current,
      estimatedBytes: Math.max(1, Math.round(pre.dataBytesEstimate ?? 0)),
    };
  }

  if (outcome.step === 'backup' && event.verification) {
    const target = z
      .object({ backupId: z.string().uuid(), dataKey: z.string(), configKey: z.string(), verification: Verification })
      .safeParse(event.backup);
    if (!target.success) return failed('backup target or verification missing', 'backup-failed');
    const { backupId, dataKey, configKey, verification } = target.data;
    const result = (outcome.result ?? {}) as { version?: unknown; data?: { format?: string; entries?: number }; config?: { entries?: number } };
    // The version a restore of this backup brings back is the one its config pins, which the
    // backup step reports. Preflight may not have known the running version (services down):
    // falling back to the target would make the restore verify a version it never restores.
    const pinned = Version.safeParse(result.version);
    const backupVersion = pinned.success ? pinned.data : (run.fromVersion ?? run.targetVersion);
    await store.createBackup({
      id: backupId,
      hostId: run.hostId,
      runId: run.runId,
      version: backupVersion,
      mode: run.mode,
      dataKey,
      dataFormat: result.data?.format === 'pgdump' ? 'pgdump' : 'tar.gz',
      configKey,
    });
    const entries = result.data?.entries ?? 0;
    if (!verification.verified || entries <= 0) {
      const reason = verification.reason ?? (entries <= 0 ? 'the archive listed no entries' : 'verification failed');
      await store.markBackupFailed(backupId, reason);
      return failed(`backup not verified: ${reason}`, 'backup-failed');
    }
    await store.markBackupVerified(backupId, run.leaseToken, {
      dataBytes: verification.dataBytes!,
      dataSha256: verification.dataSha256!,
      dataEntries: entries,
      configBytes: verification.configBytes!,
      configSha256: verification.configSha256!,
    });
    return { ok: true, step: 'backup', classification: null, message: null };
  }

  if (outcome.step === 'health-check' || outcome.step === 'restore') {
    await store.recordObservedVersion(run.hostId, run.targetVersion);
  }
  return { ok: true, step: outcome.step, classification: null, message: null };
}

// ── finish ──────────────────────────────────────────────────────────────────
export const FinishRunEvent = z.object({
  run: HostRunContext,
  request: z.record(z.string(), z.unknown()),
  /** Set by the state machine on known paths; null lets the failing step decide. */
  outcome: RunOutcome.nullable().optional(),
  failedStep: HostStep.nullable().optional(),
  verdict: emptyAsNull(
    z
      .object({ ok: z.boolean(), classification: RunOutcome.nullable().optional(), message: z.string().nullable().optional(), failedStep: HostStep.optional() })
      .passthrough(),
  ),
  error: emptyAsNull(z.object({ Error: z.string(), Cause: z.string().optional() })),
  backup: emptyAsNull(z.object({ backupId: z.string() }).passthrough()),
  executionArn: z.string(),
});

export interface RunSummary {
  runId: string;
  hostId: string;
  kind: 'upgrade' | 'rollback';
  outcome: RunOutcomeT;
  status: 'succeeded' | 'failed';
  failedStep: HostStepT | null;
  message: string;
  version: string | null;
  backupId: string | null;
  /** One sentence for the operator: what happened and where the host is now. */
  cause: string;
}

/** Task errors carry their message in Cause as Lambda's JSON; keep just the message. */
function causeMessage(cause: string | undefined): string | null {
  if (!cause) return null;
  try {
    // a Lambda error's message, or a failed child execution's own Cause (startExecution.sync
    // puts the child's whole description, input included, in the parent's Cause)
    const parsed = JSON.parse(cause) as { errorMessage?: string; Cause?: unknown };
    return parsed.errorMessage ?? (typeof parsed.Cause === 'string' ? parsed.Cause : cause);
  } catch {
    return cause;
  }
}

export async function finishHostRun(eventIn: unknown, deps: HostRunDeps): Promise<RunSummary> {
  const event = parseInput(FinishRunEvent, eventIn, 'finish-run event');
  const { run } = event;
  const { store } = deps;
  // HostRollback hands over record-step's verdict as is: a failed one names its step in `step`
  const verdictStep = event.verdict?.ok === false ? HostStep.safeParse(event.verdict.step) : null;
  const failedStep = event.failedStep ?? event.verdict?.failedStep ?? (verdictStep?.success ? verdictStep.data : null);
  const outcome: RunOutcomeT =
    event.outcome ??
    (event.error ? classifyError(event.error.Error, failedStep) : (event.verdict?.classification ?? classifyError(null, failedStep)));
  const succeeded = outcome === 'succeeded' || outcome === 'noop';
  const cause = event.verdict?.classification && outcome === 'restored' ? `${event.verdict.classification}` : null;
  const message =
    (event.error ? `${event.error.Error}: ${causeMessage(event.error.Cause) ?? ''}` : null) ??
    event.verdict?.message ??
    (succeeded ? `${run.kind} to ${run.targetVersion} ${outcome}` : outcome);
  const steps = await store.listSteps(run.runId);
  const lastStep = failedStep ? steps.find((s) => s.step === failedStep) : undefined;
  const finished = await store.finishRun(run.runId, run.leaseToken, {
    status: succeeded ? 'succeeded' : 'failed',
    outcome,
    failedStep,
    commandId: lastStep?.commandId ?? null,
    outputUri: lastStep?.outputUri ?? null,
    message: cause ? `${cause}: ${message}`.slice(0, 4000) : message.slice(0, 4000),
  });
  const request = event.request as { parentRunId?: string; requestedBy?: string; backupId?: string };
  const actor = request.requestedBy ?? event.executionArn;
  const rollbackFailed = outcome === 'rollback-failed';
  // A HostRollback started by HostUpgrade's restore branch quarantines the host at once, but
  // leaves the alert to the parent, whose Restore Catch always ends in this same outcome with
  // the rollout's context: one failure, one page (not one per execution).
  const restoreBranch = run.kind === 'rollback' && Boolean(request.parentRunId);
  if (rollbackFailed) {
    const reason = `rollback failed during run ${run.runId}: ${message}`.slice(0, 1000);
    await store.lockHost(run.hostId, reason, event.executionArn);
  }
  if (rollbackFailed && !restoreBranch) {
    await deps.alerts.publish(`fleetwave: ROLLBACK_FAILED on ${run.hostId}`, {
      event: 'ROLLBACK_FAILED',
      hostId: run.hostId,
      fleetId: run.fleetId,
      runId: run.runId,
      rolloutId: run.rolloutId,
      execution: event.executionArn,
      message,
      action: 'the host is quarantined; inspect it, restore by hand if needed, then `fleetwave host unlock`',
    });
  }
  // a rollback started by HostUpgrade works under the parent's lease: the parent releases it
  if (!restoreBranch) await store.releaseLease(run.hostId, run.leaseToken);
  await store.appendAudit({
    actor,
    action: `${run.kind}.finished`,
    hostId: run.hostId,
    runId: run.runId,
    rolloutId: run.rolloutId,
    details: { outcome, failedStep, message: finished.message },
  });
  const backupId = event.backup?.backupId ?? null;
  const version = outcome === 'restored' ? run.fromVersion : succeeded ? run.targetVersion : run.fromVersion;
  const what = `${run.kind} of ${run.hostId} to ${run.targetVersion}`;
  const sentence =
    outcome === 'restored'
      ? `${what} failed at ${failedStep ?? 'a step'} (${[event.verdict?.classification, event.verdict?.message ?? event.error?.Error].filter(Boolean).join(': ') || 'failed'}); the host was restored to ${version ?? 'its previous version'} from backup ${backupId ?? '?'}`
      : outcome === 'rollback-failed'
        ? `${what} failed and the restore failed too (${message}); the host is quarantined and an alert was sent`
        : succeeded
          ? `${what}: ${outcome}`
          : `${what} failed: ${outcome}${failedStep ? ` at ${failedStep}` : ''} (${message}); nothing was changed on the host that needs restoring`;
  return {
    runId: run.runId,
    hostId: run.hostId,
    kind: run.kind,
    outcome,
    status: succeeded ? 'succeeded' : 'failed',
    failedStep,
    message: finished.message ?? message,
    version,
    backupId,
    cause: sentence.slice(0, 30000),
  };
}
