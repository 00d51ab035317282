/**
 * `rollout start|status|approve|stop` and `rollback --rollout`: fleets.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { FleetId, Reason, RolloutId, Version, type RolloutStatus } from '../../core/models';
import { defaultRolloutId } from '../../core/rollout';
import { startExecution, waitForExecution } from '../executions';
import { ago, CliError, EXIT, info, print, printJson, table } from '../output';
import { checkOption, type HostCommandDeps } from './host';
import { targetRelease } from './release';

export type RolloutDeps = HostCommandDeps;

const ACTIVE = new Set<RolloutStatus>(['running', 'awaiting-approval', 'stop-requested']);

async function follow(deps: RolloutDeps, sfn: SFNClient, executionArn: string, rolloutId: string, json: boolean): Promise<number> {
  // live progress: a line each time a wave's counts change
  let last = '';
  const ticker = setInterval(() => {
    void rolloutSummary(deps, rolloutId)
      .then((s) => {
        const line = s.waves
          .map((w) => `${w.name} ${w.hosts.filter((h) => h.result !== 'pending').length}/${w.hosts.length}`)
          .join('  ');
        if (line !== last && !json) info(`  ${s.status}: ${line}`);
        last = line;
      })
      .catch(() => undefined);
  }, 1000);
  const r = await waitForExecution(sfn, executionArn, () => undefined, 1000).finally(() => clearInterval(ticker));
  const summary = await rolloutSummary(deps, rolloutId);
  if (json) printJson({ execution: { status: r.status, error: r.error, cause: r.cause }, ...summary });
  else {
    printSummary(summary);
    print(`\nrollout ${rolloutId}: ${r.status}${r.error ? ` (${r.error})` : ''}`);
  }
  return r.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
}

export async function rolloutStart(
  deps: RolloutDeps,
  opts: { fleet: string; version: string; allowDestructive?: boolean; wait?: boolean; json?: boolean },
): Promise<number> {
  const fleetId = checkOption(FleetId, opts.fleet, '--fleet');
  const version = checkOption(Version, opts.version, '--version');
  await deps.store.getFleet(fleetId).catch(() => {
    throw new CliError(`--fleet: no fleet ${fleetId} in the registry (fleetwave fleet apply FILE)`, EXIT.invalidInput);
  });
  await targetRelease(deps.store, version); // unknown or withdrawn: refused before anything starts
  const rolloutId = defaultRolloutId(fleetId, version);
  const existing = await deps.store.findRollout(rolloutId);
  const sfn = deps.sfn ?? new SFNClient({});
  if (existing && ACTIVE.has(existing.status) && existing.executionArn) {
    info(`rollout ${rolloutId} is already ${existing.status} (${existing.executionArn}); nothing new was started`);
    if (opts.wait) return follow(deps, sfn, existing.executionArn, rolloutId, Boolean(opts.json));
    if (opts.json) printJson({ rolloutId, executionArn: existing.executionArn, created: false });
    return EXIT.ok;
  }
  if (existing?.status === 'succeeded') {
    info(`rollout ${rolloutId} already succeeded; starting it again only verifies its hosts`);
  }
  const attempt = (existing?.attempt ?? 0) + 1;
  const input = {
    fleetId,
    version,
    allowDestructive: Boolean(opts.allowDestructive),
    requestedBy: `cli:${process.env.USER ?? 'operator'}`,
  };
  const started = await startExecution(sfn, deps.target.stateMachines.fleetRollout!, `${rolloutId}--a${attempt}`, input);
  if (!opts.json) info(`${started.created ? 'started' : 'already started'} rollout ${rolloutId} (attempt ${attempt}): ${started.executionArn}`);
  if (!opts.wait) {
    if (opts.json) printJson({ rolloutId, executionArn: started.executionArn, created: started.created, attempt });
    return EXIT.ok;
  }
  return follow(deps, sfn, started.executionArn, rolloutId, Boolean(opts.json));
}

export async function rolloutSummary(deps: RolloutDeps, rolloutId: string) {
  const rollout = await deps.store.findRollout(rolloutId);
  if (!rollout) throw new CliError(`--rollout: no rollout ${rolloutId}`, EXIT.invalidInput);
  const waves = await deps.store.listRolloutWaves(rolloutId);
  const results = new Map((await deps.store.listRolloutHosts(rolloutId)).map((h) => [h.hostId, h]));
  return {
    rolloutId,
    fleetId: rollout.fleetId,
    version: rollout.targetVersion,
    status: rollout.status,
    attempt: rollout.attempt,
    failurePolicy: rollout.failurePolicy,
    waves: waves.map((w) => ({
      wave: w.index,
      name: w.name,
      tier: w.tier,
      status: w.status,
      maxFailures: w.maxFailures,
      hosts: w.hostIds.map((hostId) => ({
        hostId,
        result: results.get(hostId)?.result ?? 'pending',
        outcome: results.get(hostId)?.outcome ?? null,
        when: results.get(hostId)?.updatedAt ?? null,
      })),
    })),
  };
}

function printSummary(s: Awaited<ReturnType<typeof rolloutSummary>>) {
  print(`rollout ${s.rolloutId}: fleet ${s.fleetId} → ${s.version}, ${s.status} (attempt ${s.attempt}, policy ${s.failurePolicy})`);
  print(
    table(
      s.waves.map((w) => {
        const count = (r: string) => w.hosts.filter((h) => h.result === r).length;
        return {
          wave: `${w.wave} ${w.name}`,
          tier: w.tier,
          status: w.status,
          hosts: w.hosts.length,
          done: count('succeeded'),
          failed: count('failed') + count('refused') + count('rollback-failed'),
          unreachable: count('unreachable'),
          rolledBack: count('rolled-back'),
          budget: w.maxFailures,
        };
      }),
    ),
  );
  const notable = s.waves.flatMap((w) => w.hosts.filter((h) => h.result !== 'succeeded' && h.result !== 'pending').map((h) => ({ wave: w.wave, ...h, when: ago(h.when) })));
  if (notable.length > 0) print(`\n${table(notable, ['wave', 'hostId', 'result', 'outcome', 'when'])}`);
}

export async function rolloutStatus(deps: RolloutDeps, opts: { rollout?: string; fleet?: string; json?: boolean }): Promise<number> {
  let rolloutId = opts.rollout ? checkOption(RolloutId, opts.rollout, '--rollout') : undefined;
  if (!rolloutId) {
    const fleetId = opts.fleet ? checkOption(FleetId, opts.fleet, '--fleet') : undefined;
    const [latest] = await deps.store.listRollouts({ fleetId });
    if (!latest) throw new CliError('no rollout found (give --rollout R or --fleet F)', EXIT.invalidInput);
    rolloutId = latest.id;
  }
  const summary = await rolloutSummary(deps, rolloutId);
  if (opts.json) printJson(summary);
  else printSummary(summary);
  return EXIT.ok;
}

export async function rolloutApprove(deps: RolloutDeps, opts: { rollout: string; json?: boolean }): Promise<number> {
  const rolloutId = checkOption(RolloutId, opts.rollout, '--rollout');
  const rollout = await deps.store.findRollout(rolloutId);
  if (!rollout) throw new CliError(`--rollout: no rollout ${rolloutId}`, EXIT.invalidInput);
  if (!rollout.approvalToken) throw new CliError(`rollout ${rolloutId} is ${rollout.status}, not waiting for an approval`, EXIT.failed);
  const by = `cli:${process.env.USER ?? 'operator'}`;
  const sfn = deps.sfn ?? new SFNClient({});
  await sfn.send(new SendTaskSuccessCommand({ taskToken: rollout.approvalToken, output: JSON.stringify({ approvedBy: by }) }));
  await deps.store.approveRollout(rolloutId, by);
  await deps.store.appendAudit({ actor: by, action: 'rollout.approved', rolloutId, details: {} });
  if (opts.json) printJson({ rolloutId, approved: true });
  else print(`rollout ${rolloutId}: production approved`);
  return EXIT.ok;
}

/** A graceful stop: hosts being upgraded finish, no new host starts; start again to resume. */
export async function rolloutStop(deps: RolloutDeps, opts: { rollout: string; json?: boolean }): Promise<number> {
  const rolloutId = checkOption(RolloutId, opts.rollout, '--rollout');
  const rollout = await deps.store.findRollout(rolloutId);
  if (!rollout) throw new CliError(`--rollout: no rollout ${rolloutId}`, EXIT.invalidInput);
  if (!ACTIVE.has(rollout.status)) throw new CliError(`rollout ${rolloutId} is ${rollout.status}; nothing to stop`, EXIT.failed);
  const by = `cli:${process.env.USER ?? 'operator'}`;
  const token = rollout.approvalToken;
  await deps.store.setRolloutStatus(rolloutId, 'stop-requested');
  if (token) {
    const sfn = deps.sfn ?? new SFNClient({});
    await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'RolloutStopped', cause: `stopped by ${by}` }));
  }
  await deps.store.appendAudit({ actor: by, action: 'rollout.stop-requested', rolloutId, details: {} });
  if (opts.json) printJson({ rolloutId, stopRequested: true });
  else print(`rollout ${rolloutId}: stopping — hosts being upgraded finish, no new host starts. Resume with \`fleetwave rollout start\`.`);
  return EXIT.ok;
}

export async function rolloutRollback(
  deps: RolloutDeps,
  opts: { rollout: string; reason?: string; force?: boolean; wait?: boolean; json?: boolean },
): Promise<number> {
  const rolloutId = checkOption(RolloutId, opts.rollout, '--rollout');
  const rollout = await deps.store.findRollout(rolloutId);
  if (!rollout) throw new CliError(`--rollout: no rollout ${rolloutId}`, EXIT.invalidInput);
  if (ACTIVE.has(rollout.status)) throw new CliError(`rollout ${rolloutId} is ${rollout.status}: stop it first (fleetwave rollout stop)`, EXIT.failed);
  const sfn = deps.sfn ?? new SFNClient({});
  const input = {
    rolloutId,
    reason: checkOption(Reason, opts.reason ?? 'operator rollback from the CLI', '--reason'),
    requestedBy: `cli:${process.env.USER ?? 'operator'}`,
    ...(opts.force ? { force: true } : {}),
  };
  // a forced rollback after a refused one is a new execution, not the refused one found again
  const name = `${rolloutId}--rollback--a${rollout.attempt}${opts.force ? '--force' : ''}`;
  const started = await startExecution(sfn, deps.target.stateMachines.rolloutRollback!, name, input);
  if (!opts.json) info(`${started.created ? 'started' : 'already started'} ${started.executionArn}`);
  if (!opts.wait) {
    if (opts.json) printJson({ executionArn: started.executionArn, created: started.created });
    return EXIT.ok;
  }
  const r = await waitForExecution(sfn, started.executionArn, () => undefined, 1000);
  const summary = await rolloutSummary(deps, rolloutId);
  // hosts a later run changed, left as they are (next-rollback-batch): each with the sentence naming what a restore would discard
  const refusedIds = new Set((r.output as { refused?: string[] } | null)?.refused ?? []);
  const refused = (await deps.store.listRolloutHosts(rolloutId)).filter((h) => refusedIds.has(h.hostId)).map((h) => ({ hostId: h.hostId, message: h.message }));
  if (opts.json) printJson({ execution: { status: r.status, error: r.error }, ...summary, refused });
  else {
    printSummary(summary);
    for (const h of refused) print(`${h.hostId}: not restored — ${h.message ?? 'a later run changed it'}`);
  }
  if (r.status !== 'SUCCEEDED') return EXIT.failed;
  return refused.length > 0 ? EXIT.invalidInput : EXIT.ok;
}
