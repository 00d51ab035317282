/**
 * Issue #12 item 12: the schema-sync verdict comes only from the app's own
 * log lines, anchored, never from a substring that user-controlled text in
 * the log could supply; "license expired" counts only when the container
 * also exited. Real bash against a simulated embedded host.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { HostStep } from '../../../core/models';
import { createHost, reserveHostPort, destroyHost, setFaults, type LabHost } from '../../../lab/hosts';
import { paths } from '../../../lab/hosts/state';
import { runStep } from './support';

describe('watch-schema reads only the app’s own verdict lines', () => {
  let host: LabHost;
  let base: string;
  let adminUrl: string;
  const step = (s: HostStep, params: Record<string, string | string[]> = {}) => runStep(s, host.root, { ComposeDir: host.composeDir, ...params });
  const apiLog = () => paths(host.root).log('api-service');

  /** Restart on `version` with a slow start, wait for its banner, then let a user's text reach the log. */
  async function startWithPlantedLine(version: string, planted: string): Promise<void> {
    await setFaults(host.root, { slowStartSeconds: 3 });
    expect((await step('pull-images', { Version: version })).result.ok).toBe(true);
    expect((await step('pin-tags', { Version: version })).result.ok).toBe(true);
    expect((await step('restart')).result.ok).toBe(true);
    const deadline = Date.now() + 10_000;
    while (!readFileSync(apiLog(), 'utf8').includes(`Semaphor v${version} starting`)) {
      if (Date.now() > deadline) throw new Error('no start banner');
      await new Promise((r) => setTimeout(r, 100));
    }
    // what an app logs on behalf of its users: a dashboard title, a query, a comment
    appendFileSync(apiLog(), `${new Date().toISOString()} dashboard saved by user: "${planted}"\n`);
  }

  let n = 0;
  // a fresh 1.4.0 host per test: each test starts 1.5.0 (or 1.4.0 again) on it
  beforeEach(async () => {
    n += 1;
    host = await createHost({ root: join(base, `h${n}`), hostId: `h-watch-${n}`, mode: 'embedded', version: '1.4.0', port: await reserveHostPort(), adminDatabaseUrl: adminUrl });
  });
  afterEach(async () => {
    if (host) await destroyHost(host, adminUrl);
  });
  beforeAll(() => {
    adminUrl = inject('databaseUrl');
    base = mkdtempSync(join(tmpdir(), 'fw-watch-'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('a user line saying "Schema sync failed" does not fail a sync that completes', async () => {
    await startWithPlantedLine('1.5.0', 'Schema sync failed: drop everything');
    const w = await step('watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' });
    expect(w.result).toMatchObject({ ok: true, synced: true, version: '1.5.0' });
    // The planted line was in the log before the app's own verdict, so the step read past it:
    // an order, not a duration (a loaded machine can start the step late in the 3 s slow start).
    const lines = readFileSync(apiLog(), 'utf8').split('\n');
    const planted = lines.findIndex((l) => l.includes('Schema sync failed: drop everything'));
    const verdict = lines.findIndex((l) => l.endsWith('Schema sync complete'));
    expect(planted).toBeGreaterThanOrEqual(0);
    expect(verdict).toBeGreaterThan(planted);
  });

  it('a user line saying "License expired" while the app runs is not a licence failure', async () => {
    await startWithPlantedLine('1.5.0', 'License expired: please renew');
    const w = await step('watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' });
    expect(w.result).toMatchObject({ ok: true, synced: true, version: '1.5.0' });
  });

  it('a user line saying "Schema sync complete" does not pass a sync that fails', async () => {
    await setFaults(host.root, { slowStartSeconds: 3, schemaSyncFails: true });
    expect((await step('pull-images', { Version: '1.5.0' })).result.ok).toBe(true);
    expect((await step('pin-tags', { Version: '1.5.0' })).result.ok).toBe(true);
    expect((await step('restart')).result.ok).toBe(true);
    const deadline = Date.now() + 10_000;
    while (!readFileSync(apiLog(), 'utf8').includes('Semaphor v1.5.0 starting')) {
      if (Date.now() > deadline) throw new Error('no start banner');
      await new Promise((r) => setTimeout(r, 100));
    }
    appendFileSync(apiLog(), `${new Date().toISOString()} Schema sync complete (said a user)\n`);
    const w = await step('watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' });
    expect(w.result).toMatchObject({ ok: false, error: 'schema-sync-failed', synced: false });
  });

  it('the app’s own licence refusal, with the container exited, is license-expired', async () => {
    await setFaults(host.root, { licenseExpired: true });
    expect((await step('pull-images', { Version: '1.5.0' })).result.ok).toBe(true);
    expect((await step('pin-tags', { Version: '1.5.0' })).result.ok).toBe(true);
    expect((await step('restart')).result.ok).toBe(true);
    const w = await step('watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' });
    expect(w.result).toMatchObject({ ok: false, error: 'license-expired' });
  });
});
