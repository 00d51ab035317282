/**
 * Registry errors. Each is a small class whose `name` is stable: Step Functions
 * matches Retry/Catch on `errorType`, which Lambda takes from `error.name`, so
 * renaming one of these is a contract change for the state machines.
 */

/** Base class so callers can tell registry refusals from driver failures. */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

export class InvalidRegistryInputError extends RegistryError {
  override name = 'InvalidRegistryInputError';
}

export class FleetNotFoundError extends RegistryError {
  override name = 'FleetNotFoundError';
  constructor(readonly fleetId: string) {
    super(`fleet ${fleetId} is not registered`);
  }
}

export class HostNotFoundError extends RegistryError {
  override name = 'HostNotFoundError';
  constructor(readonly hostId: string) {
    super(`host ${hostId} is not registered`);
  }
}

/** Two hosts cannot share one SSM managed instance: commands would hit both. */
export class DuplicateInstanceError extends RegistryError {
  override name = 'DuplicateInstanceError';
  constructor(
    readonly instanceId: string,
    readonly hostId: string,
  ) {
    super(`instance ${instanceId} already belongs to another host than ${hostId}`);
  }
}

export class ReleaseNotFoundError extends RegistryError {
  override name = 'ReleaseNotFoundError';
  constructor(readonly version: string) {
    super(`release ${version} is not in the release catalog`);
  }
}

/** The host was retired (`fleet apply` no longer lists it): its history is kept, nothing runs on it. */
export class HostRetiredError extends RegistryError {
  override name = 'HostRetiredError';
  constructor(readonly hostId: string) {
    super(`host ${hostId} is retired (no fleet file lists it any more): add it to its fleet file again to use it`);
  }
}

/** A fleet file that cannot be applied as it stands: each problem names its host (and field). Nothing was written. */
export class FleetApplyRefusedError extends RegistryError {
  override name = 'FleetApplyRefusedError';
  constructor(
    readonly fleetId: string,
    readonly problems: { hostId: string; field: 'id' | 'instanceId' | null; message: string }[],
  ) {
    super(`fleet ${fleetId} cannot be applied: ${problems.map((p) => p.message).join('; ')}`);
  }
}

export class RolloutNotFoundError extends RegistryError {
  override name = 'RolloutNotFoundError';
  constructor(readonly rolloutId: string) {
    super(`rollout ${rolloutId} is not registered`);
  }
}

/** A rollout id was reused for another fleet or version: one rollout per fleet and version. */
export class RolloutConflictError extends RegistryError {
  override name = 'RolloutConflictError';
}

export class RunNotFoundError extends RegistryError {
  override name = 'RunNotFoundError';
  constructor(readonly runId: string) {
    super(`host run ${runId} does not exist`);
  }
}

/** The same run id was reused with different identity fields (host, kind, target). */
export class RunConflictError extends RegistryError {
  override name = 'RunConflictError';
}

/** finishRun called again with a different result than the one recorded. */
export class RunAlreadyFinishedError extends RegistryError {
  override name = 'RunAlreadyFinishedError';
}

export class BackupNotFoundError extends RegistryError {
  override name = 'BackupNotFoundError';
  constructor(readonly backupId: string) {
    super(`backup ${backupId} does not exist`);
  }
}

/** A transition the backup life cycle forbids (failed → verified, verified → failed, ...). */
export class BackupStateError extends RegistryError {
  override name = 'BackupStateError';
}

/** Another holder has an unexpired lease on the host. */
export class HostLockedError extends RegistryError {
  override name = 'HostLockedError';
  constructor(
    readonly hostId: string,
    readonly holder: string,
    readonly expiresAt: number,
  ) {
    super(`host ${hostId} is leased by ${holder} until ${new Date(expiresAt).toISOString()}`);
  }
}

/**
 * The host is locked for operator attention (a restore failed: ROLLBACK_FAILED).
 * Distinct from HostLockedError because waiting does not help: a person must
 * look at the host and unlock it.
 */
export class HostQuarantinedError extends RegistryError {
  override name = 'HostQuarantinedError';
  constructor(
    readonly hostId: string,
    readonly reason: string | null,
  ) {
    super(`host ${hostId} is quarantined${reason ? `: ${reason}` : ''}; an operator must unlock it`);
  }
}

/**
 * A fenced write carried a lease token that is not the host's current,
 * unexpired lease: the writer lost its lease (expired and taken over, or
 * released) and must stop touching the host.
 */
export class StaleLeaseError extends RegistryError {
  override name = 'StaleLeaseError';
  constructor(
    readonly hostId: string,
    readonly token: number,
    detail: string,
  ) {
    super(`lease token ${token} for host ${hostId} is stale: ${detail}`);
  }
}

/** An applied migration's SQL changed: migrations are immutable once applied. */
export class MigrationChecksumError extends RegistryError {
  override name = 'MigrationChecksumError';
  constructor(
    readonly migrationId: number,
    readonly migrationName: string,
  ) {
    super(
      `migration ${String(migrationId).padStart(3, '0')}_${migrationName} was changed after it was applied; ` +
        'applied migrations are immutable: add a new migration instead',
    );
  }
}

/** A migration failed to apply; its transaction was rolled back. */
export class MigrationFailedError extends RegistryError {
  override name = 'MigrationFailedError';
}

/** The registry secret is missing fields or is not JSON. */
export class RegistrySecretError extends RegistryError {
  override name = 'RegistrySecretError';
}
