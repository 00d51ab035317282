/**
 * Issue #11 item 2, on the host: no credential expires mid-transfer. The
 * backup script reads the node's credentials file before every S3 request,
 * so a session SSM Agent rotated is used at once, and a request refused with
 * ExpiredToken is tried again with what the file holds then. The lab S3 runs
 * at time scale 1/360: a 15-minute session lasts 2.5 s, and ends before the
 * backup does. Real bash, a simulated embedded host.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { labClock } from '../../../lab/clock';
import { createHost, reserveHostPort, destroyHost, type LabHost } from '../../../lab/hosts';
import { hostCredentialsFile, LAB_HOST_ROLE_ARN, startHostCredentials } from '../../../lab/hosts/credentials';
import { BUCKET, prepareBackup, runStep, startS3, type TestS3 } from './support';

const clock = labClock(1 / 360);
let s3: TestS3;
let host: LabHost;
let base: string;
let adminUrl: string;

beforeAll(async () => {
  adminUrl = inject('databaseUrl');
  base = mkdtempSync(join(tmpdir(), 'fw-creds-'));
  s3 = await startS3({ clock });
  host = await createHost({ root: join(base, 'h'), hostId: 'h-creds', mode: 'embedded', version: '1.4.0', port: await reserveHostPort(), adminDatabaseUrl: adminUrl });
}, 120_000);
afterAll(async () => {
  if (host) await destroyHost(host, adminUrl).catch(() => undefined);
  await s3?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

/** Write a session the way SSM Agent does: whole file, renamed into place. */
function writeSession(file: string, durationSeconds = 900): void {
  // what an agent wrote before: a session that is about to end
  const c = s3.sts.assumeRole({ roleArn: LAB_HOST_ROLE_ARN, sessionName: 'mi-0123456789abcdef0', durationSeconds, access: { objectPrefixes: ['backups/h-creds/'] } });
  writeFileSync(`${file}.tmp`, `[default]\naws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\naws_session_token = ${c.sessionToken}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

describe('host credentials during a transfer', () => {
  it('uses the session SSM Agent rotated in when the old one expired: the backup still completes', async () => {
    const file = hostCredentialsFile(host.root);
    mkdirSync(dirname(file), { recursive: true });
    writeSession(file);
    await sleep(clock.real(900_000) + 100); // the session in the file has ended
    // the lab's agent (one-hour sessions, renewed at half-life) starts a little later, while the backup already tries
    let agent: { stop(): void } | undefined;
    const rotate = sleep(1500).then(() => {
      agent = startHostCredentials({ root: host.root, hostId: 'h-creds', instanceId: 'mi-0123456789abcdef0', sts: s3.sts, clock });
    });
    const target = await prepareBackup(s3, 'h-creds', 1, 5);
    const b = await runStep('backup', host.root, { ComposeDir: host.composeDir, ...target.params }, { credentialsFile: file }).finally(async () => {
      await rotate;
      agent?.stop();
    });
    expect(b.result).toMatchObject({ step: 'backup', ok: true });
    expect(b.stderr + b.stdout).not.toMatch(/aws_secret_access_key|ASIA[A-Z0-9]{12}/);
    await expect(s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: target.configKey }))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  }, 120_000);

  it('fails the backup, naming why, when the node has no credentials at all', async () => {
    const target = await prepareBackup(s3, 'h-creds', 1, 5);
    const b = await runStep('backup', host.root, { ComposeDir: host.composeDir, ...target.params }, { credentialsFile: join(base, 'nothing-here') });
    expect(b.result).toMatchObject({ step: 'backup', ok: false, error: 'backup-failed', message: expect.stringContaining('no role credentials') });
  }, 120_000);
});
