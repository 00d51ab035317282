/**
 * A docker-compose v1 host (no `docker compose`), a backup larger than the
 * parts it was given, and the lab docker's own contract (fail loudly on
 * anything it does not implement, never delete volumes).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSync } from '../../../lab/hosts/catalog';
import { renderTemplate } from '../../../lab/hosts/docker-cli';
import { createHost, reserveHostPort, destroyHost, hostEnv, runningVersions, setFaults, waitHealthy, type LabHost } from '../../../lab/hosts';
import { prepareBackup, runStep, startS3, type TestS3 } from './support';

describe('a docker-compose v1 host', () => {
  let host: LabHost;
  let s3: TestS3;
  let base: string;
  const docker = async (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, ...(await hostEnv(host.root)) } });

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'fw-hosts-v1-'));
    s3 = await startS3();
    host = await createHost({ root: join(base, 'h1'), hostId: 'h-v1', mode: 'embedded', version: '1.5.0', port: await reserveHostPort(), composeFlavor: 'v1' });
  });
  afterAll(async () => {
    if (host) await destroyHost(host);
    await s3?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('preflight and inventory work through docker-compose when docker compose is absent', async () => {
    expect((await docker('compose', 'version')).status).not.toBe(0);
    const pre = await runStep('preflight', host.root, { ComposeDir: host.composeDir, TargetVersion: '1.6.0', MinFreeMb: '1' });
    expect(pre.result).toMatchObject({ ok: true, compose: 'docker-compose', currentVersion: '1.5.0' });
    const inv = await runStep('inventory', host.root, { ComposeDir: host.composeDir });
    expect(inv.result.services['api-service']).toMatchObject({ tag: '1.5.0', running: true });
    expect(inv.result.services['api-service'].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(inv.result.pinned).toEqual({ 'api-service': '1.5.0', 'data-service': '1.5.0', 'data-service-sidecar': '1.5.0' });
  });

  it('a backup that needs more parts than it was given fails with backup-too-large and restarts the services', async () => {
    // ~6 MiB of incompressible data in the volume, one part of 5 MiB (S3's smallest)
    writeFileSync(join(host.root, 'volumes', 'semaphor_semaphor-data', 'attachments.bin'), randomBytes(6_000_000));
    const target = await prepareBackup(s3, 'too-large', 1, 5);
    const { code, result } = await runStep('backup', host.root, { ComposeDir: host.composeDir, ...target.params });
    expect(code).toBe(1);
    expect(result).toMatchObject({ ok: false, error: 'backup-too-large' });
    expect(runningVersions(host.root)['api-service']).toBe('1.5.0');
    await waitHealthy(host.healthUrl, 10_000);
  });

  it('watch-schema reports an expired licence as license-expired, not as a sync failure', async () => {
    const envFor = await hostEnv(host.root);
    const v1 = (...args: string[]) => spawnSync('docker-compose', ['--project-directory', host.composeDir, ...args], { encoding: 'utf8', env: { ...process.env, ...envFor } });
    expect(v1('stop').status).toBe(0);
    await setFaults(host.root, { licenseExpired: true });
    expect((await runStep('restart', host.root, { ComposeDir: host.composeDir })).result.ok).toBe(true);
    const w = await runStep('watch-schema', host.root, { ComposeDir: host.composeDir, PollSeconds: '1', TimeoutSeconds: '20' });
    expect(w.result).toMatchObject({ ok: false, error: 'license-expired', synced: false });
    await setFaults(host.root, {});
    expect((await runStep('restart', host.root, { ComposeDir: host.composeDir })).result.ok).toBe(true);
    expect((await runStep('watch-schema', host.root, { ComposeDir: host.composeDir, PollSeconds: '1', TimeoutSeconds: '20' })).result).toMatchObject({ ok: true, synced: true });
  });

  it('the lab docker fails loudly on what it does not implement and never deletes volumes', async () => {
    expect((await docker('system', 'prune')).status).toBe(125);
    const down = await docker('compose', 'down', '-v');
    expect(down.status).not.toBe(0);
    const v1down = spawnSync('docker-compose', ['--project-directory', host.composeDir, 'down', '-v'], { encoding: 'utf8', env: { ...process.env, ...(await hostEnv(host.root)) } });
    expect(v1down.status).toBe(125);
    expect(v1down.stderr).toMatch(/unsupported/);
  });
});

describe('lab docker templates and the release catalog', () => {
  it('renders the Go template forms the scripts use', () => {
    const obj = { State: { Running: true }, Config: { Labels: { 'com.docker.compose.service': 'api-service' } }, RepoTags: ['a:1'] };
    expect(renderTemplate('{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Running}}|{{index .RepoTags 0}}', obj)).toBe('api-service|true|a:1');
    expect(() => renderTemplate('{{.Nope.Deeper}}', obj)).toThrow(/can't evaluate field/);
  });

  it('plans schema sync: migrations forward, refusals for broken releases, skipped prerequisites and downgrades', () => {
    expect(planSync('1.4.0', '1.6.0')).toMatchObject({ kind: 'migrate', changes: [{ kind: 'add-column' }, { kind: 'drop-column', column: 'legacy_notes' }] });
    expect(planSync('1.6.0', '1.6.1')).toMatchObject({ kind: 'fail' });
    expect(planSync('1.5.0', '2.0.0')).toMatchObject({ kind: 'fail', reason: expect.stringContaining('requires 1.6.0') });
    expect(planSync('1.6.0', '2.0.0')).toMatchObject({ kind: 'migrate' });
    expect(planSync('1.6.0', '1.4.0')).toMatchObject({ kind: 'fail', reason: expect.stringContaining('newer') });
    expect(planSync('1.4.0', '1.4.0')).toEqual({ kind: 'none' });
  });
});
