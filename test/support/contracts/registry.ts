/**
 * The behaviour every adapter of a registry port must show, written once and
 * run against PostgreSQL (test/registry/contract.test.ts) and against the
 * in-memory adapters (test/unit/registry-memory.test.ts), so a unit test on
 * the in-memory store proves what it would prove on the real one.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DuplicateInstanceError,
  FleetNotFoundError,
  HostNotFoundError,
  InvalidRegistryInputError,
  ReleaseNotFoundError,
  RolloutConflictError,
  RolloutNotFoundError,
} from '../../../core/registry/errors';
import type { AuditStore, FleetStore, ReleaseStore, RolloutStore, StartRolloutInput } from '../../../core/registry/store';

export type ContractStore = FleetStore & ReleaseStore & AuditStore & RolloutStore;

const suffix = () => randomBytes(4).toString('hex');
const instanceId = () => `i-${randomBytes(8).toString('hex')}`;
const ARN = (n: number) => `arn:aws:states:us-east-1:111122223333:execution:FleetRollout:run-${n}`;

export function registryContract(adapter: string, open: () => Promise<ContractStore>): void {
  let store: ContractStore;
  beforeAll(async () => {
    store = await open();
  });

  async function fleetWithHosts(n: number, tier: 'staging' | 'production' = 'staging') {
    const fleetId = `fleet-${suffix()}`;
    await store.upsertFleet({ id: fleetId, config: {} });
    const hostIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const h = await store.upsertHost({
        id: `${fleetId}-h${i}`,
        fleetId,
        instanceId: instanceId(),
        tier,
        databaseMode: 'embedded',
        composeDir: '/opt/semaphor',
        healthUrl: 'http://10.0.0.1:3000/api/health',
      });
      hostIds.push(h.id);
    }
    return { fleetId, hostIds };
  }

  function rolloutInput(fleetId: string, hostIds: string[], overrides: Partial<StartRolloutInput> = {}): StartRolloutInput {
    return {
      id: `${fleetId}-1-5-0`,
      fleetId,
      targetVersion: '1.5.0',
      failurePolicy: 'halt',
      allowDestructive: false,
      concurrency: 3,
      executionArn: ARN(1),
      plan: { waves: 2 },
      waves: [
        { index: 0, name: 'staging', tier: 'staging', hostIds: hostIds.slice(0, 1), maxFailures: 0 },
        { index: 1, name: 'rest', tier: 'staging', hostIds: hostIds.slice(1), maxFailures: 1 },
      ],
      ...overrides,
    };
  }

  describe(`${adapter}: fleets and hosts`, () => {
    it('keeps a fleet desired version when an update does not give one', async () => {
      const id = `fleet-${suffix()}`;
      await store.upsertFleet({ id, desiredVersion: '1.4.0', config: { a: 1 } });

      const updated = await store.upsertFleet({ id, config: { a: 2 } });

      expect(updated).toMatchObject({ id, appProfile: 'semaphor', desiredVersion: '1.4.0', config: { a: 2 } });
      expect((await store.setDesiredVersion(id, '1.5.0')).desiredVersion).toBe('1.5.0');
      await expect(store.getFleet(`nope-${suffix()}`)).rejects.toBeInstanceOf(FleetNotFoundError);
    });

    it('keeps observed version and lock when a host is applied again', async () => {
      const { hostIds } = await fleetWithHosts(1);
      const host = await store.getHost(hostIds[0]!);
      await store.recordObservedVersion(host.id, '1.4.0');
      await store.lockHost(host.id, 'restore failed: postgresql://app:hunter2@db/semaphor');

      const again = await store.upsertHost({ ...host, composeDir: '/srv/semaphor' });

      expect(again).toMatchObject({ composeDir: '/srv/semaphor', observedVersion: '1.4.0', locked: true, wave: null });
      expect(again.lockedReason).not.toContain('hunter2');
      const unlocked = await store.unlockHost(host.id, 'cli:alice');
      expect(unlocked).toMatchObject({ locked: false, lockedReason: null });
      const trail = await store.listAudit({ hostId: host.id });
      expect(trail.map((a) => [a.action, a.actor])).toEqual([
        ['host.unlocked', 'cli:alice'],
        ['host.locked', 'fleetwave'],
      ]);
      expect(trail[0]!.details).toMatchObject({ wasLocked: true });
    });

    it('refuses a second host on one instance, an unknown fleet and a hostile value', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(1);
      const taken = (await store.getHost(hostIds[0]!)).instanceId;
      const input = { id: `h-${suffix()}`, fleetId, instanceId: taken, tier: 'staging', databaseMode: 'embedded', composeDir: '/opt/semaphor', healthUrl: 'http://h/' } as const;

      await expect(store.upsertHost(input)).rejects.toBeInstanceOf(DuplicateInstanceError);
      await expect(store.upsertHost({ ...input, instanceId: instanceId(), fleetId: `nope-${suffix()}` })).rejects.toBeInstanceOf(FleetNotFoundError);
      await expect(store.upsertHost({ ...input, instanceId: instanceId(), composeDir: '/opt/../etc' })).rejects.toBeInstanceOf(InvalidRegistryInputError);
      await expect(store.getHost(input.id)).rejects.toBeInstanceOf(HostNotFoundError);
    });

    it('lists a fleet by pinned wave, unpinned hosts last, then by id', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(3);
      const pin = async (id: string, wave: number) => store.upsertHost({ ...(await store.getHost(id)), wave });
      await pin(hostIds[2]!, 0);
      await pin(hostIds[1]!, 1);

      const hosts = await store.listHosts({ fleetId });

      expect(hosts.map((h) => h.id)).toEqual([hostIds[2], hostIds[1], hostIds[0]]);
    });
  });

  describe(`${adapter}: applying a fleet file`, () => {
    const hostOf = (id: string, inst = instanceId()) => ({
      id,
      fleetId: '',
      instanceId: inst,
      tier: 'staging' as const,
      databaseMode: 'embedded' as const,
      composeDir: '/opt/semaphor',
      healthUrl: 'http://10.0.0.1:3000/api/health',
    });
    const apply = (fleetId: string, hosts: ReturnType<typeof hostOf>[], actor = 'cli:alice') =>
      store.applyFleet({ fleet: { id: fleetId, config: { concurrency: 2 } }, hosts: hosts.map((h) => ({ ...h, fleetId })), actor });

    it('adds, changes, retires and reinstates; the listing is the fleet as it is now; each host audited', async () => {
      const fleetId = `fleet-${suffix()}`;
      const [a, b, c] = [hostOf(`${fleetId}-a`), hostOf(`${fleetId}-b`), hostOf(`${fleetId}-c`)];
      expect(await apply(fleetId, [a, b, c])).toMatchObject({ fleet: 'created', added: [a.id, b.id, c.id], retired: [] });

      const second = await apply(fleetId, [a, { ...b, composeDir: '/srv/semaphor' }]);

      expect(second).toMatchObject({ fleet: 'unchanged', added: [], changed: [{ hostId: b.id, fields: ['composeDir'] }], retired: [c.id], unchanged: 1 });
      expect((await store.listHosts({ fleetId })).map((h) => h.id)).toEqual([a.id, b.id]);
      expect((await store.listHosts({ fleetId, includeRetired: true })).map((h) => h.id)).toEqual([a.id, b.id, c.id]);
      expect((await store.listHosts()).some((h) => h.id === c.id)).toBe(false);
      expect((await store.getHost(c.id)).retiredAt).toEqual(expect.any(Number));
      expect((await store.listAudit({ hostId: c.id })).map((e) => e.action)).toEqual(['host.retired', 'host.added']);

      // a retired host's instance is free for a new host; the retired host comes back when listed again
      const d = hostOf(`${fleetId}-d`, c.instanceId);
      expect(await apply(fleetId, [a, b, d])).toMatchObject({ added: [d.id], changed: [{ hostId: b.id }] });
      expect(await apply(fleetId, [a, b, c])).toMatchObject({ reinstated: [c.id], retired: [d.id] });
      expect((await store.getHost(c.id)).retiredAt).toBeNull();
    });

    it("refuses another fleet's active host or instance, and writes nothing", async () => {
      const one = `fleet-${suffix()}`;
      const two = `fleet-${suffix()}`;
      const [a, b] = [hostOf(`${one}-a`), hostOf(`${one}-b`)];
      await apply(one, [a, b]);

      const err = await apply(two, [hostOf(`${two}-x`), a, hostOf(`${two}-y`, b.instanceId)]).catch((e: unknown) => e);

      expect(err).toMatchObject({ name: 'FleetApplyRefusedError', problems: [{ hostId: a.id, field: 'id' }, { hostId: `${two}-y`, field: 'instanceId' }] });
      await expect(store.getFleet(two)).rejects.toBeInstanceOf(FleetNotFoundError);
      await expect(store.getHost(`${two}-x`)).rejects.toBeInstanceOf(HostNotFoundError);
      // once fleet one retires it, fleet two may take it
      await apply(one, [b]);
      expect(await apply(two, [a])).toMatchObject({ reinstated: [a.id] });
      expect((await store.getHost(a.id)).fleetId).toBe(two);
    });
  });

  describe(`${adapter}: releases`, () => {
    it('lists versions in numeric order and refuses a release that requires itself', async () => {
      const major = 100 + Number.parseInt(randomBytes(1).toString('hex'), 16);
      for (const minor of [10, 9, 2]) await store.upsertRelease({ version: `${major}.${minor}.0`, destructive: minor === 9 });

      const mine = (await store.listReleases()).filter((r) => r.version.startsWith(`${major}.`));

      expect(mine.map((r) => r.version)).toEqual([`${major}.2.0`, `${major}.9.0`, `${major}.10.0`]);
      expect(await store.getRelease(`${major}.9.0`)).toMatchObject({ destructive: true, requires: [], notes: '' });
      expect(await store.getRelease(`${major}.99.0`)).toBeNull();
      await expect(store.upsertRelease({ version: `${major}.11.0`, destructive: false, requires: [`${major}.11.0`] })).rejects.toBeInstanceOf(
        InvalidRegistryInputError,
      );
    });
  });

  describe(`${adapter}: the release catalog`, () => {
    const major = () => 1000 + (Number.parseInt(randomBytes(2).toString('hex'), 16) % 9000);

    it('finds a release however its version is spelled, and keeps one row for v1.5.0 and 1.5.0', async () => {
      const m = major();
      await store.upsertRelease({ version: `${m}.5.0`, destructive: false });

      expect((await store.getRelease(`v${m}.5.0`))?.version).toBe(`${m}.5.0`);
      await store.upsertRelease({ version: `v${m}.5.0`, destructive: true });

      const mine = (await store.listReleases()).filter((r) => r.version.replace(/^v/, '').startsWith(`${m}.`));
      expect(mine.map((r) => [r.version, r.destructive])).toEqual([[`${m}.5.0`, true]]);
    });

    it('applies a catalog: adds, changes and withdraws, each change audited, and says what it did', async () => {
      const m = major();
      const v = (minor: number) => `${m}.${minor}.0`;
      const actor = `cli:vendor-${suffix()}`;
      const first = await store.applyReleases({
        actor,
        releases: [
          { version: v(1), notes: 'base' },
          { version: v(2), destructive: true, requires: [v(1)], link: 'https://example.com/r/2' },
        ],
      });
      expect(first).toMatchObject({ added: [v(1), v(2)], changed: [], withdrawn: [], unchanged: [] });

      const second = await store.applyReleases({
        actor,
        releases: [
          { version: `v${v(1)}`, notes: 'base schema' },
          { version: v(2), destructive: true, requires: [v(1)], link: 'https://example.com/r/2' },
          { version: v(3), withdrawn: { reason: 'schema sync fails on large tables' } },
        ],
      });

      expect(second).toMatchObject({ added: [v(3)], changed: [{ version: v(1), fields: ['notes'] }], withdrawn: [{ version: v(3) }], unchanged: [v(2)] });
      expect(await store.getRelease(v(1))).toMatchObject({ version: v(1), notes: 'base schema' });
      expect(await store.getRelease(v(2))).toMatchObject({ destructive: true, requires: [v(1)], link: 'https://example.com/r/2', withdrawnAt: null });
      expect(await store.getRelease(v(3))).toMatchObject({ withdrawnReason: 'schema sync fails on large tables' });
      expect((await store.getRelease(v(3)))!.withdrawnAt).toEqual(expect.any(Number));
      const trail = (await store.listAudit({ limit: 1000 })).filter((a) => a.actor === actor).reverse();
      expect(trail.map((a) => `${a.action} ${String(a.details.version)}`)).toEqual([
        `release.added ${v(1)}`,
        `release.added ${v(2)}`,
        `release.added ${v(3)}`,
        `release.changed ${v(1)}`,
        `release.withdrawn ${v(3)}`,
      ]);
      expect(trail[3]!.details).toMatchObject({ before: { notes: 'base' }, after: { notes: 'base schema' } });
    });

    it('never brings a withdrawn release back, and refuses a requirement that is nowhere', async () => {
      const m = major();
      const actor = `cli:op-${suffix()}`;
      await store.applyReleases({ actor, releases: [{ version: `${m}.1.0` }] });
      const w = await store.withdrawRelease(`v${m}.1.0`, 'breaks logins', actor);
      expect(w).toMatchObject({ changed: true, release: { version: `${m}.1.0`, withdrawnReason: 'breaks logins' } });
      expect((await store.withdrawRelease(`${m}.1.0`, 'again', actor)).changed).toBe(false);

      const again = await store.applyReleases({ actor, releases: [{ version: `${m}.1.0` }] });

      expect(again).toMatchObject({ stayWithdrawn: [`${m}.1.0`], withdrawn: [] });
      expect((await store.getRelease(`${m}.1.0`))!.withdrawnReason).toBe('breaks logins');
      await expect(store.applyReleases({ actor, releases: [{ version: `${m}.2.0`, requires: [`${m}.0.5`] }] })).rejects.toBeInstanceOf(InvalidRegistryInputError);
      await expect(store.withdrawRelease(`${m}.9.0`, 'x', actor)).rejects.toBeInstanceOf(ReleaseNotFoundError);
      expect(await store.getRelease(`${m}.2.0`)).toBeNull();
    });
  });

  describe(`${adapter}: audit log`, () => {
    it('lists newest first, filtered and limited, with secrets redacted', async () => {
      const { fleetId } = await fleetWithHosts(0);
      const rolloutId = `ro-${suffix()}`;
      await store.appendAudit({ actor: 'cli:alice', action: 'rollout.approved', rolloutId, details: { n: 1 } });
      await store.appendAudit({ actor: 'cli:bob', action: 'rollout.stop-requested', rolloutId, details: { url: 'postgres://u:hunter2@h/db' } });

      const entries = await store.listAudit({ rolloutId });

      expect(entries.map((a) => a.action)).toEqual(['rollout.stop-requested', 'rollout.approved']);
      expect(JSON.stringify(entries)).not.toContain('hunter2');
      expect(await store.listAudit({ rolloutId, limit: 1 })).toHaveLength(1);
      await expect(store.appendAudit({ actor: fleetId, action: 'DROP TABLE', details: {} })).rejects.toBeInstanceOf(InvalidRegistryInputError);
    });
  });

  describe(`${adapter}: rollouts`, () => {
    it('creates a rollout at attempt 1 with its waves pending; the same execution again changes nothing', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(3);

      const first = await store.startRollout(rolloutInput(fleetId, hostIds));
      const retried = await store.startRollout(rolloutInput(fleetId, hostIds));

      expect(first.resumed).toBe(false);
      expect(first.previousStatus).toBeNull();
      expect(retried.previousStatus).toBe('created');
      expect(first.rollout).toMatchObject({ fleetId, status: 'created', attempt: 1, concurrency: 3, failurePolicy: 'halt', executionArn: ARN(1), plan: { waves: 2 } });
      expect(retried.rollout).toEqual(first.rollout);
      expect(await store.listRolloutWaves(first.rollout.id)).toEqual([
        { rolloutId: first.rollout.id, index: 0, name: 'staging', tier: 'staging', hostIds: hostIds.slice(0, 1), status: 'pending', failed: 0, succeeded: 0, maxFailures: 0 },
        { rolloutId: first.rollout.id, index: 1, name: 'rest', tier: 'staging', hostIds: hostIds.slice(1), status: 'pending', failed: 0, succeeded: 0, maxFailures: 1 },
      ]);
    });

    it('resumes with a new execution: next attempt, token cleared, consent and first plan kept, waves planned again (all pending)', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(3);
      const { rollout } = await store.startRollout(rolloutInput(fleetId, hostIds));
      await store.updateRolloutWave(rollout.id, 0, { status: 'succeeded', failed: 0, succeeded: 1 });
      await store.updateRolloutWave(rollout.id, 1, { status: 'failed', failed: 2, succeeded: 0 });
      await store.requestApproval(rollout.id, 'token-1');
      const replanned = [{ index: 0, name: 'all', tier: 'staging' as const, hostIds, maxFailures: 0 }];

      const next = await store.startRollout(rolloutInput(fleetId, hostIds, { executionArn: ARN(2), allowDestructive: true, plan: { waves: 1 }, waves: replanned }));
      const retried = await store.startRollout(rolloutInput(fleetId, hostIds, { executionArn: ARN(2), allowDestructive: true }));

      expect(next.resumed).toBe(true);
      expect(next.previousStatus).toBe('awaiting-approval');
      // consent is the first attempt's: a resume never changes it (core/rollout-plan.ts refuses one that would)
      expect(next.rollout).toMatchObject({ attempt: 2, status: 'running', executionArn: ARN(2), allowDestructive: false, approvalToken: null, plan: { waves: 2 } });
      expect(retried).toMatchObject({ resumed: true, rollout: { attempt: 2 } });
      expect(await store.listRolloutWaves(rollout.id)).toEqual([
        { rolloutId: rollout.id, index: 0, name: 'all', tier: 'staging', hostIds, status: 'pending', failed: 0, succeeded: 0, maxFailures: 0 },
      ]);
    });

    it('records which execution drives the rollout when its status changes to rolling-back', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(2);
      const { rollout } = await store.startRollout(rolloutInput(fleetId, hostIds));
      await store.setRolloutStatus(rollout.id, 'halted');
      expect(await store.getRollout(rollout.id)).toMatchObject({ status: 'halted', executionArn: ARN(1) });
      await store.setRolloutStatus(rollout.id, 'rolling-back', ARN(7));
      expect(await store.getRollout(rollout.id)).toMatchObject({ status: 'rolling-back', executionArn: ARN(7) });
    });

    it('refuses to reuse a rollout id for another version, and a rollout of an unknown fleet', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(2);
      await store.startRollout(rolloutInput(fleetId, hostIds));

      await expect(store.startRollout(rolloutInput(fleetId, hostIds, { targetVersion: '1.6.0', executionArn: ARN(2) }))).rejects.toBeInstanceOf(
        RolloutConflictError,
      );
      await expect(store.startRollout(rolloutInput(`nope-${suffix()}`, hostIds))).rejects.toBeInstanceOf(FleetNotFoundError);
      await expect(store.startRollout(rolloutInput(fleetId, hostIds, { failurePolicy: 'retry' as never, id: `x-${suffix()}` }))).rejects.toBeInstanceOf(
        InvalidRegistryInputError,
      );
    });

    it('finds, gets and lists rollouts; an unknown one is null or RolloutNotFoundError', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(2);
      const a = await store.startRollout(rolloutInput(fleetId, hostIds, { id: `${fleetId}-a` }));
      const b = await store.startRollout(rolloutInput(fleetId, hostIds, { id: `${fleetId}-b`, targetVersion: '1.6.0' }));

      expect((await store.listRollouts({ fleetId })).map((r) => r.id)).toEqual([b.rollout.id, a.rollout.id]);
      expect(await store.getRollout(a.rollout.id)).toEqual(a.rollout);
      expect(await store.findRollout(`ghost-${suffix()}`)).toBeNull();
      await expect(store.getRollout(`ghost-${suffix()}`)).rejects.toBeInstanceOf(RolloutNotFoundError);
    });

    it('waits for approval with a token, records the approver, and clears the token on any other status', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(2);
      const { rollout } = await store.startRollout(rolloutInput(fleetId, hostIds));

      await store.requestApproval(rollout.id, 'token-1');
      const waiting = await store.getRollout(rollout.id);
      await store.approveRollout(rollout.id, 'cli:alice');
      const approved = await store.getRollout(rollout.id);
      await store.requestApproval(rollout.id, 'token-2');
      await store.setRolloutStatus(rollout.id, 'stop-requested');
      const stopping = await store.getRollout(rollout.id);

      expect(waiting).toMatchObject({ status: 'awaiting-approval', approvalToken: 'token-1' });
      expect(approved).toMatchObject({ status: 'running', approvalToken: null, approvedBy: 'cli:alice' });
      expect(approved.approvedAt).toEqual(expect.any(Number));
      expect(stopping).toMatchObject({ status: 'stop-requested', approvalToken: null });
      await expect(store.setRolloutStatus(`ghost-${suffix()}`, 'halted')).rejects.toBeInstanceOf(RolloutNotFoundError);
      await expect(store.setRolloutStatus(rollout.id, 'exploded' as never)).rejects.toBeInstanceOf(InvalidRegistryInputError);
    });

    it('updates a wave and refuses a wave the rollout does not have', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(2);
      const { rollout } = await store.startRollout(rolloutInput(fleetId, hostIds));

      await store.updateRolloutWave(rollout.id, 1, { status: 'failed', failed: 2, succeeded: 1 });

      expect(await store.getRolloutWave(rollout.id, 1)).toMatchObject({ index: 1, status: 'failed', failed: 2, succeeded: 1 });
      await expect(store.getRolloutWave(rollout.id, 7)).rejects.toBeInstanceOf(RolloutNotFoundError);
      await expect(store.updateRolloutWave(rollout.id, 7, { status: 'failed', failed: 0, succeeded: 0 })).rejects.toBeInstanceOf(RolloutNotFoundError);
    });

    it('keeps one result per host: a later attempt replaces the earlier one; messages are redacted and cut', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(3);
      const { rollout } = await store.startRollout(rolloutInput(fleetId, hostIds));
      const base = { rolloutId: rollout.id, outcome: null, executionArn: null };
      await store.recordRolloutHost({ ...base, hostId: hostIds[2]!, wave: 1, attempt: 1, result: 'failed', message: `postgresql://app:hunter2@db/x ${'x'.repeat(3000)}` });
      await store.recordRolloutHost({ ...base, hostId: hostIds[0]!, wave: 0, attempt: 1, result: 'succeeded', outcome: 'succeeded', message: '' });
      const failedFirst = (await store.listRolloutHosts(rollout.id, { wave: 1 }))[0]!;
      await store.recordRolloutHost({ ...base, hostId: hostIds[2]!, wave: 1, attempt: 2, result: 'unreachable', message: 'agent offline' });

      expect(failedFirst.message).not.toContain('hunter2');
      expect(failedFirst.message).toHaveLength(2000);
      expect((await store.listRolloutHosts(rollout.id)).map((h) => [h.hostId, h.wave, h.attempt, h.result, h.message])).toEqual([
        [hostIds[0], 0, 1, 'succeeded', null],
        [hostIds[2], 1, 2, 'unreachable', 'agent offline'],
      ]);
      expect(await store.listRolloutHosts(rollout.id, { wave: 0 })).toHaveLength(1);
    });

    it('refuses a host result for an unknown rollout or host, or with an unknown result', async () => {
      const { fleetId, hostIds } = await fleetWithHosts(1);
      const { rollout } = await store.startRollout(rolloutInput(fleetId, hostIds));
      const r = { rolloutId: rollout.id, hostId: hostIds[0]!, wave: 0, attempt: 1, result: 'failed', outcome: null, message: null, executionArn: null } as const;

      await expect(store.recordRolloutHost({ ...r, rolloutId: `ghost-${suffix()}` })).rejects.toBeInstanceOf(RolloutNotFoundError);
      await expect(store.recordRolloutHost({ ...r, hostId: `ghost-${suffix()}` })).rejects.toBeInstanceOf(HostNotFoundError);
      await expect(store.recordRolloutHost({ ...r, result: 'exploded' as never })).rejects.toBeInstanceOf(InvalidRegistryInputError);
    });
  });
}
