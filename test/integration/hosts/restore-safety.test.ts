/**
 * Issue #12 item 2: a restore keeps the host's current data until the new
 * data is complete and checked, and when it fails it puts the host back
 * exactly as it was before the restore began: the same data, the same
 * config files, the services running as they were. Real bash, simulated
 * hosts, both database modes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DatabaseMode, HostStep } from '../../../core/models';
import { createHost, reserveHostPort, dataChecksums, destroyHost, runningVersions, setFaults, waitHealthy, type LabHost } from '../../../lab/hosts';
import { completeBackup, prepareBackup, restoreFrom, runStep, startS3, type TestS3 } from './support';

const ALL = (v: string | null) => ({ 'api-service': v, 'data-service': v, 'data-service-sidecar': v });

describe.each<DatabaseMode>(['embedded', 'external'])('a failed restore on an %s host', (mode) => {
  let s3: TestS3;
  let host: LabHost;
  let base: string;
  let adminUrl: string;
  let restoreParams: () => Promise<Record<string, string>>;
  let dataAtBackup: Record<string, string>;
  const step = (s: HostStep, params: Record<string, string | string[]> = {}) => runStep(s, host.root, { ComposeDir: host.composeDir, ...params });
  const config = () => ({
    compose: readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8'),
    env: readFileSync(join(host.composeDir, 'semaphor.env'), 'utf8'),
  });

  beforeAll(async () => {
    adminUrl = inject('databaseUrl');
    base = mkdtempSync(join(tmpdir(), `fw-restore-${mode}-`));
    s3 = await startS3();
    host = await createHost({ root: join(base, 'h'), hostId: `h-rs-${mode}`, mode, version: '1.4.0', port: await reserveHostPort(), adminDatabaseUrl: adminUrl });
    dataAtBackup = await dataChecksums(host.root);
    const target = await prepareBackup(s3, `rs-${mode}`, 2, 5, mode === 'embedded' ? 'tar.gz' : 'pgdump');
    const b = await step('backup', target.params);
    expect(b.result).toMatchObject({ ok: true });
    await completeBackup(s3, target, b.result.data.parts);
    restoreParams = async () => ({
      Mode: mode,
      ...restoreFrom(target),
      DataSha256: b.result.data.sha256,
      ConfigSha256: b.result.config.sha256,
    });
    // an embedded backup leaves the services stopped for the restart to start them
    if (mode === 'external') await waitHealthy(host.healthUrl, 10_000);
    // the host moves on to 1.5.0: its data and config are now newer than the backup
    for (const [s, p] of [['pull-images', { Version: '1.5.0' }], ['pin-tags', { Version: '1.5.0' }], ['restart', {}], ['watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' }]] as const) {
      expect((await step(s, p)).result).toMatchObject({ ok: true });
    }
    await waitHealthy(host.healthUrl, 10_000);
  });
  afterAll(async () => {
    if (host) await destroyHost(host, adminUrl);
    await s3?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('leaves data, config and running services exactly as they were before the restore began', async () => {
    const dataBefore = await dataChecksums(host.root);
    const configBefore = config();
    expect(runningVersions(host.root)).toEqual(ALL('1.5.0'));
    await setFaults(host.root, { restoreFails: true });

    const r = await step('restore', await restoreParams());

    expect(r.code).toBe(1);
    expect(r.result).toMatchObject({ step: 'restore', ok: false, error: 'restore-failed' });
    expect(await dataChecksums(host.root)).toEqual(dataBefore);
    expect(config()).toEqual(configBefore);
    expect(runningVersions(host.root)).toEqual(ALL('1.5.0'));
    await waitHealthy(host.healthUrl, 10_000);
  });

  it('then restores completely once the fault is gone, leaving nothing of its own behind', async () => {
    await setFaults(host.root, {});
    const r = await step('restore', await restoreParams());
    expect(r.result).toMatchObject({ ok: true, restored: true, version: '1.4.0' });
    expect(runningVersions(host.root)).toEqual(ALL('1.4.0'));
    expect(await dataChecksums(host.root)).toEqual(dataAtBackup);
  });
});
