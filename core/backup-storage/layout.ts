/** Backup keys (docs/contracts.md, "S3 layout") and part sizing; pure. */
import type { DataFormat } from '../models';
import { BackupTooLargeError, InvalidBackupKeyError } from './errors';
import { ID_PATTERN } from '../models';

export const MIB = 1024 * 1024;
/** Parts below 5 MiB are refused by S3 (except the last); 8 MiB keeps a margin and matches common tooling. */
export const MIN_PART_SIZE_MB = 8;
/** S3's maximum part size. */
export const MAX_PART_SIZE_MB = 5 * 1024;
/** Estimates are of the raw data; compression usually shrinks it, a growing database may not. */
export const ESTIMATE_HEADROOM = 1.5;

export function backupKeys(hostId: string, backupId: string, format: DataFormat) {
  const base = `backups/${hostId}/${backupId}`;
  return { dataKey: `${base}/data.${format}`, configKey: `${base}/config.tar.gz` };
}

const ID = ID_PATTERN.source.slice(1, -1);
const DATA_KEY = new RegExp(`^backups/(${ID})/(${ID})/data\\.(tar\\.gz|pgdump)$`);
const CONFIG_KEY = new RegExp(`^backups/(${ID})/(${ID})/config\\.tar\\.gz$`);

/** Refuses anything that is not a backup key (of `hostId`, when given): a host is pointed only at its own backups. */
export function checkBackupKeys(keys: { dataKey?: string; configKey?: string }, hostId?: string): void {
  const check = (key: string | undefined, re: RegExp, what: string) => {
    if (key === undefined) return;
    const m = re.exec(key);
    if (!m) throw new InvalidBackupKeyError(`${what} is not a backup key (backups/<hostId>/<backupId>/...)`);
    if (hostId !== undefined && m[1] !== hostId) throw new InvalidBackupKeyError(`${what} belongs to another host`);
  };
  check(keys.dataKey, DATA_KEY, 'dataKey');
  check(keys.configKey, CONFIG_KEY, 'configKey');
  if (keys.dataKey && keys.configKey && keys.dataKey.replace(/data\.[a-z.]+$/, '') !== keys.configKey.replace(/config\.tar\.gz$/, '')) {
    throw new InvalidBackupKeyError('dataKey and configKey belong to different backups');
  }
}

/**
 * Whole-MiB part size so that `estimatedBytes * 1.5` fits in at most
 * `maxParts` parts, and how many part URLs to hand out. More data than the
 * parts hold makes the host fail with `backup-too-large`, never truncate.
 */
export function choosePartSize(estimatedBytes: number, maxParts: number): { partSizeMb: number; partCount: number } {
  const needed = Math.max(1, Math.ceil(estimatedBytes * ESTIMATE_HEADROOM));
  const partSizeMb = Math.max(MIN_PART_SIZE_MB, Math.ceil(needed / maxParts / MIB));
  if (partSizeMb > MAX_PART_SIZE_MB) {
    throw new BackupTooLargeError(estimatedBytes, maxParts * MAX_PART_SIZE_MB * MIB);
  }
  const partCount = Math.min(maxParts, Math.max(1, Math.ceil(needed / (partSizeMb * MIB))));
  return { partSizeMb, partCount };
}
