/**
 * begin-run: validate the request against the registry, take the host
 * lease, create the run, and hand the state machine its run context (and,
 * for a rollback, the backup to restore). Refusals are named errors
 * (core/host-run/errors.ts, core/registry/errors.ts), audited where the
 * operator will look for them.
 */
import type { Backup, RegistryStore, Release } from '../registry/store';
import { upgradeTarget } from '../release-catalog';
import { decideUpgradePath } from '../release-rules';
import type { DatabaseMode, HostRunContext } from '../models';
import { runContext, runIdFor, type HostRunDeps } from './context';
import { DestructiveConsentRequiredError, NoUsableBackupError, ReleaseWithdrawnError, UnknownReleaseError, UpgradePathRefusedError } from './errors';
import { proveStartedByLeaseHolder } from './parent-proof';
import { assertNothingNewer, changesDiscardedBy, type DiscardedRun } from './newer-changes';
import { actorOf, healthCheckOf, type HostRollbackRequest, type HostUpgradeRequest } from './requests';

export async function beginUpgrade(request: HostUpgradeRequest, executionArn: string, deps: HostRunDeps): Promise<HostRunContext> {
  healthCheckOf(request.healthCheck); // a bad override is refused before anything is read
  const { store } = deps;
  const host = await store.getHost(request.hostId);
  const healthCheck = healthCheckOf(request.healthCheck, (await store.getFleet(host.fleetId)).config);
  const actor = actorOf(request.requestedBy, executionArn);
  const refuse = async (err: Error) => {
    await store.appendAudit({ actor, action: 'upgrade.refused', hostId: host.id, details: { version: request.version, reason: err.message } });
    throw err;
  };
  let release: Release;
  try {
    release = await upgradeTarget(store, request.version); // unknown or withdrawn: refused
  } catch (err) {
    if (err instanceof UnknownReleaseError || err instanceof ReleaseWithdrawnError) return refuse(err);
    throw err;
  }
  // the catalog's spelling from here on (v1.5.0 asked for is the image tag 1.5.0)
  const targetVersion = release.version;
  if (host.observedVersion) {
    const path = decideUpgradePath(host.observedVersion, targetVersion, await store.listReleases());
    if (path.kind === 'refused') return refuse(new UpgradePathRefusedError(path.reason));
    if (path.kind === 'proceed' && path.destructive && !request.allowDestructive) {
      return refuse(
        new DestructiveConsentRequiredError(
          `${host.observedVersion} → ${targetVersion} crosses a destructive release (${path.crossed.join(', ')}): pass allowDestructive (--allow-destructive) after checking the backup`,
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
    targetVersion,
    leaseToken: lease.token,
    executionArn,
  });
  await store.appendAudit({
    actor,
    action: 'upgrade.started',
    hostId: host.id,
    runId,
    rolloutId: request.rolloutId ?? null,
    details: { from: host.observedVersion, to: targetVersion, allowDestructive: request.allowDestructive ?? false },
  });
  return runContext({
    runId,
    kind: 'upgrade',
    host,
    mode: host.databaseMode,
    targetVersion,
    rolloutId: request.rolloutId ?? null,
    leaseToken: lease.token,
    startedAt: run.startedAt,
    healthCheck,
    actor,
  });
}

/** The backup a rollback restores, as the restore step needs it. */
export interface RestoreSource {
  backupId: string;
  version: string;
  mode: DatabaseMode;
  dataKey: string;
  dataFormat: string;
  dataSha256: string;
  configKey: string;
  configSha256: string;
  /** The S3 versions to restore (null: the current object). */
  dataVersionId: string | null;
  configVersionId: string | null;
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
  dataVersionId: b.dataVersionId,
  configVersionId: b.configVersionId,
});

/**
 * The backup a rollback restores: the one named, else the latest verified one (at `toVersion`
 * when given). Unbounded on purpose: what a restore would discard is checked separately.
 * @throws NoUsableBackupError, BackupNotFoundError
 */
export async function chooseBackup(
  store: Pick<RegistryStore, 'getBackup' | 'latestVerifiedBackup'>,
  hostId: string,
  request: Pick<HostRollbackRequest, 'backupId' | 'toVersion'>,
): Promise<Backup> {
  if (request.backupId) {
    const backup = await store.getBackup(request.backupId);
    if (backup.hostId !== hostId) throw new NoUsableBackupError(`backup ${backup.id} belongs to host ${backup.hostId}, not ${hostId}`);
    if (backup.status !== 'verified') throw new NoUsableBackupError(`backup ${backup.id} is ${backup.status}, only verified backups are restored`);
    return backup;
  }
  const backup = await store.latestVerifiedBackup(hostId, request.toVersion ? { version: request.toVersion } : {});
  if (!backup) {
    throw new NoUsableBackupError(
      request.toVersion ? `host ${hostId} has no verified backup taken at version ${request.toVersion}` : `host ${hostId} has no verified backup`,
    );
  }
  return backup;
}

/** The later runs a restore of `backup` would discard (core/host-run/newer-changes.ts); `ownRunId` is the rollback's own run, for a retry. */
export async function discardedByRestore(store: Pick<RegistryStore, 'listRuns'>, backup: Backup, ownRunId?: string): Promise<DiscardedRun[]> {
  const runs = (await store.listRuns({ hostId: backup.hostId, limit: 1000 })).filter((r) => r.id !== ownRunId);
  return changesDiscardedBy({ runId: backup.runId, takenAt: backup.createdAt, version: backup.version }, runs);
}

/** How a refusal and the CLI name the backup. */
export const backupLabel = (backup: Backup) => `backup ${backup.id} (${backup.version})`;

export async function beginRollback(
  request: HostRollbackRequest,
  executionArn: string,
  deps: HostRunDeps,
): Promise<{ run: HostRunContext; backup: RestoreSource }> {
  healthCheckOf(request.healthCheck);
  const { store } = deps;
  const host = await store.getHost(request.hostId);
  const healthCheck = healthCheckOf(request.healthCheck, (await store.getFleet(host.fleetId)).config);
  const actor = actorOf(request.requestedBy, executionArn);
  // the restore branch of HostUpgrade works under the parent's lease, once the parent proved it;
  // proven before anything else is read, so a forged request learns nothing (not even of backups)
  const underParentLease = Boolean(request.parentRunId && request.leaseToken);
  if (underParentLease) {
    await proveStartedByLeaseHolder({
      hostId: host.id,
      lease: await store.getLease(host.id),
      parentArn: request.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID,
      childArn: executionArn,
      history: deps.executions,
    });
    await store.assertLease(host.id, request.leaseToken!);
  }
  const backup = await chooseBackup(store, host.id, request);
  const runId = runIdFor(executionArn);
  // HostUpgrade's restore branch restores the backup its own, still running, run just took:
  // nothing can have changed the host since, so it is never refused (nor slowed by the read).
  let discards: DiscardedRun[] = [];
  if (!request.parentRunId) {
    discards = await discardedByRestore(store, backup, runId);
    try {
      assertNothingNewer(host.id, backupLabel(backup), discards, request.force);
    } catch (err) {
      await store.appendAudit({ actor, action: 'rollback.refused', hostId: host.id, details: { backupId: backup.id, reason: (err as Error).message } });
      throw err;
    }
  }
  const leaseToken = underParentLease ? request.leaseToken! : (await store.acquireLease(host.id, executionArn, deps.leaseTtlSeconds)).token;
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
    details: {
      backupId: backup.id,
      toVersion: backup.version,
      reason: request.reason,
      parentRunId: request.parentRunId ?? null,
      // a forced restore records what it overwrote, so the audit log answers "where did my data go"
      ...(discards.length > 0 ? { force: true, discards } : {}),
    },
  });
  return {
    run: runContext({
      runId,
      kind: 'rollback',
      host,
      mode: backup.mode,
      targetVersion: backup.version,
      rolloutId: null,
      leaseToken,
      startedAt: run.startedAt,
      healthCheck,
      actor,
    }),
    backup: toSource(backup),
  };
}
