/** Named errors of the backup tasks; `name` is what Step Functions matches. */

/** The estimated backup cannot fit in MAX_PARTS parts of at most 5 GiB. Nothing was created. */
export class BackupTooLargeError extends Error {
  override readonly name = 'BackupTooLargeError';
  constructor(
    readonly estimatedBytes: number,
    readonly maxBytes: number,
  ) {
    super(`backup estimated at ${estimatedBytes} bytes (x1.5 headroom) exceeds the ${maxBytes} bytes its parts can hold`);
  }
}

/** A key handed to complete/abort/restore is not a backup key of this host. */
export class InvalidBackupKeyError extends Error {
  override readonly name = 'InvalidBackupKeyError';
}

/** The backup to restore is not in the bucket: nothing is sent to the host. */
export class BackupObjectMissingError extends Error {
  override readonly name = 'BackupObjectMissingError';
}
