/**
 * The benchmarks' simulated SSM agent (lab/ssm/sim-agent.ts): each document
 * answered with a result line the orchestrator's own parsers accept, the host's
 * version carried from pin-tags to restart, the fixed delay kept and cancel
 * honoured. The presigned uploads go to a stubbed fetch (no I/O in unit tests).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseResultLine } from '../../../core/host-steps/poll-step';
import { BackupResult, PreflightResult } from '../../../core/host-steps/results';
import { createSimAgent } from '../../../lab/ssm/sim-agent';
import { documentName } from '../../../ssm-documents';
import type { HostStep } from '../../../core/models';

let dir: string;
const puts: { url: string; bytes: number }[] = [];
const b64 = (s: string) => Buffer.from(s).toString('base64url');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fw-sim-agent-'));
  puts.length = 0;
  vi.stubGlobal('fetch', async (url: string, init?: { method?: string; body?: Buffer }) => {
    if (init?.method === 'PUT') puts.push({ url, bytes: init.body?.length ?? 0 });
    return new Response(init?.method === 'PUT' ? '' : 'data', { status: 200, headers: { etag: '"abc123"' } });
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
  rmSync(dir, { recursive: true, force: true });
});

describe('simulated SSM agent', () => {
  const agent = () => createSimAgent({ stepMs: 30, initialVersion: '1.4.0' });
  const run = async (a: ReturnType<typeof createSimAgent>, step: HostStep, env: Record<string, string> = {}) => {
    const running = a.runStep({
      documentName: documentName(step),
      instanceId: 'mi-1',
      orchestrationDir: join(dir, step),
      step: { name: 'run', lines: [], env, timeoutSeconds: 60 } as never,
      agentWorkingDirectory: dir,
      agentEnv: {},
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

  it('uploads the backup through the part and config URLs it is given and reports what it sent', async () => {
    const { line } = await run(agent(), 'backup', { SSM_DataPartUrls: `${b64('http://s3/part1')},${b64('http://s3/part2')}`, SSM_ConfigUrl: b64('http://s3/config') });
    const backup = BackupResult.parse(line);
    expect(puts.map((p) => p.url)).toEqual(['http://s3/part1', 'http://s3/config']);
    expect(backup.data.parts).toEqual([{ partNumber: 1, etag: 'abc123', bytes: puts[0]!.bytes, checksumSha256: expect.stringMatching(/=$/) }]);
    expect(backup.data.bytes).toBe(puts[0]!.bytes);
    expect(backup.version).toBe('1.4.0');
    // the write window (core/host-run/write-window.ts) reads these
    expect(line).toMatchObject({ servicesStopped: true, snapshotAt: expect.any(Number), finishedAt: expect.any(Number) });
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
