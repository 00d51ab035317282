/**
 * The contract between complete-backup's log and the stack's monitoring
 * (lib/monitoring.ts): complete-backup writes one JSON line with this message
 * for every verified backup, `{hostId, runId, bytes, parts, durationSeconds}`
 * (durationSeconds: the host's clock from the data's snapshot to the end of
 * its upload and checks; null when the host did not report both). Metric
 * filters turn it into BackupBytes and BackupSeconds, and the dashboard's
 * per-host table queries it with Logs Insights.
 */
export const BACKUP_VERIFIED_LOG = 'backup verified';
export const BACKUP_BYTES_METRIC = 'BackupBytes';
export const BACKUP_SECONDS_METRIC = 'BackupSeconds';
