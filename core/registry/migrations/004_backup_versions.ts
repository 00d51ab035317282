/**
 * 004_backup_versions: the S3 version ids a backup's verification read. A
 * restore presigns those versions, so an object written over the key later
 * (or a non-current version) is never what comes back. NULL for backups
 * recorded before, and on storage without versioning.
 *
 * IMMUTABLE once released (see 001).
 */
export const name = 'backup_versions';

export const sql = /* sql */ `
ALTER TABLE backups
  ADD COLUMN data_version_id   text NULL CHECK (length(data_version_id) BETWEEN 1 AND 1024),
  ADD COLUMN config_version_id text NULL CHECK (length(config_version_id) BETWEEN 1 AND 1024);
`;
