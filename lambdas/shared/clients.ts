/**
 * SDK clients, made once per Lambda container and reused across
 * invocations. Region comes from AWS_REGION (set by Lambda, and by the lab);
 * endpoints from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, which
 * SDK v3 reads natively (@smithy/core getEndpointUrlConfig), so no code
 * differs between AWS and the lab.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';

let ssm: SSMClient | undefined;
let ssmSend: SSMClient | undefined;
let s3: S3Client | undefined;
let sns: SNSClient | undefined;
let cloudwatch: CloudWatchClient | undefined;
let secrets: SecretsManagerClient | undefined;
let sfn: SFNClient | undefined;

const region = () => process.env.AWS_REGION;
/** The function's region (Lambda sets AWS_REGION); the bucket's, which host commands name. */
export function lambdaRegion(): string {
  const r = region();
  if (!r) throw new Error('AWS_REGION is not set: Lambda sets it; the lab and tests must too');
  return r;
}

/** SSM with the SDK's standard retries, for reads (ListCommands, GetCommandInvocation). */
export function ssmClient(): SSMClient {
  return (ssm ??= new SSMClient({ region: region() }));
}

/**
 * SSM without SDK retries, for SendCommand only: SendCommand has no client
 * token, so an SDK retry after a lost response could start a second command.
 * The state machine retries the whole task instead, and the sender's
 * ListCommands look-up finds the first command.
 */
export function ssmSendClient(): SSMClient {
  return (ssmSend ??= new SSMClient({ region: region(), maxAttempts: 1 }));
}

/**
 * S3 for creating, completing and verifying uploads. `requestChecksumCalculation:
 * WHEN_REQUIRED`: the SHA-256 checksums are the host's, named explicitly
 * (CreateMultipartUpload ChecksumAlgorithm, CompleteMultipartUpload parts);
 * the SDK adds no CRC32 of its own.
 */
export function s3Client(): S3Client {
  return (s3 ??= new S3Client({
    region: region(),
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    requestChecksumCalculation: 'WHEN_REQUIRED',
  }));
}

export const snsClient = (): SNSClient => (sns ??= new SNSClient({ region: region() }));
export const cloudwatchClient = (): CloudWatchClient => (cloudwatch ??= new CloudWatchClient({ region: region() }));
export const sfnClient = (): SFNClient => (sfn ??= new SFNClient({ region: region() }));
export const secretsManagerClient = (): SecretsManagerClient => (secrets ??= new SecretsManagerClient({ region: region() }));

/** Tests: forget the cached clients so the next call reads the environment again. */
export function resetClients(): void {
  for (const c of [ssm, ssmSend, s3, sns, cloudwatch, secrets, sfn]) c?.destroy();
  ssm = ssmSend = s3 = sns = cloudwatch = secrets = sfn = undefined;
}
