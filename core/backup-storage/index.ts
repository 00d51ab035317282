/** Backups in S3: the BackupStorage port, key layout and part sizing, and the S3 adapter. */
export * from './errors';
export * from './layout';
export * from './ports';
export { S3BackupStorage, type S3BackupStorageOptions } from './s3-backup-storage';
