/**
 * `compliance run [--fleet F] [--wait] [--json]`: start the ComplianceCheck state machine.
 * `compliance report [--fleet F] [--json]`: the latest check in the registry, hosts by state.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import type { ComplianceCheck, ComplianceResult, RegistryStore } from '../../core/registry/store';
import { FleetId } from '../../core/models';
import { startExecution, waitForExecution } from '../executions';
import { ago, CliError, EXIT, info, orNotFound, print, printJson, table } from '../output';
import type { Target } from '../target';
import { checkOption, executionName } from './host';

export interface ComplianceCommandDeps {
  target: Target;
  store: RegistryStore;
  sfn?: SFNClient;
}

const STATE_ORDER = { NON_COMPLIANT: 0, UNKNOWN: 1, COMPLIANT: 2 } as const;

/** Hosts by state (drift first), with each non-compliant host's reasons and details. */
export function renderComplianceReport(check: ComplianceCheck, results: ComplianceResult[]): string {
  const compliant = results.filter((r) => r.state === 'COMPLIANT').length;
  const unknown = results.filter((r) => r.state === 'UNKNOWN').length;
  const when = check.finishedAt ? `${new Date(check.finishedAt).toISOString().replace(/\.\d+Z$/, 'Z')} (${ago(check.finishedAt)})` : 'not finished';
  const header = [
    `compliance check ${check.id} — ${when}`,
    `${results.length} hosts: ${compliant} compliant, ${results.length - compliant} non-compliant (${unknown} of them unknown: unreachable or no inventory)`,
  ];
  const rows = [...results]
    .sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || a.fleetId.localeCompare(b.fleetId) || a.hostId.localeCompare(b.hostId))
    .map((r) => ({
      host: r.hostId,
      fleet: r.fleetId,
      state: r.state,
      running: r.runningVersion ?? (Object.values(r.running).some((v) => v) ? Object.entries(r.running).map(([s, v]) => `${s}=${v ?? '-'}`).join(' ') : null),
      desired: r.desiredVersion,
      reasons: r.state === 'UNKNOWN' ? r.unknownCause : r.reasons.join(', ') || null,
    }));
  const details = results
    .filter((r) => r.state !== 'COMPLIANT')
    .flatMap((r) => r.details.map((d) => `  ${r.hostId}: ${d}`));
  return [...header, '', table(rows), ...(details.length ? ['', 'details:', ...details] : [])].join('\n');
}

function complianceMachine(target: Target): string {
  const arn = target.stateMachines.complianceCheck;
  if (!arn) {
    throw new CliError(
      target.kind === 'lab'
        ? 'the running lab has no ComplianceCheck state machine: restart it with `fleetwave lab down && fleetwave lab up`'
        : 'stateMachines.complianceCheck is missing from FLEETWAVE_CONFIG (the stack output ComplianceCheckArn)',
      EXIT.failed,
    );
  }
  return arn;
}

export async function complianceRun(deps: ComplianceCommandDeps, opts: { fleet?: string; wait?: boolean; json?: boolean }): Promise<number> {
  const fleetId = opts.fleet === undefined ? undefined : checkOption(FleetId, opts.fleet, '--fleet');
  if (fleetId) {
    await orNotFound(deps.store.getFleet(fleetId), `--fleet: no fleet ${fleetId} in the registry (fleetwave fleet apply FILE registers fleets)`);
  }
  const sfn = deps.sfn ?? new SFNClient({});
  const input = fleetId ? { fleetId } : {};
  const started = await startExecution(sfn, complianceMachine(deps.target), executionName(['compliance', fleetId ?? 'all-fleets']), input);
  if (!opts.json) info(`${started.created ? 'started' : 'already started'} ${started.executionArn}`);
  if (!opts.wait) {
    if (opts.json) printJson({ executionArn: started.executionArn, created: started.created });
    return EXIT.ok;
  }
  const result = await waitForExecution(sfn, started.executionArn, (step) => {
    if (!opts.json) info(`  → ${step}`);
  });
  if (result.status !== 'SUCCEEDED') {
    if (opts.json) printJson({ executionArn: started.executionArn, status: result.status, error: result.error, cause: result.cause });
    else print(`compliance check ${result.status.toLowerCase()}: ${result.error ?? ''}${result.cause ? ` — ${result.cause}` : ''}`);
    return EXIT.failed;
  }
  const summary = result.output as { checkId: string };
  const check = await deps.store.getComplianceCheck(summary.checkId);
  const results = check ? await deps.store.listComplianceResults(check.id, fleetId ? { fleetId } : {}) : [];
  if (opts.json) printJson({ executionArn: started.executionArn, status: result.status, summary: result.output, results });
  else if (check) print(renderComplianceReport(check, results));
  return EXIT.ok;
}

export async function complianceReport(deps: ComplianceCommandDeps, opts: { fleet?: string; json?: boolean }): Promise<number> {
  const fleetId = opts.fleet === undefined ? undefined : checkOption(FleetId, opts.fleet, '--fleet');
  const check = await deps.store.latestComplianceCheck(fleetId ? { fleetId } : {});
  if (!check) {
    throw new CliError(`no completed compliance check${fleetId ? ` covers fleet ${fleetId}` : ''} yet: run \`fleetwave compliance run${fleetId ? ` --fleet ${fleetId}` : ''} --wait\``, EXIT.failed);
  }
  const results = await deps.store.listComplianceResults(check.id, fleetId ? { fleetId } : {});
  if (opts.json) printJson({ check, results });
  else print(renderComplianceReport(check, results));
  return EXIT.ok;
}
