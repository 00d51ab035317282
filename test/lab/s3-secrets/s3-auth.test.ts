/**
 * The lab's S3 is no kinder than S3 about who signs: SigV4 is verified, a
 * session's token is required, and a session that has ended is refused with
 * 400 ExpiredToken — also for a presigned URL it signed, whatever expiry the
 * URL asks for (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html;
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html:
 * a URL made with temporary credentials expires when the credentials do).
 * The time scale makes a 15-minute session last 2.5 seconds here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labClock } from '../../../lab/clock';
import { LAB_HOST_ROLE_ARN } from '../../../lab/hosts/credentials';
import { labS3Client, labSts, startS3, type LabS3 } from '../../../lab/s3';

const BUCKET = 'lab-backups';
const clock = labClock(1 / 360); // 900 simulated seconds = 2.5 s
const sts = labSts(clock);
let root: string;
let s3: LabS3;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fw-lab-s3-auth-'));
  s3 = await startS3({ directory: join(root, 'data'), buckets: [BUCKET], sts, clock });
  await labS3Client(s3.endpoint).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'backups/h1/b1/config.tar.gz', Body: 'cfg' }));
});
afterAll(async () => {
  await s3?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const session = (durationSeconds = 43_200) => sts.assumeRole({ roleArn: LAB_HOST_ROLE_ARN, sessionName: 'mi-0123456789abcdef0', durationSeconds, access: { objectPrefixes: ['backups/h1/'] } });
const clientOf = (c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
  new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: c, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
const get = (client: S3Client, Key = 'backups/h1/b1/config.tar.gz') => client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));

describe('lab S3 authentication', () => {
  it('serves a live session, refuses a wrong secret, a missing token, and anonymous requests', async () => {
    const c = session();
    expect(await (await get(clientOf(c))).Body!.transformToString()).toBe('cfg');
    await expect(get(clientOf({ ...c, secretAccessKey: `${c.secretAccessKey}x` }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    await expect(get(clientOf({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }))).rejects.toMatchObject({ name: 'InvalidToken' });
    expect((await fetch(`${s3.endpoint}/${BUCKET}/backups/h1/b1/config.tar.gz`)).status).toBe(403);
  });

  it('refuses a session after it ends (ExpiredToken), and the presigned URL it signed with it', async () => {
    const c = session(900);
    const client = clientOf(c);
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'backups/h1/b1/config.tar.gz' }), { expiresIn: 3600 });
    expect((await fetch(url)).status).toBe(200);
    await sleep(clock.real(900_000) + 50);
    await expect(get(client)).rejects.toMatchObject({ name: 'ExpiredToken', $metadata: { httpStatusCode: 400 } });
    const late = await fetch(url);
    expect(late.status).toBe(400);
    expect(await late.text()).toContain('<Code>ExpiredToken</Code>');
  });

  it('keeps a session to its own prefix', async () => {
    await expect(get(clientOf(session()), 'backups/h2/b1/config.tar.gz')).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });

  it('refuses a session shorter than 15 minutes, as AssumeRole does', () => {
    expect(() => session(899)).toThrow(/DurationSeconds must be an integer from 900/);
  });
});
