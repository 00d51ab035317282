/**
 * Access to the backup bucket: object actions on one prefix, listing a
 * prefix, the bucket's KMS key, and the deny that keeps any orchestrator role
 * from deleting or overwriting what is stored. Nobody is granted delete; every task that
 * touches the bucket is named in a deny.
 */
import { AnyPrincipal, Effect, PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { acknowledge, nagAttribute, wildcardResource } from '../nag';
import type { RolePolicyHolder } from './role-policy';

/** Object-level `actions` on `<prefix>/*`; never a delete. */
export function objectAccess(sid: string, actions: string[], bucket: IBucket, prefix: string): PolicyStatement {
  const deletes = actions.filter((a) => /^s3:(Delete|\*)/.test(a));
  if (deletes.length > 0) throw new Error(`${sid}: backup bucket access never includes ${deletes.join(', ')}`);
  return new PolicyStatement({ sid, effect: Effect.ALLOW, actions, resources: [bucket.arnForObjects(`${prefix}/*`)] });
}

/**
 * ListBucket limited to `<prefix>/*` for each prefix. Besides finding keys,
 * it is what turns a missing key into 404 rather than 403.
 */
export function listPrefixes(sid: string, bucket: IBucket, prefixes: string[]): PolicyStatement {
  return new PolicyStatement({
    sid,
    actions: ['s3:ListBucket'],
    resources: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}/*`) } },
  });
}

/** The bucket is encrypted with its own key: reading and writing objects needs it. */
export function useBackupKey(key: IKey): PolicyStatement {
  return new PolicyStatement({ sid: 'UseBackupKey', effect: Effect.ALLOW, actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'], resources: [key.keyArn] });
}

/**
 * A bucket-policy deny: the roles may never delete an object or a version,
 * nor switch versioning or lifecycle off, whatever else they hold. The sid
 * must be unique in the bucket policy.
 */
export function denyDeletes(sid: string, bucket: IBucket, roles: IRole[]): PolicyStatement {
  return new PolicyStatement({
    sid,
    effect: Effect.DENY,
    principals: [new AnyPrincipal()],
    actions: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutLifecycleConfiguration', 's3:PutBucketVersioning'],
    resources: [bucket.bucketArn, bucket.arnForObjects('*')],
    conditions: { ArnEquals: { 'aws:PrincipalArn': roles.map((r) => r.roleArn) } },
  });
}

/**
 * A bucket-policy deny: the roles may never replace an object under
 * `<prefix>/*`. S3 has no "overwrite" action; a write is an overwrite unless
 * it is conditional, so every object-creating request (PutObject,
 * CompleteMultipartUpload) must carry `If-None-Match: *`, which S3 refuses
 * (412) when the key already exists. CreateMultipartUpload and UploadPart
 * cannot carry the header and create no object, so `s3:ObjectCreationOperation`
 * exempts them, as the AWS guide prescribes:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html
 * (If-Match would replace a known version, so only If-None-Match: * passes.)
 */
export function denyOverwrites(sid: string, bucket: IBucket, prefix: string, roles: IRole[]): PolicyStatement {
  return new PolicyStatement({
    sid,
    effect: Effect.DENY,
    principals: [new AnyPrincipal()],
    actions: ['s3:PutObject'],
    resources: [bucket.arnForObjects(`${prefix}/*`)],
    conditions: {
      StringNotEquals: { 's3:if-none-match': '*' },
      Bool: { 's3:ObjectCreationOperation': 'true' },
      ArnEquals: { 'aws:PrincipalArn': roles.map((r) => r.roleArn) },
    },
  });
}

/** cdk-nag flags `<bucket>/<prefix>/*`; object keys are made at run time, so say why for this prefix. */
export function acknowledgePrefix(fn: IConstruct, bucket: IBucket, prefix: string, reason: string): void {
  acknowledge(fn, [wildcardResource(`${nagAttribute(bucket)}/${prefix}/*`)], reason);
}

/** Read full SSM command output (which SSM writes under `command-output/`), and list it, plus `alsoList` prefixes. */
export function grantReadCommandOutput(fn: RolePolicyHolder & IConstruct, bucket: IBucket, alsoList: string[] = []): void {
  fn.addToRolePolicy(objectAccess('ReadCommandOutput', ['s3:GetObject'], bucket, 'command-output'));
  fn.addToRolePolicy(listPrefixes('FindCommandOutput', bucket, ['command-output', ...alsoList]));
  acknowledgePrefix(fn, bucket, 'command-output', 'Reads SSM command output under command-output/, whose keys SSM makes per command id.');
}
