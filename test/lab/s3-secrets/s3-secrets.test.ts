/**
 * The lab's S3 (s3rver) and Secrets Manager endpoints, driven by the real
 * SDK clients the Lambda tasks use. Each assertion names the AWS behaviour
 * it relies on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3Client as S3ClientType,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labS3Client, startS3, type LabS3 } from '../../../lab/s3';
import { startSecretsManager, type LabSecrets } from '../../../lab/secrets';

const BUCKET = 'lab-backups';
let root: string;
let s3: LabS3;
let client: S3ClientType;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fw-lab-s3-'));
  s3 = await startS3({ directory: join(root, 'data'), buckets: [BUCKET] });
  client = labS3Client(s3.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('lab S3', () => {
  it('stores and returns objects through the ordinary S3 client', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'backups/h1/b1/config.tar.gz', Body: 'config-bytes' }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'backups/h1/b1/config.tar.gz' }));
    expect(await got.Body!.transformToString()).toBe('config-bytes');
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'backups/h1/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['backups/h1/b1/config.tar.gz']);
    // GetObject on a missing key: NoSuchKey.
    await expect(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('accepts uploads through presigned PUT URLs and serves presigned GETs, as the host scripts use them', async () => {
    const put = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned/data.bin' }), { expiresIn: 300 });
    const body = Buffer.from('x'.repeat(1000) + 'end');
    const res = await fetch(put, { method: 'PUT', body });
    expect(res.status).toBe(200);
    const get = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/data.bin' }), { expiresIn: 300 });
    const back = await fetch(get);
    expect(Buffer.from(await back.arrayBuffer()).equals(body)).toBe(true);
  });

  it('assembles multipart uploads from their parts in order', async () => {
    const key = 'backups/h1/b2/data.tar.gz';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    // Every part but the last must be at least 5 MiB.
    const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
    const part2 = Buffer.from('tail');
    const p1 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: part1 }));
    const p2 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: part2 }));
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] },
      }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.length).toBe(part1.length + part2.length);
    expect(bytes.subarray(-4).toString()).toBe('tail');
  });

  it('refuses requests signed with other credentials', async () => {
    const stranger = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'NOPE', secretAccessKey: 'NOPE' } });
    try {
      await expect(stranger.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'backups/h1/b1/config.tar.gz' }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    } finally {
      stranger.destroy();
    }
  });

  it('keeps its data across a restart on the same directory', async () => {
    const second = await startS3({ directory: join(root, 'data'), buckets: [BUCKET] });
    const other = labS3Client(second.endpoint);
    try {
      const got = await other.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'backups/h1/b1/config.tar.gz' }));
      expect(await got.Body!.transformToString()).toBe('config-bytes');
    } finally {
      other.destroy();
      await second.close();
    }
  });

  it('documents the known gap: s3rver 3.7 cannot enable bucket versioning', async () => {
    // Real S3 accepts PutBucketVersioning; the lab cannot, so versioning is asserted on the CDK template.
    await expect(client.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }))).rejects.toThrow();
  });
});

describe('lab Secrets Manager', () => {
  let secrets: LabSecrets;
  let sm: SecretsManagerClient;

  beforeAll(async () => {
    secrets = await startSecretsManager({
      secrets: new Map<string, string | Record<string, unknown>>([
        ['fleetwave/registry', { username: 'fleetwave', password: 's3cret', host: '127.0.0.1', port: 5432 }],
        ['plain', 'just-a-string'],
      ]),
    });
    sm = new SecretsManagerClient({ region: 'us-east-1', endpoint: secrets.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
  });

  afterAll(async () => {
    sm?.destroy();
    await secrets?.close();
  });

  it('returns a secret by name and by ARN', async () => {
    const byName = await sm.send(new GetSecretValueCommand({ SecretId: 'fleetwave/registry' }));
    expect(JSON.parse(byName.SecretString!)).toMatchObject({ username: 'fleetwave', password: 's3cret' });
    // Secret ARNs end with a dash and six characters (random in AWS, derived from the name in the lab).
    expect(byName.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:fleetwave\/registry-[A-Za-z0-9]{6}$/);
    expect(byName.VersionStages).toEqual(['AWSCURRENT']);
    const byArn = await sm.send(new GetSecretValueCommand({ SecretId: secrets.arnOf('fleetwave/registry') }));
    expect(byArn.SecretString).toBe(byName.SecretString);
    expect(byArn.Name).toBe('fleetwave/registry');
    const plain = await sm.send(new GetSecretValueCommand({ SecretId: 'plain' }));
    expect(plain.SecretString).toBe('just-a-string');
    expect(plain.CreatedDate).toBeInstanceOf(Date);
  });

  it('gives a secret the same ARN in every lab, derived from its name', async () => {
    const other = await startSecretsManager({ secrets: { 'fleetwave/registry': 'another lab, another value', plain: 'x' } });
    try {
      expect(other.arnOf('fleetwave/registry')).toBe(secrets.arnOf('fleetwave/registry'));
      expect(other.arnOf('plain').slice(-6)).not.toBe(other.arnOf('fleetwave/registry').slice(-6));
      // same ARN, each lab's own value behind its own endpoint
      const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: other.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
      const theirs = await client.send(new GetSecretValueCommand({ SecretId: other.arnOf('fleetwave/registry') }));
      client.destroy();
      const ours = await sm.send(new GetSecretValueCommand({ SecretId: secrets.arnOf('fleetwave/registry') }));
      expect(theirs.SecretString).toBe('another lab, another value');
      expect(JSON.parse(ours.SecretString!)).toMatchObject({ username: 'fleetwave' });
    } finally {
      await other.close();
    }
  });

  it('answers ResourceNotFoundException for an unknown secret', async () => {
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'plain', VersionStage: 'AWSPREVIOUS' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('serves a rotated value under a new version id', async () => {
    const before = await sm.send(new GetSecretValueCommand({ SecretId: 'plain' }));
    secrets.putSecret('plain', 'rotated');
    const after = await sm.send(new GetSecretValueCommand({ SecretId: 'plain' }));
    expect(after.SecretString).toBe('rotated');
    expect(after.VersionId).not.toBe(before.VersionId);
    expect(after.ARN).toBe(before.ARN);
  });
});
