/** Shared fixtures for the step-task tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { documentNameFor } from '../../core/host-steps/parameters';
import { HOST_STEPS, type HostRunContext } from '../../core/models';
import { labS3Client, startS3 as startLabS3 } from '../../lab/s3';
import type { LabSts } from '../../lab/sts';

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

/** DOCUMENT_VERSIONS as a deployment gives it: every host document of `prefix` at `version`. */
export const deployedVersions = (prefix = 'Fleetwave-', version = '3'): Record<string, string> =>
  Object.fromEntries(HOST_STEPS.map((step) => [documentNameFor(step, prefix), version]));

export interface TestS3 {
  endpoint: string;
  client: S3Client;
  /** The STS whose sessions the server accepts (a host's own role session comes from here). */
  sts: LabSts;
  close(): Promise<void>;
}

/** The lab's S3 (s3rver with multipart abort) on a free port with the given buckets, and a client for it. */
export async function startS3(buckets: string[]): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'fw-steps-s3-'));
  const server = await startLabS3({ directory, buckets });
  const client = labS3Client(server.endpoint);
  return {
    endpoint: server.endpoint,
    client,
    sts: server.sts,
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
