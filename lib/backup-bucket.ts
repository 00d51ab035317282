import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, StorageClass } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { denyDeletes, denyOverwrites } from './iam';

export interface BackupBucketProps {
  /** Days a superseded backup version is kept before it expires. */
  readonly noncurrentVersionDays?: number;
  /** Days current backups move to Infrequent Access. */
  readonly infrequentAccessAfterDays?: number;
  /** Days SSM command output is kept. */
  readonly commandOutputDays?: number;
}

/**
 * Where host backups and full SSM command output live: versioned, KMS
 * encrypted (the config archive holds DATABASE_URL), public access blocked,
 * TLS only, access-logged, and nobody in the orchestrator can delete a
 * backup version (`denyDeletesBy`) or write over a backup (`denyOverwritesBy`).
 */
export class BackupBucket extends Construct {
  readonly bucket: Bucket;
  readonly key: Key;

  constructor(scope: Construct, id: string, props: BackupBucketProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'fleetwave backups and command output',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket of the backup bucket; logging it into itself would loop.',
    });
    this.bucket = new Bucket(this, 'Bucket', {
      versioned: true,
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'backups/',
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        {
          id: 'backups',
          prefix: 'backups/',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 90),
          transitions: [
            { storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(props.infrequentAccessAfterDays ?? 30) },
          ],
        },
        { id: 'command-output', prefix: 'command-output/', expiration: Duration.days(props.commandOutputDays ?? 30) },
      ],
    });
  }

  /**
   * Backups must survive a compromised or buggy orchestrator: the given roles
   * may never delete an object or an object version, whatever else they hold.
   * Each caller names its own statement (`sid`): Sids must be unique in a
   * bucket policy.
   */
  denyDeletesBy(roles: IRole[], sid = 'BackupsCannotBeDeletedByTheOrchestrator'): void {
    if (roles.length === 0) return;
    this.bucket.addToResourcePolicy(denyDeletes(sid, this.bucket, roles));
  }

  /**
   * The same roles may never replace a backup either: a second write to a
   * backup key would leave the verified bytes only as a non-current version,
   * which expires. Writes under `backups/` must be conditional creates.
   */
  denyOverwritesBy(roles: IRole[], sid = 'BackupsCannotBeOverwrittenByTheOrchestrator'): void {
    if (roles.length === 0) return;
    this.bucket.addToResourcePolicy(denyOverwrites(sid, this.bucket, 'backups', roles));
  }
}
