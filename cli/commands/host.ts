/**
 * `host upgrade`, `rollback --host`, `backups list`, `status`: one host at a time.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { backupLabel, chooseBackup, describeDiscarded, discardedByRestore } from '../../core/host-run';
import { HostId, Reason, Version } from '../../core/models';
import type { RegistryStore } from '../../core/registry/store';
import { startExecution, waitForExecution, type ExecutionResult } from '../executions';
import { exitCodeOfExecutionError } from '../exit-codes';
import { ago, bytes, CliError, EXIT, info, orNotFound, print, printJson, table } from '../output';
import type { Target } from '../target';
import { targetRelease } from './release';
import { operatorActor } from '../actor';

/** Check one operator input at the edge; the message names the option. */
export function checkOption<T extends z.ZodType>(schema: T, value: unknown, option: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new CliError(`${option}: ${r.error.issues.map((i) => i.message).join('; ')} (got ${JSON.stringify(value)})`, EXIT.invalidInput);
  return r.data;
}

/** Execution names allow [A-Za-z0-9-_] and 80 characters; one start per host, version and minute. */
export function executionName(parts: string[], now = new Date()): string {
  const stamp = now.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', 't');
  return [...parts, stamp].join('--').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}

export interface HostCommandDeps {
  target: Target;
  store: RegistryStore;
  sfn?: SFNClient;
}

function outcomeOf(result: ExecutionResult): { outcome: string; message: string; exitCode: number } {
  if (result.status === 'SUCCEEDED') {
    // HostUpgrade outputs the run summary; HostRollback {status: "restored", version, ...}
    const out = result.output as { outcome?: string; message?: string; status?: string; version?: string } | null;
    const outcome = out?.outcome ?? out?.status ?? 'succeeded';
    return { outcome, message: out?.message ?? (out?.version ? `now on ${out.version}` : ''), exitCode: EXIT.ok };
  }
  const error = result.error ?? result.status;
  const cause = result.cause ?? '';
  if (error === 'UpgradeRestored') return { outcome: 'restored', message: cause, exitCode: exitCodeOfExecutionError(error) };
  if (error === 'RollbackFailed') return { outcome: 'rollback-failed', message: cause, exitCode: exitCodeOfExecutionError(error) };
  let message = cause;
  try {
    message = (JSON.parse(cause) as { errorMessage?: string }).errorMessage ?? cause;
  } catch {
    /* plain text cause */
  }
  const exitCode = exitCodeOfExecutionError(error);
  const refused = /Error$/.test(error) && !/^States\./.test(error);
  return { outcome: refused ? `refused (${error})` : error, message, exitCode };
}

async function follow(sfn: SFNClient, executionArn: string, json: boolean) {
  const result = await waitForExecution(sfn, executionArn, (step) => {
    if (!json) info(`  → ${step}`);
  });
  const o = outcomeOf(result);
  return { ...o, status: result.status, executionArn };
}

export async function hostUpgrade(
  deps: HostCommandDeps,
  opts: { host: string; version: string; allowDestructive?: boolean; wait?: boolean; json?: boolean; requestedBy?: string },
): Promise<number> {
  const hostId = checkOption(HostId, opts.host, '--host');
  const version = checkOption(Version, opts.version, '--version');
  const host = await orNotFound(deps.store.getHost(hostId), `--host: no host ${hostId} in the registry (fleetwave fleet apply FILE registers hosts)`);
  if (host.locked) throw new CliError(`host ${hostId} is quarantined: ${host.lockedReason ?? 'rollback failed'}`, EXIT.failed);
  await targetRelease(deps.store, version); // unknown or withdrawn: refused before anything starts
  const sfn = deps.sfn ?? new SFNClient({});
  const input = {
    hostId,
    version,
    allowDestructive: Boolean(opts.allowDestructive),
    requestedBy: checkOption(Reason, opts.requestedBy ?? operatorActor(), '--requested-by'),
  };
  const name = executionName([hostId, version]);
  const started = await startExecution(sfn, deps.target.stateMachines.hostUpgrade!, name, input);
  if (!opts.json) info(`${started.created ? 'started' : 'already started'} ${started.executionArn}`);
  if (!opts.wait) {
    if (opts.json) printJson({ executionArn: started.executionArn, created: started.created });
    return EXIT.ok;
  }
  const r = await follow(sfn, started.executionArn, Boolean(opts.json));
  if (opts.json) printJson({ hostId, version, ...r });
  else print(`${hostId}: ${r.outcome}${r.message ? ` — ${r.message}` : ''}`);
  return r.exitCode;
}

export async function hostRollback(
  deps: HostCommandDeps,
  opts: { host: string; backup?: string; toVersion?: string; reason?: string; force?: boolean; wait?: boolean; json?: boolean },
): Promise<number> {
  const hostId = checkOption(HostId, opts.host, '--host');
  if (opts.backup && opts.toVersion) throw new CliError('give --backup or --to-version, not both', EXIT.invalidInput);
  const input: Record<string, unknown> = {
    hostId,
    reason: checkOption(Reason, opts.reason ?? 'operator rollback from the CLI', '--reason'),
    requestedBy: operatorActor(),
  };
  if (opts.backup) {
    // checked at the edge like every other option, not first by the database's uuid parser
    const backupId = checkOption(z.string().uuid({ message: 'backup id must be a UUID (see `fleetwave backups list --host H`)' }), opts.backup, '--backup');
    const backup = await orNotFound(deps.store.getBackup(backupId), `--backup: no backup ${backupId}`);
    if (backup.hostId !== hostId) throw new CliError(`--backup: backup ${backup.id} belongs to ${backup.hostId}, not ${hostId}`, EXIT.invalidInput);
    input.backupId = backup.id;
  }
  if (opts.toVersion) input.toVersion = checkOption(Version, opts.toVersion, '--to-version');
  await orNotFound(deps.store.getHost(hostId), `--host: no host ${hostId} in the registry`);
  // Refused here, before an execution starts, with begin-run's own rule (which still decides:
  // a run may finish in between). An unusable backup is left to begin-run to name.
  const chosen = await chooseBackup(deps.store, hostId, { backupId: input.backupId as string | undefined, toVersion: input.toVersion as string | undefined }).catch(() => null);
  if (chosen && !opts.force) {
    const discards = await discardedByRestore(deps.store, chosen);
    if (discards.length > 0) throw new CliError(describeDiscarded(hostId, backupLabel(chosen), discards), EXIT.invalidInput);
  }
  if (opts.force) input.force = true;
  const sfn = deps.sfn ?? new SFNClient({});
  const name = executionName([hostId, 'rollback', String(input.backupId ?? input.toVersion ?? 'latest'), ...(opts.force ? ['force'] : [])]);
  const started = await startExecution(sfn, deps.target.stateMachines.hostRollback!, name, input);
  if (!opts.json) info(`${started.created ? 'started' : 'already started'} ${started.executionArn}`);
  if (!opts.wait) {
    if (opts.json) printJson({ executionArn: started.executionArn, created: started.created });
    return EXIT.ok;
  }
  const r = await follow(sfn, started.executionArn, Boolean(opts.json));
  if (opts.json) printJson({ hostId, ...r });
  else print(`${hostId}: ${r.outcome}${r.message ? ` — ${r.message}` : ''}`);
  return r.exitCode;
}

/**
 * The backups a restore can use: verified ones only. A backup that failed or was found
 * unverified (its objects tagged unverified in S3 too) is never offered; `--all` lists them,
 * marked as not restorable.
 */
export async function backupsList(deps: HostCommandDeps, opts: { host: string; all?: boolean; json?: boolean }): Promise<number> {
  const hostId = checkOption(HostId, opts.host, '--host');
  await orNotFound(deps.store.getHost(hostId), `--host: no host ${hostId} in the registry`);
  const every = await deps.store.listBackups(hostId);
  const backups = opts.all ? every : every.filter((b) => b.status === 'verified');
  const hidden = every.length - backups.length;
  if (opts.json) {
    // The registry row plus the table's answers spelled out, so a script need
    // not know that only status "verified" is restorable or that times are epoch ms.
    printJson(backups.map((b) => ({ ...b, verified: b.status === 'verified', takenAt: new Date(b.createdAt).toISOString() })));
    return EXIT.ok;
  }
  print(
    table(
      backups.map((b) => ({
        backup: b.id,
        version: b.version,
        taken: new Date(b.createdAt).toISOString().replace(/\.\d+Z$/, 'Z'),
        size: bytes(b.dataBytes),
        mode: b.mode,
        verified: b.status === 'verified' ? 'yes' : `NO, not restorable (${b.status}${b.failure ? `: ${b.failure}` : ''})`,
      })),
    ),
  );
  if (hidden > 0) info(`${hidden} backup${hidden === 1 ? '' : 's'} that failed or could not be verified not shown (never restorable; --all lists them)`);
  return EXIT.ok;
}

export async function status(deps: HostCommandDeps, opts: { fleet?: string; json?: boolean }): Promise<number> {
  const hosts = await deps.store.listHosts(opts.fleet ? { fleetId: opts.fleet } : {});
  const rows = [];
  for (const h of hosts) {
    const [last] = await deps.store.listRuns({ hostId: h.id, limit: 1 });
    rows.push({
      host: h.id,
      fleet: h.fleetId,
      tier: h.tier,
      mode: h.databaseMode,
      version: h.observedVersion,
      state: h.locked ? 'QUARANTINED' : last?.status === 'running' ? 'running' : 'ready',
      lastRun: last ? `${last.kind} → ${last.targetVersion}: ${last.outcome ?? last.status}` : null,
      when: last ? ago(last.finishedAt ?? last.startedAt) : null,
    });
  }
  if (opts.json) printJson(rows);
  else print(table(rows));
  return EXIT.ok;
}
