/**
 * SDK clients, made once per Lambda container and reused across
 * invocations. Region comes from AWS_REGION (set by Lambda, and by the lab);
 * endpoints from the SDK's own AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_S3,
 * which SDK v3 reads natively (@smithy/core getEndpointUrlConfig), so no code
 * differs between AWS and the lab.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';

let ssm: SSMClient | undefined;
let ssmSend: SSMClient | undefined;
let s3: S3Client | undefined;

/** SSM with the SDK's standard retries, for reads (ListCommands, GetCommandInvocation). */
export function ssmClient(): SSMClient {
  return (ssm ??= new SSMClient({ region: process.env.AWS_REGION }));
}

/**
 * SSM without SDK retries, for SendCommand only: SendCommand has no client
 * token, so an SDK retry after a lost response could start a second command.
 * The state machine retries the whole task instead, and send-step's
 * ListCommands look-up finds the first command.
 */
export function ssmSendClient(): SSMClient {
  return (ssmSend ??= new SSMClient({ region: process.env.AWS_REGION, maxAttempts: 1 }));
}

/**
 * S3 for presigning and verification. `requestChecksumCalculation:
 * WHEN_REQUIRED` keeps the SDK from signing a CRC32 of an empty body into
 * presigned UploadPart/PutObject URLs (S3 would refuse the host's bytes).
 */
export function s3Client(): S3Client {
  return (s3 ??= new S3Client({
    region: process.env.AWS_REGION,
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    requestChecksumCalculation: 'WHEN_REQUIRED',
  }));
}

/** Tests: forget the cached clients so the next call reads the environment again. */
export function resetClients(): void {
  for (const c of [ssm, ssmSend, s3]) c?.destroy();
  ssm = ssmSend = s3 = undefined;
}
