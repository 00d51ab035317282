/**
 * Refusals of a host run, matched by name in the host state machines'
 * Catch (HostUpgrade: → Refused). The registry's own refusals
 * (HostLockedError, HostQuarantinedError, StaleLeaseError, ...) live in
 * core/registry/errors.ts; InvalidTaskInputError in core/errors.ts.
 */
export class UnknownReleaseError extends Error {
  override readonly name = 'UnknownReleaseError';
}
export class DestructiveConsentRequiredError extends Error {
  override readonly name = 'DestructiveConsentRequiredError';
}
export class UpgradePathRefusedError extends Error {
  override readonly name = 'UpgradePathRefusedError';
}
export class NoUsableBackupError extends Error {
  override readonly name = 'NoUsableBackupError';
}
/**
 * A HostRollback asked to work under another run's lease (parentRunId + leaseToken) but could
 * not prove that run started it: the parent must hold the lease and its own history must show
 * it started this execution. Nothing was done.
 */
export class NotStartedByLeaseHolderError extends Error {
  override readonly name = 'NotStartedByLeaseHolderError';
}
/** A restore would discard a later run's changes to the host; `force` restores anyway. */
export class NewerChangesError extends Error {
  override readonly name = 'NewerChangesError';
}
/** The vendor withdrew the release (`fleetwave release withdraw`, or its releases file): no new upgrade goes to it. */
export class ReleaseWithdrawnError extends Error {
  override readonly name = 'ReleaseWithdrawnError';
}
