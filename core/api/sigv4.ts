/**
 * SigV4 for the operator API (service `execute-api`), with the SDK's own
 * signer (@smithy/signature-v4): the CLI signs with it, and the lab's API
 * Gateway stand-in verifies by signing the received request again with the
 * caller's secret key, exactly over the headers the caller signed.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html
 */
import { createHash, createHmac, timingSafeEqual, type BinaryLike } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Checksum, SourceData } from '@smithy/types';

export const API_SERVICE = 'execute-api';

const bytes = (data: SourceData): BinaryLike =>
  typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

/** SHA-256 (HMAC-SHA-256 when given a secret) over node:crypto, as the signer takes it. */
export class NodeSha256 implements Checksum {
  #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {
    this.#hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

export function apiSigner(credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider, region: string): SignatureV4 {
  return new SignatureV4({ credentials, region, service: API_SERVICE, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false });
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=…` */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | null {
  const m = /^AWS4-HMAC-SHA256 +Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, *SignedHeaders=([a-z0-9;-]+), *Signature=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return null;
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]!, signedHeaders: m[5]!.split(';'), signature: m[6]! };
}

export const sameSignature = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
