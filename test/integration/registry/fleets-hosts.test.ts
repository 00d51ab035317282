import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DuplicateInstanceError,
  FleetNotFoundError,
  HostNotFoundError,
  InvalidRegistryInputError,
} from '../../../core/registry/errors';
import { openRegistry, seedHost, type Registry } from './fixtures';

let reg: Registry;
beforeAll(async () => {
  reg = await openRegistry();
});
afterAll(async () => {
  await reg.close();
});

const hostInput = (id: string, fleetId: string, instanceId: string) => ({
  id,
  fleetId,
  instanceId,
  tier: 'production' as const,
  databaseMode: 'external' as const,
  composeDir: '/srv/semaphor',
  healthUrl: 'https://semaphor.example.com/api/health',
  wave: 2,
});

describe('fleets and hosts', () => {
  it('updates a fleet config without clobbering its desired version', async () => {
    await reg.store.upsertFleet({ id: 'acme', config: { bake: 60 } });
    await reg.store.setDesiredVersion('acme', '1.5.0');

    const updated = await reg.store.upsertFleet({ id: 'acme', config: { bake: 120 } });

    expect(updated).toMatchObject({ id: 'acme', appProfile: 'semaphor', desiredVersion: '1.5.0', config: { bake: 120 } });
    expect((await reg.store.listFleets()).map((f) => f.id)).toContain('acme');
    await expect(reg.store.setDesiredVersion('nope', '1.5.0')).rejects.toBeInstanceOf(FleetNotFoundError);
    await expect(reg.store.getFleet('nope')).rejects.toBeInstanceOf(FleetNotFoundError);
  });

  it('re-applies host config but keeps observed version, lock and lease counter', async () => {
    await reg.store.upsertFleet({ id: 'globex', config: {} });
    await reg.store.upsertHost(hostInput('gx-1', 'globex', 'i-00000000000000001'));
    await reg.store.recordObservedVersion('gx-1', '1.4.0');
    await reg.store.acquireLease('gx-1', 'holder', 0);

    const again = await reg.store.upsertHost({ ...hostInput('gx-1', 'globex', 'i-00000000000000001'), composeDir: '/srv/semaphor2' });

    expect(again).toMatchObject({ composeDir: '/srv/semaphor2', observedVersion: '1.4.0', leaseSeq: 1, wave: 2, locked: false });
    expect(again.observedAt).not.toBeNull();
  });

  it('refuses a second host on the same SSM instance', async () => {
    await reg.store.upsertFleet({ id: 'initech', config: {} });
    await reg.store.upsertHost(hostInput('in-1', 'initech', 'i-00000000000000aa1'));
    await expect(reg.store.upsertHost(hostInput('in-2', 'initech', 'i-00000000000000aa1'))).rejects.toBeInstanceOf(
      DuplicateInstanceError,
    );
  });

  it('refuses a host of an unregistered fleet and hostile field values', async () => {
    await expect(reg.store.upsertHost(hostInput('orphan', 'no-fleet', 'i-00000000000000bb1'))).rejects.toBeInstanceOf(
      FleetNotFoundError,
    );
    await reg.store.upsertFleet({ id: 'umbrella', config: {} });
    const bad = [
      { composeDir: '/opt/../etc' },
      { id: 'Host;rm -rf /' },
      { instanceId: 'i-xyz' },
      { tier: 'qa' },
      { healthUrl: 'http://h/$(id)' },
    ];
    for (const patch of bad) {
      await expect(reg.store.upsertHost({ ...hostInput('um-1', 'umbrella', 'i-00000000000000cc1'), ...patch } as never)).rejects.toBeInstanceOf(
        InvalidRegistryInputError,
      );
    }
    await expect(reg.store.getHost('um-1')).rejects.toBeInstanceOf(HostNotFoundError);
  });

  it('lists hosts of one fleet only', async () => {
    const a = await seedHost(reg.store, { fleetId: 'list-a' });
    const b = await seedHost(reg.store, { fleetId: 'list-a' });
    await seedHost(reg.store, { fleetId: 'list-b' });

    const hosts = await reg.store.listHosts({ fleetId: 'list-a' });

    expect(hosts.map((h) => h.id).sort()).toEqual([a.id, b.id].sort());
  });

  it('records observed versions and refuses latest', async () => {
    const h = await seedHost(reg.store);
    expect((await reg.store.recordObservedVersion(h.id, null)).observedVersion).toBeNull();
    await expect(reg.store.recordObservedVersion(h.id, 'latest')).rejects.toBeInstanceOf(InvalidRegistryInputError);
    await expect(reg.store.recordObservedVersion('ghost', '1.4.0')).rejects.toBeInstanceOf(HostNotFoundError);
  });
});

describe('releases', () => {
  it('returns null for an unknown version and lists releases in version order', async () => {
    for (const v of ['1.10.0', '1.9.0', '2.0.0', '1.6.0']) {
      await reg.store.upsertRelease({ version: v, destructive: v === '1.6.0', requires: v === '2.0.0' ? ['1.6.0'] : [] });
    }

    expect(await reg.store.getRelease('9.9.9')).toBeNull();
    expect(await reg.store.getRelease('2.0.0')).toMatchObject({ destructive: false, requires: ['1.6.0'], notes: '' });
    expect((await reg.store.listReleases()).map((r) => r.version)).toEqual(['1.6.0', '1.9.0', '1.10.0', '2.0.0']);
  });

  it('refuses a release that requires itself', async () => {
    await expect(reg.store.upsertRelease({ version: '3.0.0', destructive: true, requires: ['3.0.0'] })).rejects.toThrow(
      /cannot require itself/,
    );
  });
});
