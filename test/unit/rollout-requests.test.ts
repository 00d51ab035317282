/**
 * What an operator asks of a rollout (core/rollout-requests.ts), the one way
 * the CLI and the API both decide, over the in-memory registry and a fake
 * Step Functions port: a stopping rollout says so, a running one is found,
 * consent cannot change, and a rollout whose execution ended is reconciled
 * before anything is decided.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionView, Workflows } from '../../core/api/workflows';
import { combineStores } from '../../core/registry/combine';
import type { RegistryStore } from '../../core/registry/store';
import { RolloutConsentError, RolloutStateError } from '../../core/rollout-lifecycle';
import { planRollout } from '../../core/rollout-plan';
import { requestRolloutRollback, requestRolloutStart, requestRolloutStop, type RolloutRequestDeps } from '../../core/rollout-requests';
import { memoryRegistry, type MemoryRegistry } from '../support/memory-registry';

const SM = 'arn:aws:states:us-east-1:111122223333:stateMachine:FleetRollout';
const RB = 'arn:aws:states:us-east-1:111122223333:stateMachine:RolloutRollback';
const execOf = (name: string) => `arn:aws:states:us-east-1:111122223333:execution:FleetRollout:${name}`;

let registry: MemoryRegistry;
let deps: RolloutRequestDeps;
let started: { arn: string; name: string; input: Record<string, unknown> }[];
let statuses: Map<string, ExecutionView['status']>;

beforeEach(async () => {
  registry = memoryRegistry();
  started = [];
  statuses = new Map();
  const workflows: Pick<Workflows, 'start' | 'describe' | 'sendTaskFailure'> = {
    start: async (arn, name, input) => {
      started.push({ arn, name, input: input as Record<string, unknown> });
      return { executionArn: execOf(name), created: true };
    },
    describe: async (executionArn) => ({ executionArn, status: statuses.get(executionArn) ?? 'RUNNING', startedAt: null, stoppedAt: null, output: null, error: null, cause: null, states: [] }),
    sendTaskFailure: async () => undefined,
  };
  const store = combineStores({}, [registry, { listRuns: async () => [] }]) as unknown as RegistryStore;
  deps = { store, workflows, stateMachines: { fleetRollout: SM, rolloutRollback: RB } };
  await registry.upsertRelease({ version: '1.5.0', destructive: true });
  await registry.upsertFleet({ id: 'acme', config: {} });
  await registry.upsertHost({ id: 'h1', fleetId: 'acme', instanceId: 'i-00000000000000001', tier: 'staging', databaseMode: 'embedded', composeDir: '/opt/semaphor', healthUrl: 'http://10.0.0.1:3000/api/health' });
});

/** The plan task of the execution `rollout start` started, as FleetRollout runs it. */
const planned = async (allowDestructive?: boolean) => {
  const s = started.at(-1)!;
  await planRollout({ fleetId: 'acme', version: '1.5.0', ...(allowDestructive === undefined ? {} : { allowDestructive }) }, execOf(s.name), { store: deps.store, alerts: { publish: async () => undefined } });
};
const req = { fleetId: 'acme', version: '1.5.0', requestedBy: 'cli:alice' };

describe('rollout requests', () => {
  it('a running rollout is found, not started again; a stopping one is refused saying it is stopping', async () => {
    await requestRolloutStart(deps, { ...req, allowDestructive: true });
    await planned(true);
    const again = await requestRolloutStart(deps, req);
    expect(again).toMatchObject({ created: false, previousStatus: 'running', attempt: 1 });
    expect(started).toHaveLength(1);

    await requestRolloutStop(deps, await registry.getRollout('acme-1-5-0'), 'cli:alice');
    const refused = requestRolloutStart(deps, req);
    await expect(refused).rejects.toBeInstanceOf(RolloutStateError);
    await expect(refused).rejects.toThrow('rollout acme-1-5-0 is stopping: the hosts being upgraded finish first');
    await expect(requestRolloutStop(deps, await registry.getRollout('acme-1-5-0'), 'cli:alice')).rejects.toThrow('already stopping');
  });

  it('a resume sends no consent (the rollout keeps its own) and one that would change it is refused', async () => {
    await requestRolloutStart(deps, { ...req, allowDestructive: true });
    await planned(true);
    statuses.set(execOf('acme-1-5-0--a1'), 'ABORTED');

    await expect(requestRolloutStart(deps, { ...req, allowDestructive: false })).rejects.toBeInstanceOf(RolloutConsentError);
    const resumed = await requestRolloutStart(deps, req);

    expect(resumed).toMatchObject({ created: true, attempt: 2, previousStatus: 'stopped' });
    expect(started.at(-1)).toMatchObject({ name: 'acme-1-5-0--a2', input: { fleetId: 'acme', version: '1.5.0', requestedBy: 'cli:alice' } });
    expect(started.at(-1)!.input).not.toHaveProperty('allowDestructive');
  });

  it('an execution that ended without its finish task is reconciled first: a rollback is then allowed', async () => {
    await requestRolloutStart(deps, req);
    await planned();
    await expect(requestRolloutRollback(deps, await registry.getRollout('acme-1-5-0'), { reason: 'r', requestedBy: 'cli:alice' })).rejects.toThrow('stop it first');
    statuses.set(execOf('acme-1-5-0--a1'), 'TIMED_OUT');

    const r = await requestRolloutRollback(deps, await registry.getRollout('acme-1-5-0'), { reason: 'r', requestedBy: 'cli:alice' });

    expect(r.created).toBe(true);
    expect((await registry.getRollout('acme-1-5-0')).status).toBe('failed');
    const audit = await registry.listAudit({ rolloutId: 'acme-1-5-0', limit: 20 });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['rollout.started', 'rollout.reconciled', 'rollout.failed']));
    expect(audit.find((a) => a.action === 'rollout.reconciled')?.details).toMatchObject({ from: 'running', to: 'failed', execution: 'TIMED_OUT' });
  });
});
