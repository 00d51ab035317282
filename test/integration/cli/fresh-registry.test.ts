/**
 * The CLI on an AWS account's first day: FLEETWAVE_CONFIG pointing at a
 * registry database nothing has used yet (no Lambda has run, so no migration
 * either). README's first steps, `release apply` then `fleet apply`, work.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { jsonOf, runCli } from '../../support/cli';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let db: TestDatabase;
let dir: string;
const saved = process.env.FLEETWAVE_CONFIG;
const RELEASES = new URL('../../../releases/semaphor.json', import.meta.url).pathname;

beforeAll(async () => {
  db = await createTestDatabase('fw_fresh');
  dir = mkdtempSync(join(tmpdir(), 'fw-fresh-'));
  const arn = (name: string) => `arn:aws:states:eu-west-1:111122223333:stateMachine:${name}`;
  const config = join(dir, 'fleetwave.json');
  writeFileSync(
    config,
    JSON.stringify({
      region: 'eu-west-1',
      databaseUrl: db.url,
      stateMachines: { hostUpgrade: arn('HostUpgrade'), hostRollback: arn('HostRollback'), fleetRollout: arn('FleetRollout'), rolloutRollback: arn('RolloutRollback') },
      backupBucket: 'fleetwave-backups-111122223333',
    }),
  );
  process.env.FLEETWAVE_CONFIG = config;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.FLEETWAVE_CONFIG;
  else process.env.FLEETWAVE_CONFIG = saved;
  rmSync(dir, { recursive: true, force: true });
  await db.drop();
});

describe('a fresh registry', () => {
  it('takes the vendor catalog and a fleet file from the CLI before any Lambda has run', async () => {
    const r = await runCli(['release', 'apply', RELEASES, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonOf<{ added: string[] }>(r).added).toEqual(['1.4.0', '1.4.1', '1.5.0', '1.6.0', '1.6.1', '2.0.0']);

    const fleet = join(dir, 'acme.yaml');
    writeFileSync(
      fleet,
      stringify({
        fleet: 'acme',
        desiredVersion: 'v1.5.0',
        hosts: [{ id: 'acme-stg-1', instanceId: 'i-0123456789abcdef0', tier: 'staging', databaseMode: 'embedded', composeDir: '/opt/semaphor', healthUrl: 'http://10.0.0.5:3000/api/health' }],
      }),
    );
    const f = await runCli(['fleet', 'apply', fleet, '--json']);
    expect(f.code, f.stderr).toBe(0);
    expect(jsonOf(f)).toMatchObject({ fleet: 'acme', changes: { fleet: 'created', added: ['acme-stg-1'] } });
    const listed = jsonOf<{ host: string; version: string | null }[]>(await runCli(['status', '--json']));
    expect(listed).toEqual([expect.objectContaining({ host: 'acme-stg-1', version: null })]);
  });
});
