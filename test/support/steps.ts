/** Shared fixtures for the step-task tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import type { HostRunContext } from '../../core/models';

export const RUN: HostRunContext = {
  runId: '7f1c2a9e-3b4d-4c5e-8f60-0123456789ab',
  kind: 'upgrade',
  hostId: 'acme-prod-1',
  fleetId: 'acme',
  instanceId: 'i-0123456789abcdef0',
  composeDir: '/opt/semaphor',
  healthUrl: 'http://127.0.0.1:3000/api/health',
  mode: 'embedded',
  fromVersion: '1.4.0',
  targetVersion: '1.6.0',
  rolloutId: 'r-2024-06',
  leaseToken: 42,
  startedAt: Date.UTC(2024, 5, 1, 12, 0, 0),
};

// s3rver ships no types; required untyped so no ambient declaration can clash with the lab's.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

export interface TestS3 {
  endpoint: string;
  client: S3Client;
  close(): Promise<void>;
}

/** A real s3rver on a free port with the given buckets, and a path-style client for it. */
export async function startS3(buckets: string[]): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'fw-steps-s3-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    client,
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
