/**
 * Benchmark 3 of issue #13: backup and restore speed on generated data, in
 * both modes, on real lab hosts (the real SSM document scripts in bash, real
 * tar / pg_dump / pg_restore, the lab's S3):
 *  - backup: the Backup step's execution time (SSM GetCommandInvocation's
 *    ExecutionStartDateTime..ExecutionEndDateTime) of a HostUpgrade, against
 *    raw `tar -cz … > /dev/null` / `pg_dump -Fc … > /dev/null` on the same data;
 *  - restore: the Restore step of a HostRollback to that backup, against raw
 *    extraction of the same archive / `pg_restore` of the same dump into a
 *    scratch database;
 *  - peak disk the scripts use on the host beside the data (host folder growth
 *    plus their temp folders), sampled every 250 ms.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import pg from 'pg';
import { createLabFleet, type LabFleetHost } from '../lab/fleet';
import { paths } from '../lab/hosts/state';
import { findPostgresBin } from '../lab/postgres';
import { startBenchLab, type BenchLab } from './lab-bench';
import { loadedNow, formatBytes, formatFigure, formatSeconds, type Machine } from './report';
import { FROM_VERSION, TO_VERSION } from './orchestration';

export interface DataBenchOptions {
  root: string;
  sizeMb: number;
  modes: ('embedded' | 'external')[];
  machine: Machine;
  log: (line: string) => void;
}

const MIB = 1024 * 1024;

async function timed(cmd: string, args: string[], env?: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(0, 500)}`))));
  });
  return performance.now() - t0;
}

const sh = (script: string, env?: Record<string, string>) => timed('bash', ['-c', script], env);

/** Bytes of a folder tree (files only, as du -sb). */
function treeBytes(dir: string): number {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\t')[0]);
  } catch {
    return 0;
  }
}

/** Growth of the host folder and the scripts' temp folders over their size at start, sampled; peak in bytes. */
function diskSampler(hostRoot: string): { stop(): number } {
  const base = treeBytes(hostRoot);
  let peak = 0;
  const sample = () => {
    let temp = 0;
    for (const d of readdirSync(tmpdir())) if (d.startsWith('fleetwave.')) temp += treeBytes(join(tmpdir(), d));
    peak = Math.max(peak, treeBytes(hostRoot) - base + temp);
  };
  const timer = setInterval(sample, 250);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

function volumeDir(host: LabFleetHost): string {
  const p = paths(host.root);
  const [only] = readdirSync(p.volumes);
  if (!only) throw new Error(`host ${host.id} has no volume`);
  return p.volume(only);
}

function databaseUrl(host: LabFleetHost): string {
  const line = readFileSync(join(host.composeDir, 'semaphor.env'), 'utf8').split('\n').find((l) => l.startsWith('DATABASE_URL='));
  if (!line) throw new Error(`host ${host.id} has no DATABASE_URL`);
  return line.slice('DATABASE_URL='.length);
}

/** Files of base64 text (about 3:4 compressible, like mixed attachments) in the volume, `sizeMb` in all. */
function fillVolume(dir: string, sizeMb: number): void {
  const blobs = join(dir, 'attachments');
  mkdirSync(blobs, { recursive: true });
  for (let i = 0; i < sizeMb / 4; i++) writeFileSync(join(blobs, `${String(i).padStart(5, '0')}.txt`), randomBytes(3 * MIB).toString('base64'));
}

/** One table of random hex text, `sizeMb` on disk. */
async function fillDatabase(url: string, sizeMb: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE bench_blob (id integer PRIMARY KEY, payload text NOT NULL)');
    // ~290 bytes a row on disk (256 characters of payload plus the tuple header)
    const rows = Math.ceil((sizeMb * MIB) / 290);
    const chunk = 200_000;
    for (let from = 1; from <= rows; from += chunk) {
      await client.query(`INSERT INTO bench_blob SELECT g, ${Array(8).fill('md5(random()::text)').join(' || ')} FROM generate_series($1::int, $2::int) g`, [from, Math.min(rows, from + chunk - 1)]);
    }
    await client.query('ANALYZE bench_blob');
  } finally {
    await client.end();
  }
}

async function dbSize(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query('SELECT pg_database_size(current_database()) AS n')).rows[0].n);
  } finally {
    await client.end();
  }
}

/** How long the host ran the step's document, as SSM reports it. */
async function stepSeconds(b: BenchLab, instanceId: string, documentName: string): Promise<number> {
  const sent = b.lab.ssm.sentCommands().filter((c) => c.documentName === documentName && c.instanceIds.includes(instanceId)).at(-1);
  if (!sent) throw new Error(`no ${documentName} command was sent to ${instanceId}`);
  const ssm = new SSMClient({});
  try {
    const inv = await ssm.send(new GetCommandInvocationCommand({ CommandId: sent.commandId, InstanceId: instanceId }));
    if (inv.Status !== 'Success') throw new Error(`${documentName} on ${instanceId} ended ${inv.Status}`);
    return (Date.parse(inv.ExecutionEndDateTime!) - Date.parse(inv.ExecutionStartDateTime!)) / 1000;
  } finally {
    ssm.destroy();
  }
}

async function runExecution(b: BenchLab, arn: string, name: string, input: object): Promise<string> {
  const engine = b.lab.sfn.engine;
  const { executionArn } = engine.startExecution({ stateMachineArn: arn, name, input: JSON.stringify(input) });
  for (;;) {
    const d = engine.describeExecution(executionArn);
    if (d.status !== 'RUNNING') {
      if (d.status !== 'SUCCEEDED') throw new Error(`${name} ended ${d.status}: ${d.error ?? ''} ${d.cause ?? ''}`);
      return d.output ?? '';
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function download(b: BenchLab, key: string, file: string): Promise<void> {
  const s3 = new S3Client({ forcePathStyle: true });
  try {
    const obj = await s3.send(new GetObjectCommand({ Bucket: b.lab.backupBucket, Key: key }));
    await pipeline(obj.Body as Readable, createWriteStream(file));
  } finally {
    s3.destroy();
  }
}

export async function dataBench(o: DataBenchOptions): Promise<string[]> {
  const lines: string[] = [];
  const bench = await startBenchLab(o.root, 'data', 0.1, o.log);
  const scratch = join(o.root, 'data', 'scratch');
  const pgBin = findPostgresBin();
  try {
    for (const mode of o.modes) {
      try {
        lines.push(...(await oneMode(mode)));
      } catch (err) {
        // a failed step is a finding: say so on the figure's line and go on with the next mode
        lines.push(formatFigure({ name: `backup/restore ${mode}`, measured: `NOT MEASURED: ${(err as Error).message.slice(0, 400)}`, dataSize: `${o.sizeMb} MiB generated`, machine: loadedNow(o.machine) }));
        o.log(lines.at(-1)!);
      }
    }
  } finally {
    await bench.close();
  }
  return lines;

  async function oneMode(mode: 'embedded' | 'external'): Promise<string[]> {
    const lines: string[] = [];
    {
      const [host] = await createLabFleet(bench.lab, `data-${mode}`, [{ id: `data-${mode}`, tier: 'staging', mode, version: FROM_VERSION }]);
      if (host) bench.hosts.push(host);
      if (!host) throw new Error('no host');
      o.log(`backup/restore ${mode}: generating ${o.sizeMb} MiB`);
      let dataBytes: number;
      let rawBackupMs: number;
      if (mode === 'embedded') {
        fillVolume(volumeDir(host), o.sizeMb);
        dataBytes = treeBytes(volumeDir(host));
        rawBackupMs = await sh('tar -czf - -C "$D" . > /dev/null', { D: volumeDir(host) });
      } else {
        await fillDatabase(databaseUrl(host), o.sizeMb);
        dataBytes = await dbSize(databaseUrl(host));
        rawBackupMs = await sh('"$B/pg_dump" -Fc -d "$U" > /dev/null', { B: pgBin, U: databaseUrl(host) });
      }
      o.log(`backup/restore ${mode}: upgrading (backup step)`);
      const disk = diskSampler(host.root);
      await runExecution(bench, bench.lab.stateMachines.hostUpgrade, `data-${mode}-up`, { hostId: host.id, version: TO_VERSION });
      const backupDisk = disk.stop();
      const backupS = await stepSeconds(bench, host.instanceId, 'Fleetwave-Backup');
      const backup = (await bench.lab.store.listBackups(host.id)).find((x) => x.status === 'verified');
      if (!backup) throw new Error(`no verified backup of ${host.id}`);

      o.log(`backup/restore ${mode}: rolling back (restore step)`);
      const disk2 = diskSampler(host.root);
      await runExecution(bench, bench.lab.stateMachines.hostRollback, `data-${mode}-rb`, { hostId: host.id, backupId: backup.id, reason: 'bench' });
      const restoreDisk = disk2.stop();
      const restoreS = await stepSeconds(bench, host.instanceId, 'Fleetwave-Restore');

      // the raw restore of the very archive the backup made
      rmSync(scratch, { recursive: true, force: true });
      mkdirSync(join(scratch, 'x'), { recursive: true });
      const archive = join(scratch, 'data');
      await download(bench, backup.dataKey, archive);
      const archiveBytes = statSync(archive).size;
      let rawRestoreMs: number;
      if (mode === 'embedded') rawRestoreMs = await sh('tar -xzf "$A" -C "$X"', { A: archive, X: join(scratch, 'x') });
      else {
        await sh('"$B/psql" -q -d "$U" -c "DROP DATABASE IF EXISTS bench_restore" -c "CREATE DATABASE bench_restore"', { B: pgBin, U: bench.lab.adminDatabaseUrl });
        const target = new URL(bench.lab.adminDatabaseUrl);
        target.pathname = '/bench_restore';
        rawRestoreMs = await sh('"$B/pg_restore" --single-transaction --no-owner -d "$U" "$A"', { B: pgBin, U: target.toString(), A: archive });
      }
      rmSync(scratch, { recursive: true, force: true });

      const size = `${formatBytes(dataBytes)} ${mode === 'embedded' ? 'volume of files' : 'PostgreSQL database'} (archive ${formatBytes(archiveBytes)})`;
      const raw = mode === 'embedded' ? ['tar -cz > /dev/null', 'tar -xz'] : ['pg_dump -Fc > /dev/null', 'pg_restore'];
      const mbps = (s: number) => `${(dataBytes / MIB / s).toFixed(1)} MiB/s`;
      lines.push(formatFigure({ name: `backup ${mode}`, measured: `Backup step ${backupS.toFixed(1)} s (${mbps(backupS)}) vs raw \`${raw[0]}\` ${formatSeconds(rawBackupMs)} (${mbps(rawBackupMs / 1000)}); throughput vs raw`, ratio: rawBackupMs / 1000 / backupS, goal: '≥ 0.8', dataSize: size, machine: loadedNow(o.machine) }));
      lines.push(formatFigure({ name: `restore ${mode}`, measured: `Restore step ${restoreS.toFixed(1)} s vs raw \`${raw[1]}\` ${formatSeconds(rawRestoreMs)}; throughput vs raw`, ratio: rawRestoreMs / 1000 / restoreS, goal: '≥ 0.8', dataSize: size, machine: loadedNow(o.machine) }));
      lines.push(formatFigure({ name: `peak disk ${mode}`, measured: `backup ${formatBytes(backupDisk)}, restore ${formatBytes(restoreDisk)} beside the data (host folder growth + the scripts' temp folders)`, dataSize: size, machine: loadedNow(o.machine) }));
      for (const l of lines.slice(-3)) o.log(l);
    }
    return lines;
  }
}
