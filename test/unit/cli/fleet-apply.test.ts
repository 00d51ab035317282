/**
 * `fleet apply` against the in-memory registry: the file is the fleet (hosts
 * it no longer lists are retired, their history kept), and a dry run shows
 * what would change and the waves, not a row per host.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fleetApply } from '../../../cli/commands/fleet';
import { memoryRegistry, type MemoryRegistry } from '../../support/memory-registry';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fw-fleet-apply-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const host = (i: number, tier: 'staging' | 'production' = i % 10 === 0 ? 'staging' : 'production') => ({
  id: `big-${i}`,
  instanceId: `i-${i.toString(16).padStart(17, '0')}`,
  tier,
  databaseMode: 'embedded',
  composeDir: '/opt/semaphor',
  healthUrl: `http://10.0.${Math.floor(i / 250)}.${i % 250}:3000/api/health`,
});
function write(fleet: string, hosts: ReturnType<typeof host>[], extra: Record<string, unknown> = {}): string {
  const file = join(dir, `fleet-${n++}.yml`);
  writeFileSync(file, stringify({ fleet, hosts, ...extra }));
  return file;
}

/** The memory registry, with the lease look-up a dry run asks (no leases in memory). */
function registry(): MemoryRegistry & { getLease: () => Promise<null> } {
  const store = memoryRegistry();
  Object.defineProperty(store, 'getLease', { value: async () => null });
  return store as MemoryRegistry & { getLease: () => Promise<null> };
}

async function capture(fn: () => Promise<number>): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const out = process.stdout.write;
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  try {
    return { code: await fn(), stdout };
  } finally {
    process.stdout.write = out;
  }
}

describe('fleet apply', () => {
  it('a dry run of 1,000 hosts prints the waves with host counts and thresholds, not a row per host', async () => {
    const store = registry();
    const file = write('big', Array.from({ length: 1000 }, (_, i) => host(i)));

    const r = await capture(() => fleetApply(store as never, { file, dryRun: true }));

    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeLessThan(20);
    expect(lines[0]).toBe('big: new fleet, 1000 added, 0 changed, 0 retired, 0 reinstated, 0 unchanged (dry run, nothing written)');
    const rows = lines.filter((l) => /^\d+\s/.test(l)).map((l) => l.split(/\s{2,}/).slice(0, 5));
    // the default waves: staging 100%, a canary, then production by halves with a 10% budget
    expect(rows).toEqual([
      ['0', 'staging', 'staging', '100', '0'],
      ['1', 'canary', 'production', '1', '0'],
      ['2', 'production-1', 'production', '450', '45'],
      ['3', 'production-2', 'production', '449', '44'],
    ]);
    expect(await store.listHosts({ fleetId: 'big', includeRetired: true })).toEqual([]);
  });

  it('retires the hosts the file no longer lists, keeps them findable, and brings one back when it returns', async () => {
    const store = registry();
    const three = [host(1), host(2), host(10)];
    await capture(() => fleetApply(store as never, { file: write('acme', three) }));

    const dry = await capture(() => fleetApply(store as never, { file: write('acme', [host(1), { ...host(10), healthUrl: 'http://10.9.9.9:3000/api/health' }]), dryRun: true, json: true }));
    expect(JSON.parse(dry.stdout).changes).toMatchObject({ added: [], changed: [{ hostId: 'big-10', fields: ['healthUrl'] }], retired: ['big-2'], unchanged: 1 });
    expect((await store.listHosts({ fleetId: 'acme' })).map((h) => h.id)).toEqual(['big-1', 'big-10', 'big-2']);

    await capture(() => fleetApply(store as never, { file: write('acme', [host(1), host(10)]) }));

    expect((await store.listHosts({ fleetId: 'acme' })).map((h) => h.id)).toEqual(['big-1', 'big-10']);
    const retired = await store.getHost('big-2');
    expect(retired.retiredAt).toEqual(expect.any(Number));
    expect((await store.listAudit({ hostId: 'big-2' })).map((a) => a.action)).toEqual(['host.retired', 'host.added']);

    const back = await capture(() => fleetApply(store as never, { file: write('acme', three), json: true }));
    expect(JSON.parse(back.stdout).changes).toMatchObject({ reinstated: ['big-2'], retired: [] });
    expect((await store.getHost('big-2')).retiredAt).toBeNull();
  });

  it("refuses another fleet's host and another fleet's instance by their fields, writing nothing", async () => {
    const store = registry();
    await capture(() => fleetApply(store as never, { file: write('one', [host(1), host(10)]) }));
    const file = write('two', [host(20), host(1), { ...host(30), instanceId: host(10).instanceId }]);

    await expect(fleetApply(store as never, { file })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/hosts\[1\]\.id: host big-1 belongs to fleet one[^]*hosts\[2\]\.instanceId: instance i-0+a is host big-10 of fleet one/),
    });
    await expect(store.getFleet('two')).rejects.toMatchObject({ name: 'FleetNotFoundError' });
    expect((await store.listHosts()).map((h) => h.id)).toEqual(['big-1', 'big-10']);
  });
});
