/**
 * Secrets canary: an external-mode host whose DATABASE_URL password is a
 * known, unique string goes through an upgrade and a forced restore (schema
 * sync fails). The canary must then be absent from everything fleetwave keeps
 * or shows: SSM command parameters, command output in S3, execution
 * input/output/history (parent and child), Lambda log lines, every registry
 * row, and the CLI's output. The config backup in S3 does hold semaphor.env
 * (that is its purpose; KMS-encrypted on AWS): it is the positive control
 * proving the search would find the canary where it really is.
 */
import { gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningVersions, setFaults } from '../../lab/hosts';
import type { LabFleetHost } from '../../lab/fleet';
import { jsonOf, pointCliAtLab, runCli } from '../support/cli';
import { startTestLab, type TestLab } from '../support/lab';

const CANARY = `FwCanary${randomBytes(10).toString('hex')}`;
const logLines: string[] = [];
let t: TestLab;
let host: LabFleetHost;
let s3: S3Client;

/** Give the host's database role the canary as its password, and the host's env file the matching URL. */
async function plantCanary(h: LabFleetHost): Promise<void> {
  const envFile = join(h.composeDir, 'semaphor.env');
  const text = readFileSync(envFile, 'utf8');
  const line = /^DATABASE_URL=(.*)$/m.exec(text);
  if (!line) throw new Error('external host without DATABASE_URL');
  const url = new URL(line[1]!);
  const c = new pg.Client({ connectionString: t.lab.adminDatabaseUrl });
  await c.connect();
  try {
    // the canary is [A-Za-z0-9] only, so it needs no quoting beyond the literal
    await c.query(`ALTER ROLE "${decodeURIComponent(url.username)}" PASSWORD '${CANARY}'`);
  } finally {
    await c.end();
  }
  url.password = CANARY;
  writeFileSync(envFile, text.replace(line[0], `DATABASE_URL=${url.toString()}`), { mode: 0o600 });
}

async function readAll(bucket: string, prefix: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      out.set(`${bucket}/${o.Key}`, Buffer.from(await obj.Body!.transformToByteArray()));
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

const leaks = (what: string, text: string) => (text.includes(CANARY) ? [what] : []);

beforeAll(async () => {
  t = await startTestLab({ log: (line) => logLines.push(line) });
  s3 = new S3Client({ forcePathStyle: true });
  [host] = (await t.addHosts('secrets', [{ id: 'secrets-ext', tier: 'production', mode: 'external', version: '1.4.0' }])) as [LabFleetHost];
  await plantCanary(host);

  const up = await t.upgrade(host.id, '1.5.0');
  if (up.status !== 'SUCCEEDED') throw new Error(`upgrade with the canary password failed: ${up.error} ${up.cause}`);
  await setFaults(host.root, { schemaSyncFails: true });
  const forced = await t.upgrade(host.id, '1.6.0', { allowDestructive: true });
  if (forced.error !== 'UpgradeRestored') throw new Error(`expected a restore, got ${forced.status} ${forced.error} ${forced.cause}`);
}, 360_000);
afterAll(async () => {
  s3?.destroy();
  await t?.close();
});

describe('a database password (canary) after an upgrade and a forced restore', () => {
  it('really was the password in use: the host was restored onto 1.5.0 and its config backup holds it', async () => {
    expect(Object.values(runningVersions(host.root))).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    const backups = await t.lab.store.listBackups(host.id);
    expect(backups.map((b) => b.status)).toEqual(['verified', 'verified']);
    const config = await readAll(t.lab.backupBucket, backups[0]!.configKey);
    expect(gunzipSync([...config.values()][0]!).toString('latin1')).toContain(CANARY);
  });

  it('is in no SSM command parameter', () => {
    const sent = t.lab.ssm.sentCommands().filter((c) => c.instanceIds.includes(host.instanceId));
    expect(sent.map((c) => c.documentName)).toEqual(expect.arrayContaining(['Fleetwave-Backup', 'Fleetwave-WatchSchema', 'Fleetwave-Restore']));
    expect(sent.flatMap((c) => leaks(`${c.documentName} ${c.commandId}`, JSON.stringify(c.parameters)))).toEqual([]);
  });

  it('is in no command output object in S3', async () => {
    const objects = new Map<string, Buffer>();
    for (const b of Object.values(t.lab.template.buckets)) for (const [k, v] of await readAll(b.bucketName, 'command-output/')) objects.set(k, v);
    // every step of both runs wrote stdout (pg_dump, the app's schema-sync log lines, the restore)
    expect(objects.size).toBeGreaterThanOrEqual(10);
    expect([...objects].flatMap(([key, body]) => leaks(key, body.toString('latin1')))).toEqual([]);
  });

  it('is in no execution input, output or history event, parent or child', async () => {
    const arns: string[] = [];
    for (const sm of [t.lab.stateMachines.hostUpgrade, t.lab.stateMachines.hostRollback]) {
      const list = await t.sfn.send(new ListExecutionsCommand({ stateMachineArn: sm, maxResults: 1000 }));
      arns.push(...(list.executions ?? []).map((e) => e.executionArn!));
    }
    expect(arns.length).toBe(3); // two upgrades and the restore branch's HostRollback child
    const found: string[] = [];
    let events = 0;
    for (const arn of arns) {
      const d = await t.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      found.push(...leaks(`${arn} input/output/cause`, JSON.stringify([d.input, d.output, d.cause, d.error])));
      let token: string | undefined;
      const all: HistoryEvent[] = [];
      do {
        const page = await t.sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, includeExecutionData: true, maxResults: 1000, nextToken: token }));
        all.push(...(page.events ?? []));
        token = page.nextToken;
      } while (token);
      events += all.length;
      found.push(...all.flatMap((e) => leaks(`${arn} event ${e.id} ${e.type}`, JSON.stringify(e))));
    }
    expect(events).toBeGreaterThan(100);
    expect(found).toEqual([]);
  });

  it('is in no Lambda log line', () => {
    const lambdaLines = logLines.filter((l) => l.startsWith('[Fleetwave-'));
    expect(lambdaLines.length).toBeGreaterThan(20);
    expect(logLines.flatMap((l, i) => leaks(`log line ${i}: ${l.slice(0, 120)}`, l))).toEqual([]);
  });

  it('is in no registry row: audit, runs, steps, backups or any other table', async () => {
    const c = new pg.Client({ connectionString: t.lab.databaseUrl });
    await c.connect();
    try {
      const tables = (await c.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)).rows.map((r) => r.table_name);
      expect(tables).toEqual(expect.arrayContaining(['audit_log', 'host_runs', 'run_steps', 'backups']));
      const found: string[] = [];
      for (const table of tables) {
        const { rows } = await c.query(`SELECT * FROM "${table}"`);
        if (['audit_log', 'host_runs', 'run_steps'].includes(table)) expect(rows.length, table).toBeGreaterThan(0);
        found.push(...leaks(table, JSON.stringify(rows)));
      }
      expect(found).toEqual([]);
    } finally {
      await c.end();
    }
  });

  it('is in no CLI output', async () => {
    pointCliAtLab(t);
    const runs = [await runCli(['status', '--json']), await runCli(['backups', 'list', '--host', host.id, '--json']), await runCli(['status'])];
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(jsonOf<{ host: string }[]>(runs[0]!).map((h) => h.host)).toContain(host.id);
    expect(runs.flatMap((r, i) => leaks(`cli run ${i}`, r.stdout + r.stderr))).toEqual([]);
  });
});
