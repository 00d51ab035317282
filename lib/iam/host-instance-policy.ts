/**
 * What a host's instance role needs for fleetwave's documents, as one
 * managed policy the stack outputs (`HostInstancePolicyArn`) for operators to
 * attach to their hosts' roles (beside AWS's AmazonSSMManagedInstanceCore,
 * which the SSM Agent itself needs).
 *
 * The agent writes each command's full output to `command-output/` in the
 * backup bucket (SendCommand's OutputS3BucketName/KeyPrefix) with the
 * instance's own credentials, so the role needs s3:PutObject there, the
 * bucket's encryption configuration, and the bucket's KMS key to encrypt
 * what it writes (kms:GenerateDataKey; kms:Decrypt too, which S3 needs to
 * complete a multipart upload of an SSE-KMS object).
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-permissions.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms
 *
 * Backups and restores: the host signs its S3 requests with this role
 * (ssm-documents/scripts/s3.sh; docs/decisions/backup-transfers.md), so it
 * may upload parts and the config archive (s3:PutObject covers UploadPart)
 * and read backups and their versions under `backups/`, never delete, and
 * never write an object except as a conditional create (`If-None-Match: *`,
 * the same rule the bucket policy holds the orchestrator to:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html).
 * Open (docs/decisions/backup-transfers.md): the prefix is not yet the one
 * host's own; the lab already keeps each host's session to `backups/<hostId>/`.
 */
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledgePrefix, objectAccess } from './backup-bucket-access';

export function hostInstancePolicy(scope: Construct, id: string, bucket: IBucket, key: IKey, commandOutputPrefix = 'command-output'): ManagedPolicy {
  const policy = new ManagedPolicy(scope, id, {
    description: 'fleetwave: what a host instance role needs for the Fleetwave-* documents (command output into the backup bucket, encrypted with its key)',
    statements: [
      objectAccess('WriteCommandOutput', ['s3:PutObject'], bucket, commandOutputPrefix),
      new PolicyStatement({ sid: 'ReadBucketEncryption', effect: Effect.ALLOW, actions: ['s3:GetEncryptionConfiguration'], resources: [bucket.bucketArn] }),
      new PolicyStatement({ sid: 'EncryptCommandOutput', effect: Effect.ALLOW, actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }),
      objectAccess('TransferBackups', ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'], bucket, 'backups'),
      new PolicyStatement({
        sid: 'NeverReplaceABackup',
        effect: Effect.DENY,
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects('backups/*')],
        conditions: { StringNotEquals: { 's3:if-none-match': '*' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
      }),
    ],
  });
  acknowledgePrefix(policy, bucket, commandOutputPrefix, `The agent writes command output under ${commandOutputPrefix}/, with keys SSM makes per command id and instance.`);
  acknowledgePrefix(policy, bucket, 'backups', 'The host uploads and reads its backups under backups/, keys made per host and run at run time; writes are conditional creates only, delete is never granted.');
  return policy;
}
