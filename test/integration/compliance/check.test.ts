/**
 * The check's tasks over a real registry (PostgreSQL) with in-memory S3 and
 * scripted SSM: retries are harmless, deadlines cap the wait, failed batches
 * are UNKNOWN, drift alerts go out once.
 */
import type { AlertSink } from '../../../core/alerts';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  collectBatch,
  failCheck,
  finishCheck,
  planCheck,
  sendBatch,
  keys,
  type HostCompliance,
  type InventoryCommands,
  type JsonObjects,
} from '../../../core/compliance';
import type { Invocation } from '../../../core/host-steps/ports';
import { openRegistry, type Registry } from '../registry/fixtures';

let reg: Registry;
beforeAll(async () => {
  reg = await openRegistry();
}, 60_000);
afterAll(async () => {
  await reg?.close();
});

class MemoryObjects implements JsonObjects {
  readonly data = new Map<string, string>();
  async get<S extends z.ZodType>(key: string, schema: S): Promise<z.output<S> | null> {
    const text = this.data.get(key);
    return text === undefined ? null : schema.parse(JSON.parse(text));
  }
  async put(key: string, value: unknown): Promise<void> {
    this.data.set(key, JSON.stringify(value));
  }
}

const resultLine = (tag: string) =>
  JSON.stringify({
    step: 'inventory',
    ok: true,
    services: Object.fromEntries(['api-service', 'data-service', 'data-service-sidecar'].map((s) => [s, { image: `semaphor/${s}:${tag}`, tag, digest: null, running: true }])),
    pinned: { 'api-service': tag, 'data-service': tag, 'data-service-sidecar': tag },
  });

/** SSM as a script: ping statuses, invocation statuses, stdout per instance. */
class ScriptedSsm implements InventoryCommands {
  sends: { instanceIds: string[]; comment: string }[] = [];
  ping = new Map<string, string>();
  status = new Map<string, { status: string; statusDetails: string }>();
  stdout = new Map<string, string>();
  cancelled: string[] = [];
  async pingStatus(ids: string[]) {
    return new Map(ids.filter((id) => this.ping.has(id)).map((id) => [id, this.ping.get(id)!]));
  }
  async send(req: { instanceIds: string[]; comment: string }) {
    this.sends.push({ instanceIds: req.instanceIds, comment: req.comment });
    return `cmd-${this.sends.length}`;
  }
  async findByComment() {
    return null;
  }
  async listInvocations() {
    return [...this.status].map(([instanceId, s]) => ({ instanceId, ...s }));
  }
  async getInvocation(ref: { instanceId: string }): Promise<Invocation | null> {
    return { status: 'Success', statusDetails: 'Success', responseCode: 0, stdout: `progress\n${this.stdout.get(ref.instanceId) ?? ''}\n`, stdoutUrl: null };
  }
  async readStdoutTail() {
    return null;
  }
  async cancel(commandId: string) {
    this.cancelled.push(commandId);
  }
}

const hex = () => randomBytes(8).toString('hex');

async function seedFleet(fleetId: string, n: number, desired: string) {
  await reg.store.upsertFleet({ id: fleetId, desiredVersion: desired });
  const hosts = [];
  for (let i = 0; i < n; i++) {
    hosts.push(
      await reg.store.upsertHost({
        id: `${fleetId}-h${i}`,
        fleetId,
        instanceId: `i-${hex()}`,
        tier: 'production',
        databaseMode: 'embedded',
        composeDir: '/opt/semaphor',
        healthUrl: 'http://127.0.0.1:3000/api/health',
      }),
    );
  }
  return hosts;
}

function sendDeps(objects: JsonObjects, ssm: InventoryCommands, now: () => number) {
  return { objects, commands: ssm, documentName: 'Fleetwave-Inventory', outputBucket: 'b', deliveryTimeoutSeconds: 30, maxConcurrency: '10', maxErrors: '100%', graceSeconds: 0, now };
}

function finishDeps(objects: JsonObjects, alerts: { subject: string }[]) {
  const items: HostCompliance[] = [];
  const sink: AlertSink = { publish: async (subject) => void alerts.push({ subject }) };
  return {
    items,
    deps: { store: reg.store, objects, items: { put: async (h: HostCompliance) => void items.push(h) }, metrics: { publish: async () => undefined }, alerts: sink },
  };
}

describe('a check over scripted SSM', () => {
  it('sends once per batch, skips offline agents, waits, and keeps the results once', async () => {
    const hosts = await seedFleet(`acme-${hex().slice(0, 6)}`, 3, '1.5.0');
    const objects = new MemoryObjects();
    const ssm = new ScriptedSsm();
    let clock = 1_000_000;
    const now = () => clock;
    ssm.ping.set(hosts[0]!.instanceId, 'Online').set(hosts[1]!.instanceId, 'Online').set(hosts[2]!.instanceId, 'ConnectionLost');
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:ComplianceCheck:${hex()}`;

    const plan = await planCheck({ request: { fleetId: hosts[0]!.fleetId }, executionArn }, { store: reg.store, objects, now });
    expect(plan).toMatchObject({ hostCount: 3, batchCount: 1, batches: [{ checkId: plan.checkId, index: 0 }] });
    // a retried plan makes the same check
    expect(await planCheck({ request: { fleetId: hosts[0]!.fleetId }, executionArn }, { store: reg.store, objects, now })).toEqual(plan);

    const sent = await sendBatch({ checkId: plan.checkId, index: 0 }, sendDeps(objects, ssm, now));
    expect(sent).toMatchObject({ sent: 2, unreachable: 1, commandId: 'cmd-1' });
    await sendBatch({ checkId: plan.checkId, index: 0 }, sendDeps(objects, ssm, now));
    expect(ssm.sends).toHaveLength(1);
    expect(ssm.sends[0]!.instanceIds).toEqual([hosts[0]!.instanceId, hosts[1]!.instanceId]);

    // one invocation still running, before the deadline: Pending, nothing written
    ssm.status.set(hosts[0]!.instanceId, { status: 'Success', statusDetails: 'Success' });
    ssm.status.set(hosts[1]!.instanceId, { status: 'InProgress', statusDetails: 'InProgress' });
    ssm.stdout.set(hosts[0]!.instanceId, resultLine('1.5.0'));
    expect((await collectBatch({ checkId: plan.checkId, index: 0 }, { objects, commands: ssm, now })).status).toBe('Pending');
    expect(objects.data.has(keys.observations(plan.checkId, 0))).toBe(false);

    // past the deadline: the rest is timed out and the command cancelled
    clock += 10 * 60_000;
    const collected = await collectBatch({ checkId: plan.checkId, index: 0 }, { objects, commands: ssm, now });
    expect(collected).toMatchObject({ status: 'Done', reached: 1, unknown: 2 });
    expect(ssm.cancelled).toEqual(['cmd-1']);

    const alerts: { subject: string }[] = [];
    const { items, deps } = finishDeps(objects, alerts);
    const first = await finishCheck({ checkId: plan.checkId }, deps);
    expect(first).toMatchObject({ hosts: 3, compliant: 1, nonCompliant: 2, unknown: 2 });
    const results = await reg.store.listComplianceResults(plan.checkId);
    expect(results.map((r) => [r.hostId, r.state, r.unknownCause])).toEqual([
      [hosts[0]!.id, 'COMPLIANT', null],
      [hosts[1]!.id, 'UNKNOWN', 'timed-out'],
      [hosts[2]!.id, 'UNKNOWN', 'agent-offline'],
    ]);
    expect(alerts).toHaveLength(1);
    expect(items).toHaveLength(3);

    // a retried finish: same check, no second alert, results not duplicated
    const again = await finishCheck({ checkId: plan.checkId }, deps);
    expect(again).toEqual(first);
    expect(alerts).toHaveLength(1);
    expect(await reg.store.listComplianceResults(plan.checkId)).toHaveLength(3);
  });

  it('reports the hosts of a batch that left no observations UNKNOWN', async () => {
    const hosts = await seedFleet(`lost-${hex().slice(0, 6)}`, 2, '1.5.0');
    const objects = new MemoryObjects();
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:ComplianceCheck:${hex()}`;
    const plan = await planCheck({ request: { fleetId: hosts[0]!.fleetId }, executionArn }, { store: reg.store, objects });
    const { deps } = finishDeps(objects, []);
    const out = await finishCheck({ checkId: plan.checkId }, deps);
    expect(out).toMatchObject({ compliant: 0, nonCompliant: 2, unknown: 2 });
    const results = await reg.store.listComplianceResults(plan.checkId);
    expect(results.map((r) => [r.hostId, r.state, r.unknownCause])).toEqual(hosts.map((h) => [h.id, 'UNKNOWN', 'no-inventory']));
  });

  it('publishes how many hosts of each fleet are quarantined when the check was planned', async () => {
    const hosts = await seedFleet(`quar-${hex().slice(0, 6)}`, 3, '1.5.0');
    await reg.store.lockHost(hosts[1]!.id, 'restore failed: data-service unhealthy', 'finish-run');
    const objects = new MemoryObjects();
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:ComplianceCheck:${hex()}`;
    const plan = await planCheck({ request: { fleetId: hosts[0]!.fleetId }, executionArn }, { store: reg.store, objects });
    const published: { fleetId: string; quarantined: number }[] = [];
    const { deps } = finishDeps(objects, []);
    await finishCheck({ checkId: plan.checkId }, { ...deps, metrics: { publish: async (fleets) => void published.push(...fleets) } });
    expect(published).toEqual([expect.objectContaining({ fleetId: hosts[0]!.fleetId, hosts: 3, quarantined: 1 })]);
  });

  it('marks a check failed, and leaves a completed one alone', async () => {
    const hosts = await seedFleet(`fail-${hex().slice(0, 6)}`, 1, '1.5.0');
    const objects = new MemoryObjects();
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:ComplianceCheck:${hex()}`;
    const plan = await planCheck({ request: { fleetId: hosts[0]!.fleetId }, executionArn }, { store: reg.store, objects });
    const failed = await failCheck({ executionArn, error: { Error: 'States.Timeout', Cause: 'too slow' } }, { store: reg.store });
    expect(failed).toMatchObject({ checkId: plan.checkId, status: 'failed', error: 'States.Timeout' });
    expect((await reg.store.getComplianceCheck(plan.checkId))!.message).toBe('States.Timeout: too slow');
    // a failed check never becomes "the latest" one a report shows
    expect(await reg.store.latestComplianceCheck({ fleetId: hosts[0]!.fleetId })).toBeNull();

    // a check that completed, then sees a late failure (a retried MarkFailed), stays completed
    const doneArn = `arn:aws:states:us-east-1:000000000000:execution:ComplianceCheck:${hex()}`;
    const done = await planCheck({ request: { fleetId: hosts[0]!.fleetId }, executionArn: doneArn }, { store: reg.store, objects });
    const alerts: { subject: string }[] = [];
    await finishCheck({ checkId: done.checkId }, finishDeps(objects, alerts).deps);
    const completed = await reg.store.getComplianceCheck(done.checkId);
    expect(completed!.status).toBe('completed');
    const late = await failCheck({ executionArn: doneArn, error: { Error: 'States.Timeout', Cause: 'late' } }, { store: reg.store });
    expect(late).toMatchObject({ checkId: done.checkId, status: 'completed' });
    expect(await reg.store.getComplianceCheck(done.checkId)).toEqual(completed);
    expect((await reg.store.latestComplianceCheck({ fleetId: hosts[0]!.fleetId }))?.id).toBe(done.checkId);
  });
});
