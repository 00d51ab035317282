/**
 * `host show H` and `host unlock --host H --reason`: everything the registry
 * knows about one host, and the way out of quarantine (ROLLBACK_FAILED).
 */
import { writeWindowOf, writeWindowSentence } from '../../core/host-run/write-window';
import { HostId, Reason } from '../../core/models';
import { HostLockedError } from '../../core/registry/errors';
import type { ComplianceResult, HostRun, RegistryStore, RunStep } from '../../core/registry/store';
import { operatorActor } from '../actor';
import { ago, bytes, CliError, EXIT, print, printJson, table } from '../output';
import { checkOption } from './host';

type ShowStore = Pick<RegistryStore, 'getHost' | 'getLease' | 'listRuns' | 'listSteps' | 'listBackups' | 'latestComplianceCheck' | 'listComplianceResults'>;

async function registeredHost(store: Pick<RegistryStore, 'getHost'>, option: string, value: string) {
  const hostId = checkOption(HostId, value, option);
  return store.getHost(hostId).catch((err: Error) => {
    if (err.name === 'HostNotFoundError') throw new CliError(`${option}: no host ${hostId} in the registry (fleetwave status lists them)`, EXIT.invalidInput);
    throw err;
  });
}

export async function hostUnlock(deps: { store: Pick<RegistryStore, 'getHost' | 'unlockHost'> }, opts: { host: string; reason?: string; json?: boolean }): Promise<number> {
  const host = await registeredHost(deps.store, '--host', opts.host);
  if (opts.reason === undefined) throw new CliError('--reason: say what was done to the host (it goes to the audit log)', EXIT.invalidInput);
  const reason = checkOption(Reason, opts.reason, '--reason');
  if (!host.locked) {
    if (opts.json) printJson({ hostId: host.id, unlocked: false, locked: false });
    else print(`host ${host.id} is not quarantined; nothing changed`);
    return EXIT.ok;
  }
  const unlocked = await deps.store.unlockHost(host.id, operatorActor(), reason).catch((err: Error) => {
    if (err instanceof HostLockedError) {
      throw new CliError(`host ${host.id} stays quarantined: a run holds its lease (${err.holder}, until ${new Date(err.expiresAt).toISOString()}); unlock it once that run has finished`, EXIT.failed);
    }
    throw err;
  });
  if (opts.json) printJson({ hostId: unlocked.id, unlocked: true, previousReason: host.lockedReason });
  else print(`host ${host.id} unlocked (it was quarantined: ${host.lockedReason ?? 'rollback failed'}); upgrades and rollouts may take it again`);
  return EXIT.ok;
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

function stepsLine(steps: RunStep[]): string {
  return steps
    .sort((a, b) => a.recordedAt - b.recordedAt)
    .map((s) => (s.status === 'Success' ? s.step : `${s.step} ${s.status}${s.error ? ` (${s.error})` : ''}`))
    .join(' → ');
}

/** The host's result in the newest compliance check of its fleet, null when none covered it. */
async function lastCompliance(store: ShowStore, hostId: string, fleetId: string): Promise<ComplianceResult | null> {
  const check = await store.latestComplianceCheck({ fleetId });
  if (!check) return null;
  return (await store.listComplianceResults(check.id, { fleetId })).find((r) => r.hostId === hostId) ?? null;
}

export async function hostShow(deps: { store: ShowStore }, opts: { host: string; runs?: string; json?: boolean }): Promise<number> {
  const host = await registeredHost(deps.store, 'HOST', opts.host);
  const limit = opts.runs === undefined ? 10 : Number(opts.runs);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--runs: a number of runs from 1 to 1000 (got ${JSON.stringify(opts.runs)})`, EXIT.invalidInput);
  const [lease, runs, backups, compliance] = await Promise.all([
    deps.store.getLease(host.id),
    deps.store.listRuns({ hostId: host.id, limit }),
    deps.store.listBackups(host.id),
    lastCompliance(deps.store, host.id, host.fleetId),
  ]);
  const withSteps: (HostRun & { steps: RunStep[]; writeWindow: ReturnType<typeof writeWindowOf> })[] = [];
  for (const run of runs) {
    const steps = await deps.store.listSteps(run.id);
    withSteps.push({ ...run, steps, writeWindow: writeWindowOf(steps) });
  }
  const state = host.retiredAt !== null ? 'retired' : host.locked ? 'quarantined' : lease && !lease.expired ? 'running' : 'ready';
  if (opts.json) {
    printJson({ host, state, lease, runs: withSteps, backups, compliance });
    return EXIT.ok;
  }
  const stateLine =
    state === 'quarantined'
      ? `QUARANTINED: ${host.lockedReason ?? 'rollback failed'}\n               once the host is fixed: fleetwave host unlock --host ${host.id} --reason "what was done"`
      : state === 'retired'
        ? `retired ${iso(host.retiredAt)} (no fleet file lists it; its history is kept)`
        : state;
  const leaseLine = !lease ? 'none' : `${lease.expired ? 'expired' : 'held by'} ${lease.holder} ${lease.expired ? 'at' : 'until'} ${iso(lease.expiresAt)} (token ${lease.token})`;
  const complianceLine = !compliance
    ? 'no compliance check has covered it yet'
    : `${compliance.state}${compliance.reasons.length ? `: ${compliance.reasons.join(', ')}` : ''}${compliance.details.length ? ` (${compliance.details.join('; ')})` : ''}, ${ago(compliance.recordedAt)}`;
  print(
    [
      `host ${host.id}: fleet ${host.fleetId}, ${host.tier}, ${host.databaseMode} database`,
      `  state        ${stateLine}`,
      `  version      ${host.observedVersion ? `${host.observedVersion} (seen ${ago(host.observedAt)})` : 'unknown (not seen running a single version yet)'}`,
      `  instance     ${host.instanceId}`,
      `  compose dir  ${host.composeDir}`,
      `  health URL   ${host.healthUrl}`,
      `  lease        ${leaseLine}`,
      `  compliance   ${complianceLine}`,
      '',
      `runs (newest first, at most ${limit}):`,
      ...(withSteps.length === 0
        ? ['(none)']
        : withSteps.flatMap((r) => [
            `  ${r.id}  ${r.kind} ${r.fromVersion ?? '?'} → ${r.targetVersion}  ${r.outcome ?? r.status}  started ${iso(r.startedAt)}${r.finishedAt ? `, finished ${iso(r.finishedAt)}` : ''}${r.rolloutId ? `  rollout ${r.rolloutId}` : ''}`,
            `      steps: ${stepsLine(r.steps) || '-'}`,
            ...(r.writeWindow ? [`      ${writeWindowSentence(r.writeWindow, r.outcome === 'restored')}`] : []),
            ...(r.message ? [`      ${r.failedStep ? `${r.failedStep}: ` : ''}${r.message}`] : []),
          ])),
      '',
      'backups:',
      table(
        backups.map((b) => ({
          backup: b.id,
          version: b.version,
          taken: iso(b.createdAt),
          size: bytes(b.dataBytes),
          verified: b.status === 'verified' ? 'yes' : `no (${b.status})`,
        })),
      ),
    ].join('\n'),
  );
  return EXIT.ok;
}
