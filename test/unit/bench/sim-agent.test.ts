/**
 * The benchmarks' simulated SSM agent (lab/ssm/sim-agent.ts): each document
 * answered with a result line the orchestrator's own parsers accept, the host's
 * version carried from pin-tags to restart, the fixed delay kept and cancel
 * honoured. Its S3 requests, signed with the node's session from the shared
 * credentials file, go to a mocked S3 client (no I/O in unit tests).
 */
import { PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseResultLine } from '../../../core/host-steps/poll-step';
import { BackupResult, PreflightResult } from '../../../core/host-steps/results';
import { createSimAgent } from '../../../lab/ssm/sim-agent';
import { documentName } from '../../../ssm-documents';
import type { HostStep } from '../../../core/models';

let dir: string;
const s3 = mockClient(S3Client);
let session: Record<string, string>;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fw-sim-agent-'));
  s3.reset();
  s3.on(UploadPartCommand).resolves({ ETag: '"abc123"' });
  s3.on(PutObjectCommand).resolves({});
  // the node's role session as SSM Agent shares it (lab/hosts/credentials.ts)
  const file = join(dir, 'root', '.aws', 'credentials');
  mkdirSync(join(dir, 'root', '.aws'), { recursive: true });
  writeFileSync(file, '[default]\naws_access_key_id = ASIAEXAMPLE1\naws_secret_access_key = secret1\naws_session_token = token1\n');
  session = { AWS_SHARED_CREDENTIALS_FILE: file, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' };
});
afterEach(() => {
  vi.unstubAllGlobals();
  rmSync(dir, { recursive: true, force: true });
});

describe('simulated SSM agent', () => {
  const agent = () => createSimAgent({ stepMs: 30, initialVersion: '1.4.0' });
  const run = async (a: ReturnType<typeof createSimAgent>, step: HostStep, env: Record<string, string> = {}, agentEnv: Record<string, string> = {}) => {
    const running = a.runStep({
      documentName: documentName(step),
      instanceId: 'mi-1',
      orchestrationDir: join(dir, step),
      step: { name: 'run', lines: [], env, timeoutSeconds: 60 } as never,
      agentWorkingDirectory: dir,
      agentEnv,
      extraEnv: {},
      headChars: { stdout: 24_000, stderr: 8_000 },
      timeoutMs: 60_000,
    });
    const result = await running.result;
    return { result, line: parseResultLine(readFileSync(result.stdout.path, 'utf8')) };
  };

  it('answers preflight with the running version, as the preflight schema reads it', async () => {
    const { result, line } = await run(agent(), 'preflight', { SSM_TargetVersion: '1.5.0' });
    expect(result.exitCode).toBe(0);
    expect(result.endedAt - result.startedAt).toBeGreaterThanOrEqual(25);
    expect(PreflightResult.parse(line)).toMatchObject({ currentVersion: '1.4.0', mixedVersions: false, mode: 'embedded' });
  });

  it("uploads the backup as part 1 of its upload and the config object, with the node's own session, and reports what it sent", async () => {
    const keys = { SSM_Bucket: 'fw-backups', SSM_DataKey: 'backups/h1/r1/data.tar.gz', SSM_ConfigKey: 'backups/h1/r1/config.tar.gz', SSM_UploadId: 'up-1' };
    const { line } = await run(agent(), 'backup', keys, session);
    const backup = BackupResult.parse(line);
    const [part] = s3.commandCalls(UploadPartCommand);
    expect(part!.args[0].input).toMatchObject({ Bucket: 'fw-backups', Key: keys.SSM_DataKey, UploadId: 'up-1', PartNumber: 1, ChecksumSHA256: expect.stringMatching(/=$/) });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ Key: keys.SSM_ConfigKey });
    const body = part!.args[0].input.Body as Buffer;
    expect(backup.data.parts).toEqual([{ partNumber: 1, etag: 'abc123', bytes: body.length, checksumSha256: part!.args[0].input.ChecksumSHA256 }]);
    expect(backup.data.bytes).toBe(body.length);
    expect(backup.version).toBe('1.4.0');
    // the write window (core/host-run/write-window.ts) reads these
    expect(line).toMatchObject({ servicesStopped: true, snapshotAt: expect.any(Number), finishedAt: expect.any(Number) });
  });

  it('signs with the session in the credentials file, tries a failed request three times, then fails the step', async () => {
    s3.on(UploadPartCommand).rejects(new Error('socket hang up'));
    const keys = { SSM_Bucket: 'fw-backups', SSM_DataKey: 'backups/h1/r1/data.tar.gz', SSM_ConfigKey: 'backups/h1/r1/config.tar.gz', SSM_UploadId: 'up-1' };
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const pending = run(createSimAgent({ stepMs: 0, initialVersion: '1.4.0' }), 'backup', keys, session).catch((e: unknown) => e);
      await vi.runAllTimersAsync();
      await pending;
    } finally {
      vi.useRealTimers();
    }
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(3);
    const creds = await (s3.commandCalls(UploadPartCommand)[0]!.thisValue as S3Client).config.credentials();
    expect(creds).toMatchObject({ accessKeyId: 'ASIAEXAMPLE1', sessionToken: 'token1' });
  });

  it('fails a backup on a node with no role session, naming what is missing', async () => {
    const running = createSimAgent({ stepMs: 0, initialVersion: '1.4.0' }).runStep({ documentName: documentName('backup'), instanceId: 'mi-3', orchestrationDir: dir, step: { name: 'run', lines: [], env: {}, timeoutSeconds: 60 } as never, agentWorkingDirectory: dir, agentEnv: {}, extraEnv: {}, headChars: { stdout: 100, stderr: 1000 }, timeoutMs: 60_000 });
    const result = await running.result;
    expect(result.exitCode).toBe(1);
    expect(result.stderr.head).toContain('AWS_SHARED_CREDENTIALS_FILE');
  });

  it('runs the pinned version only after restart, and counts documents', async () => {
    const a = agent();
    await run(a, 'pin-tags', { SSM_Version: '1.5.0' });
    expect(a.versionOf('mi-1')).toBe('1.4.0');
    const { line } = await run(a, 'restart');
    expect(line).toMatchObject({ step: 'restart', ok: true, version: '1.5.0', startedAt: expect.any(Number) });
    expect(a.versionOf('mi-1')).toBe('1.5.0');
    expect(Object.fromEntries(a.counts)).toEqual({ 'Fleetwave-PinTags': 1, 'Fleetwave-Restart': 1 });
  });

  it('ends a cancelled step at once with exit code 137', async () => {
    const a = createSimAgent({ stepMs: 10_000, initialVersion: '1.4.0' });
    const running = a.runStep({ documentName: documentName('restart'), instanceId: 'mi-2', orchestrationDir: dir, step: { name: 'run', lines: [], env: {}, timeoutSeconds: 60 } as never, agentWorkingDirectory: dir, agentEnv: {}, extraEnv: {}, headChars: { stdout: 100, stderr: 100 }, timeoutMs: 60_000 });
    setTimeout(() => running.cancel(), 20);
    const result = await running.result;
    expect(result.exitCode).toBe(137);
    expect(result.stoppedBy).toBe('cancel');
    expect(result.endedAt - result.startedAt).toBeLessThan(5000);
  });
});
