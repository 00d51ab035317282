/**
 * The lab's S3: s3rver 3.7 in-process, data under the lab folder.
 *
 * Clients reach it with path-style addressing (`forcePathStyle: true`),
 * signing with keys the lab's STS knows (lab/sts.ts): the lab user's
 * (`S3RVER`/`S3RVER`, never expiring) or a role session (a host's), which
 * expires on the lab clock.
 *
 * In front of s3rver's router, in order: ./s3-auth.ts (SigV4 verified,
 * session tokens and expiry, per-session key prefixes; s3rver itself checks
 * no SigV4 signature), ./s3-checksums.ts (SHA-256 additional checksums and
 * the composite checksum of multipart objects), ./s3-multipart.ts (the
 * AbortMultipartUpload, ListParts and ListMultipartUploads s3rver 3.7 lacks).
 *
 * Known gap: s3rver 3.7 answers `PutBucketVersioning` with `NotImplemented`,
 * so lab buckets are unversioned; the versioning guarantee of the backup
 * bucket is asserted on the synthesized template instead.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { labClock, type LabClock } from './clock';
import { s3Authentication } from './s3-auth';
import { checksumRoutes } from './s3-checksums';
import { multipartRoutes } from './s3-multipart';
import { LabSts } from './sts';

/** The part of s3rver's (untyped, CommonJS) API the lab uses. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
  /** Koa's middleware list; s3rver's router is the last one. */
  middleware: { name: string }[];
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
  configureBuckets: { name: string; configs: string[] }[];
}) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

export const LAB_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/** The IAM user the lab's long-term keys belong to (the operator's, and the Lambda tasks' in the lab). */
export const LAB_USER_ARN = 'arn:aws:iam::000000000000:user/lab-operator';

/** The lab's STS with its long-term user: every key the lab's S3 accepts is looked up here. */
export function labSts(clock: LabClock = labClock(1)): LabSts {
  const sts = new LabSts(clock);
  sts.addUser({ ...LAB_S3_CREDENTIALS, arn: LAB_USER_ARN });
  return sts;
}

const StartS3Options = z.object({
  directory: z.string().min(1),
  port: z.number().int().min(0).max(65535).optional(),
  /** Bucket names, made at start (existing data in `directory` is kept). */
  buckets: z.array(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'bucket names follow S3 rules')).default([]),
});
export type StartS3Options = z.input<typeof StartS3Options> & {
  /** Whose keys are accepted, and the clock presigned URLs expire on; default: the lab user's keys at time scale 1. */
  sts?: LabSts;
  clock?: LabClock;
};

export interface LabS3 {
  /** `http://127.0.0.1:<port>`; use as `AWS_ENDPOINT_URL_S3`. */
  endpoint: string;
  port: number;
  /** The STS whose sessions (and the lab user's keys) this S3 accepts. */
  sts: LabSts;
  close(): Promise<void>;
}

export async function startS3(options: StartS3Options): Promise<LabS3> {
  const { directory, port, buckets } = StartS3Options.parse(options);
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: port ?? 0,
    directory,
    silent: true,
    // Path-style only: virtual-host buckets would need DNS for *.127.0.0.1.
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const router = server.middleware.length - 1;
  if (server.middleware[router]?.name !== 'dispatch') throw new Error('s3rver changed: its router is not the last Koa middleware');
  const clock = options.clock ?? labClock(1);
  const sts = options.sts ?? labSts(clock);
  // in order: SigV4 + access (s3-auth.ts), additional checksums, the multipart calls s3rver lacks
  server.middleware.splice(router, 0, s3Authentication({ sts, clock }), checksumRoutes(), multipartRoutes());
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    sts,
    close: async () => {
      // Keep-alive sockets from SDK clients would hold close() open.
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}

/**
 * An S3 client for the lab's server. Checksums are computed only when an
 * operation requires them: s3rver predates the SDK's default CRC32
 * "aws-chunked" uploads and would store the chunk framing as object data.
 */
export function labS3Client(endpoint: string, region = 'us-east-1'): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: LAB_S3_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
