/**
 * `rollout start|status|approve|stop` and `rollback --rollout`: fleets. The
 * decisions (start, resume or start again; stop; roll back; reconcile a rollout
 * whose execution ended without finishing) are core/rollout-requests.ts, the
 * same the operator API makes; this file checks options and prints.
 */
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SfnWorkflows } from '../../core/api/workflows';
import { FleetId, Reason, RolloutId, Version } from '../../core/models';
import { defaultRolloutId } from '../../core/rollout';
import { changesSinceFirstPlan, consentMessage, planFleet } from '../../core/rollout-plan';
import { currentRollout, requestRolloutRollback, requestRolloutStart, requestRolloutStop, type RolloutRequestDeps } from '../../core/rollout-requests';
import { operatorActor } from '../actor';
import { waitForExecution } from '../executions';
import { EXIT, rolloutExitCode, rolloutRollbackExitCode } from '../exit-codes';
import { CliError, info, orNotFound, print, printJson } from '../output';
import { checkOption, type HostCommandDeps } from './host';
import { targetRelease } from './release';
import { printSummary, rolloutSummary } from './rollout-view';

export type RolloutDeps = HostCommandDeps;

function requestDeps(deps: RolloutDeps): RolloutRequestDeps & { sfn: SFNClient } {
  const sfn = deps.sfn ?? new SFNClient({});
  const { fleetRollout, rolloutRollback } = deps.target.stateMachines;
  return { store: deps.store, sfn, workflows: new SfnWorkflows(sfn), stateMachines: { fleetRollout: fleetRollout!, rolloutRollback: rolloutRollback! } };
}

/** The rollout, reconciled with its execution; bad input when there is none. */
async function findRollout(deps: RolloutDeps, rolloutId: string) {
  const rollout = await currentRollout(requestDeps(deps), rolloutId, operatorActor());
  if (!rollout) throw new CliError(`--rollout: no rollout ${rolloutId} (fleetwave rollout status --fleet F lists the latest)`, EXIT.invalidInput);
  return rollout;
}

async function follow(deps: RolloutDeps, sfn: SFNClient, executionArn: string, rolloutId: string, json: boolean): Promise<number> {
  // live progress: a line each time a wave's counts change
  let last = '';
  const ticker = setInterval(() => {
    void rolloutSummary(deps, rolloutId)
      .then((s) => {
        const line = s.waves.map((w) => `${w.name} ${w.hosts.filter((h) => h.result !== 'pending').length}/${w.hosts.length}`).join('  ');
        if (line !== last && !json) info(`  ${s.status}: ${line}`);
        last = line;
      })
      .catch(() => undefined);
  }, 1000);
  const r = await waitForExecution(sfn, executionArn, () => undefined, 1000).finally(() => clearInterval(ticker));
  await currentRollout(requestDeps(deps), rolloutId, operatorActor()); // an execution that ended without its finish
  const summary = await rolloutSummary(deps, rolloutId);
  const exitCode = rolloutExitCode({ status: summary.status, hosts: summary.waves.flatMap((w) => w.hosts) });
  if (json) printJson({ execution: { status: r.status, error: r.error, cause: r.cause }, ...summary, exitCode });
  else {
    printSummary(summary);
    print(`\nrollout ${rolloutId}: ${summary.status} (execution ${r.status}${r.error ? `: ${r.error}` : ''})`);
  }
  return exitCode;
}

/** `rollout start --dry-run`: the waves an attempt would run now and what changed since the first plan; writes nothing. */
async function dryRun(deps: RolloutDeps, fleetId: string, version: string, allowDestructive: boolean | undefined, json: boolean): Promise<number> {
  const rolloutId = defaultRolloutId(fleetId, version);
  const existing = await currentRollout(requestDeps(deps), rolloutId, operatorActor());
  const { waves, hostIds } = await planFleet(deps.store, fleetId);
  const changes = existing ? changesSinceFirstPlan(existing, hostIds) : null;
  const results = new Map(existing ? (await deps.store.listRolloutHosts(rolloutId)).map((h) => [h.hostId, h.result]) : []);
  const refusal = existing && allowDestructive !== undefined && allowDestructive !== existing.allowDestructive ? consentMessage(existing) : null;
  const plan = {
    rolloutId,
    attempt: (existing?.attempt ?? 0) + 1,
    status: existing?.status ?? null,
    allowDestructive: existing?.allowDestructive ?? allowDestructive ?? false,
    sinceFirstPlan: changes,
    refused: refusal,
    waves: waves.map((w) => ({ wave: w.index, name: w.name, tier: w.tier, maxFailures: w.maxFailures, hosts: w.hostIds.map((hostId) => ({ hostId, upgrade: results.get(hostId) !== 'succeeded' })) })),
  };
  if (json) printJson(plan);
  else {
    print(`rollout ${rolloutId}: attempt ${plan.attempt}${existing ? ` (now ${existing.status})` : ' (new)'}; nothing is started (--dry-run)`);
    if (changes) print(`since the first plan: ${changes.added.length ? `added ${changes.added.join(', ')}` : 'no host added'}; ${changes.removed.length ? `no longer in the fleet (never touched) ${changes.removed.join(', ')}` : 'no host removed'}`);
    for (const w of plan.waves) print(`wave ${w.wave} ${w.name} (${w.tier}, budget ${w.maxFailures}): ${w.hosts.map((h) => (h.upgrade ? h.hostId : `${h.hostId} (done)`)).join(', ')}`);
    if (refusal) print(`refused: ${refusal}`);
  }
  return refusal ? EXIT.invalidInput : EXIT.ok;
}

export async function rolloutStart(
  deps: RolloutDeps,
  opts: { fleet: string; version: string; allowDestructive?: boolean; wait?: boolean; json?: boolean; dryRun?: boolean },
): Promise<number> {
  const fleetId = checkOption(FleetId, opts.fleet, '--fleet');
  checkOption(Version, opts.version, '--version');
  await orNotFound(deps.store.getFleet(fleetId), `--fleet: no fleet ${fleetId} in the registry (fleetwave fleet apply FILE)`);
  const version = (await targetRelease(deps.store, opts.version)).version; // unknown or withdrawn: refused before anything starts
  // the option given, or nothing: a resume keeps the consent the rollout was started with
  const allowDestructive = opts.allowDestructive ? true : undefined;
  if (opts.dryRun) return dryRun(deps, fleetId, version, allowDestructive, Boolean(opts.json));
  const d = requestDeps(deps);
  const started = await requestRolloutStart(d, { fleetId, version, allowDestructive, requestedBy: operatorActor() });
  const { rolloutId, attempt } = started;
  if (!opts.json) {
    if (!started.created && started.previousStatus && ['created', 'running', 'awaiting-approval'].includes(started.previousStatus)) {
      info(`rollout ${rolloutId} is already ${started.previousStatus} (${started.executionArn}); nothing new was started`);
    } else {
      const what = started.previousStatus === 'rolled-back' ? 'starting it again: its rolled-back hosts are upgraded again' : started.previousStatus === 'succeeded' ? 'it already succeeded: this attempt only verifies its hosts' : started.previousStatus ? 'resuming it' : 'new';
      info(`${started.created ? 'started' : 'already started'} rollout ${rolloutId} (attempt ${attempt}, ${what}): ${started.executionArn}`);
    }
  }
  if (!opts.wait) {
    if (opts.json) printJson({ rolloutId, executionArn: started.executionArn, created: started.created, attempt, previousStatus: started.previousStatus });
    return EXIT.ok;
  }
  return follow(deps, d.sfn, started.executionArn, rolloutId, Boolean(opts.json));
}

export async function rolloutStatus(deps: RolloutDeps, opts: { rollout?: string; fleet?: string; json?: boolean }): Promise<number> {
  let rolloutId = opts.rollout ? checkOption(RolloutId, opts.rollout, '--rollout') : undefined;
  if (!rolloutId) {
    const fleetId = opts.fleet ? checkOption(FleetId, opts.fleet, '--fleet') : undefined;
    const [latest] = await deps.store.listRollouts({ fleetId });
    if (!latest) throw new CliError('no rollout found (give --rollout R or --fleet F)', EXIT.invalidInput);
    rolloutId = latest.id;
  }
  await findRollout(deps, rolloutId);
  const summary = await rolloutSummary(deps, rolloutId);
  if (opts.json) printJson(summary);
  else printSummary(summary);
  return EXIT.ok;
}

export async function rolloutApprove(deps: RolloutDeps, opts: { rollout: string; json?: boolean }): Promise<number> {
  const rolloutId = checkOption(RolloutId, opts.rollout, '--rollout');
  const rollout = await findRollout(deps, rolloutId);
  if (!rollout.approvalToken) throw new CliError(`rollout ${rolloutId} is ${rollout.status}, not waiting for an approval`, EXIT.failed);
  const by = operatorActor();
  const { sfn } = requestDeps(deps);
  await sfn.send(new SendTaskSuccessCommand({ taskToken: rollout.approvalToken, output: JSON.stringify({ approvedBy: by }) }));
  await deps.store.approveRollout(rolloutId, by);
  await deps.store.appendAudit({ actor: by, action: 'rollout.approved', rolloutId, details: { from: 'awaiting-approval', to: 'running' } });
  if (opts.json) printJson({ rolloutId, approved: true });
  else print(`rollout ${rolloutId}: production approved`);
  return EXIT.ok;
}

/** A graceful stop: hosts being upgraded finish, no new host starts; start again to resume. */
export async function rolloutStop(deps: RolloutDeps, opts: { rollout: string; json?: boolean }): Promise<number> {
  const rolloutId = checkOption(RolloutId, opts.rollout, '--rollout');
  const rollout = await findRollout(deps, rolloutId);
  await requestRolloutStop(requestDeps(deps), rollout, operatorActor());
  if (opts.json) printJson({ rolloutId, stopRequested: true });
  else print(`rollout ${rolloutId}: stopping — hosts being upgraded finish, no new host starts. Resume with \`fleetwave rollout start\`.`);
  return EXIT.ok;
}

export async function rolloutRollback(
  deps: RolloutDeps,
  opts: { rollout: string; reason?: string; force?: boolean; wait?: boolean; json?: boolean },
): Promise<number> {
  const rolloutId = checkOption(RolloutId, opts.rollout, '--rollout');
  const reason = checkOption(Reason, opts.reason ?? 'operator rollback from the CLI', '--reason');
  const rollout = await findRollout(deps, rolloutId);
  const d = requestDeps(deps);
  const started = await requestRolloutRollback(d, rollout, { reason, force: opts.force, requestedBy: operatorActor() });
  if (!opts.json) info(`${started.created ? 'started' : 'already started'} ${started.executionArn}`);
  if (!opts.wait) {
    if (opts.json) printJson({ executionArn: started.executionArn, created: started.created });
    return EXIT.ok;
  }
  const r = await waitForExecution(d.sfn, started.executionArn, () => undefined, 1000);
  await currentRollout(d, rolloutId, operatorActor());
  const summary = await rolloutSummary(deps, rolloutId);
  const hosts = await deps.store.listRolloutHosts(rolloutId);
  // hosts a later run changed, left as they are (next-rollback-batch): each with the sentence naming what a restore would discard
  const refusedIds = new Set((r.output as { refused?: string[] } | null)?.refused ?? []);
  const refused = hosts.filter((h) => refusedIds.has(h.hostId)).map((h) => ({ hostId: h.hostId, message: h.message }));
  const rollbackFailed = hosts.filter((h) => h.result === 'rollback-failed').map((h) => ({ hostId: h.hostId, message: h.message }));
  const exitCode = rolloutRollbackExitCode(r.status, { status: summary.status, hosts, refused: refused.length });
  if (opts.json) printJson({ execution: { status: r.status, error: r.error, cause: r.cause }, ...summary, refused, rollbackFailed, exitCode });
  else {
    printSummary(summary);
    for (const h of refused) print(`${h.hostId}: not restored — ${h.message ?? 'a later run changed it'}`);
    for (const h of rollbackFailed) print(`${h.hostId}: RESTORE FAILED (quarantined) — ${h.message ?? 'see fleetwave host show'}`);
    print(`\nrollback of ${rolloutId}: ${summary.status} (execution ${r.status}${r.error ? `: ${r.error}` : ''})`);
  }
  return exitCode;
}
