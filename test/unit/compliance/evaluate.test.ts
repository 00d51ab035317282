/**
 * Parity rules (core/compliance/evaluate.ts): pure, so every rule and its
 * edges are checked here, fast.
 */
import { describe, expect, it } from 'vitest';
import { countFleet, driftEvent, evaluateHost, planBatches, checkIdFor, severityOf, type HostObservation, type InventoryResult } from '../../../core/compliance';
import { metricDataOf } from '../../../core/compliance/adapters';

const SVC = ['api-service', 'data-service', 'data-service-sidecar'] as const;

/** An inventory where every service runs `running[svc]` (null: stopped) and pins `pinned[svc]`. */
function inventory(running: Partial<Record<(typeof SVC)[number], string | null>> = {}, pinned: Partial<Record<(typeof SVC)[number], string | null>> = {}): InventoryResult {
  const services: InventoryResult['services'] = {};
  const pins: InventoryResult['pinned'] = {};
  for (const s of SVC) {
    const tag = s in running ? running[s]! : '1.5.0';
    services[s] = { image: tag ? `semaphor/${s}:${tag}` : null, tag, digest: tag ? 'sha256:abc' : null, running: tag !== null };
    pins[s] = s in pinned ? pinned[s]! : '1.5.0';
  }
  return { step: 'inventory', ok: true, services, pinned: pins };
}

const reached = (inv: InventoryResult): HostObservation => ({ hostId: 'h1', instanceId: 'i-0123456789abcdef0', reached: true, inventory: inv });
const ctx = (desiredVersion: string | null = '1.5.0') => ({ fleetId: 'acme', desiredVersion });

describe('evaluateHost', () => {
  it('calls a host compliant when every service runs the pinned, desired version', () => {
    const r = evaluateHost(reached(inventory()), ctx());
    expect(r).toMatchObject({ state: 'COMPLIANT', reasons: [], unknownCause: null, runningVersion: '1.5.0', details: [] });
  });

  it('flags mixed versions and names the odd service', () => {
    const r = evaluateHost(reached(inventory({ 'data-service': '1.4.1' }, { 'data-service': '1.4.1' })), ctx(null));
    expect(r.state).toBe('NON_COMPLIANT');
    expect(r.reasons).toEqual(['mixed-versions']);
    expect(r.runningVersion).toBeNull();
    expect(r.details[0]).toContain('data-service 1.4.1');
  });

  it('flags a host that runs a release the vendor withdrew, however its tag is spelled', () => {
    const withdrawn = { withdrawn: [{ version: '1.5.0', reason: 'schema sync fails on large tables' }] };
    const r = evaluateHost(reached(inventory({ 'api-service': 'v1.5.0', 'data-service': 'v1.5.0', 'data-service-sidecar': 'v1.5.0' }, { 'api-service': 'v1.5.0', 'data-service': 'v1.5.0', 'data-service-sidecar': 'v1.5.0' })), { ...ctx('1.5.0'), ...withdrawn });
    expect(r.state).toBe('NON_COMPLIANT');
    expect(r.reasons).toEqual(['withdrawn-release']);
    expect(r.details).toEqual(['runs v1.5.0, a withdrawn release: schema sync fails on large tables']);
    expect(severityOf(r)).toBe('HIGH');
    expect(evaluateHost(reached(inventory()), { ...ctx('1.5.0'), withdrawn: [{ version: '1.4.0', reason: 'x' }] }).state).toBe('COMPLIANT');
  });

  it('flags a host on another version than the fleet wants', () => {
    const r = evaluateHost(reached(inventory({ 'api-service': '1.4.0', 'data-service': '1.4.0', 'data-service-sidecar': '1.4.0' }, { 'api-service': '1.4.0', 'data-service': '1.4.0', 'data-service-sidecar': '1.4.0' })), ctx('1.5.0'));
    expect(r.reasons).toEqual(['not-desired-version']);
    expect(r.runningVersion).toBe('1.4.0');
  });

  it('does not judge the version when the fleet has no desired version', () => {
    const r = evaluateHost(reached(inventory({ 'api-service': '1.4.0', 'data-service': '1.4.0', 'data-service-sidecar': '1.4.0' }, { 'api-service': '1.4.0', 'data-service': '1.4.0', 'data-service-sidecar': '1.4.0' })), ctx(null));
    expect(r.state).toBe('COMPLIANT');
  });

  it('flags a running image that is not the digest the configuration pins, even on the pinned tag', () => {
    const pinnedDigests = { 'api-service': 'sha256:abc', 'data-service': 'sha256:def', 'data-service-sidecar': null };
    const same = evaluateHost(reached({ ...inventory(), pinnedDigests: { ...pinnedDigests, 'data-service': 'sha256:abc' } }), ctx());
    expect(same.state).toBe('COMPLIANT');
    const r = evaluateHost(reached({ ...inventory(), pinnedDigests }), ctx());
    expect(r.reasons).toEqual(['pinned-differs-from-running']);
    expect(r.details[0]).toContain('data-service pinned 1.5.0@sha256:def, running 1.5.0@sha256:abc');
  });

  it.each([
    ['latest', 'latest'],
    ['no tag', null],
    ['a branch name', 'main'],
    ['LATEST in capitals', 'LATEST'],
  ])('flags a pin that is %s as unpinned, without also calling it a pin mismatch', (_label, pin) => {
    const r = evaluateHost(reached(inventory({}, { 'api-service': pin })), ctx());
    expect(r.reasons).toEqual(['unpinned-or-latest']);
    expect(r.pinned['api-service']).toBe(pin);
  });

  it('flags a compose file pinned to one version while another runs', () => {
    const r = evaluateHost(reached(inventory({}, { 'api-service': '1.6.0', 'data-service': '1.6.0', 'data-service-sidecar': '1.6.0' })), ctx());
    expect(r.reasons).toEqual(['pinned-differs-from-running']);
    expect(r.details[0]).toContain('api-service pinned 1.6.0, running 1.5.0');
  });

  it('treats a leading v as the same version', () => {
    const r = evaluateHost(reached(inventory({ 'api-service': 'v1.5.0' }, { 'data-service': 'v1.5.0' })), ctx('1.5.0'));
    expect(r.state).toBe('COMPLIANT');
  });

  it('flags a stopped service and judges versions on the running ones only', () => {
    const r = evaluateHost(reached(inventory({ 'data-service-sidecar': null })), ctx());
    expect(r.reasons).toEqual(['service-not-running']);
    expect(r.running['data-service-sidecar']).toBeNull();
    expect(r.runningVersion).toBeNull();
  });

  it('lists every reason that applies, in a stable order', () => {
    const r = evaluateHost(reached(inventory({ 'data-service': '1.4.0', 'data-service-sidecar': null }, { 'api-service': 'latest' })), ctx('1.5.0'));
    expect(r.reasons).toEqual(['mixed-versions', 'not-desired-version', 'pinned-differs-from-running', 'unpinned-or-latest', 'service-not-running']);
  });

  it('reports an unreachable host UNKNOWN, never compliant, with its cause', () => {
    const r = evaluateHost({ hostId: 'h1', instanceId: 'i-0123456789abcdef0', reached: false, cause: 'agent-offline', message: 'ConnectionLost' }, ctx());
    expect(r).toMatchObject({ state: 'UNKNOWN', reasons: [], unknownCause: 'agent-offline', runningVersion: null });
    expect(severityOf(r)).toBe('HIGH');
  });

  it('reports a host whose inventory lacks a service as not running it', () => {
    const inv = inventory();
    delete inv.services['data-service'];
    expect(evaluateHost(reached(inv), ctx()).reasons).toEqual(['service-not-running']);
  });
});

describe('fleet counts and drift events', () => {
  const host = (state: 'COMPLIANT' | 'NON_COMPLIANT' | 'UNKNOWN', fleetId = 'acme') =>
    ({ state, fleetId }) as Parameters<typeof countFleet>[2][number];

  it('counts UNKNOWN hosts as non-compliant and separately', () => {
    const c = countFleet('acme', '1.5.0', [host('COMPLIANT'), host('NON_COMPLIANT'), host('UNKNOWN'), host('UNKNOWN', 'other')]);
    expect(c).toEqual({ fleetId: 'acme', desiredVersion: '1.5.0', hosts: 3, compliant: 1, nonCompliant: 2, unknown: 1, quarantined: 0 });
  });

  it('carries the quarantined hosts the plan counted, and publishes them as QuarantinedHosts', () => {
    const c = countFleet('acme', '1.5.0', [host('COMPLIANT'), host('UNKNOWN')], 1);
    expect(c.quarantined).toBe(1);
    const data = metricDataOf([c], 0);
    expect(data.find((d) => d.MetricName === 'QuarantinedHosts')).toMatchObject({ Value: 1, Dimensions: [{ Name: 'Fleet', Value: 'acme' }] });
  });

  it.each([
    [null, 0, null],
    [null, 2, 'drift-appeared'],
    [0, 1, 'drift-appeared'],
    [3, 1, null],
    [3, 0, 'drift-cleared'],
    [0, 0, null],
  ] as const)('previous %s non-compliant, now %s → %s', (before, now, event) => {
    expect(driftEvent(before === null ? null : { nonCompliant: before }, { nonCompliant: now })).toBe(event);
  });
});

describe('planBatches', () => {
  const hosts = (n: number, composeDir: string, prefix: string) =>
    Array.from({ length: n }, (_, i) => ({ hostId: `${prefix}-${String(i).padStart(3, '0')}`, instanceId: `i-${(i + 1).toString(16).padStart(17, '0')}`, fleetId: 'acme', composeDir }));

  it('cuts hosts sharing a compose dir into batches of at most 50, one dir per batch', () => {
    const batches = planBatches([...hosts(120, '/opt/semaphor', 'a'), ...hosts(3, '/srv/semaphor', 'b')]);
    expect(batches.map((b) => [b.composeDir, b.hosts.length])).toEqual([
      ['/opt/semaphor', 50],
      ['/opt/semaphor', 50],
      ['/opt/semaphor', 20],
      ['/srv/semaphor', 3],
    ]);
    expect(batches.map((b) => b.index)).toEqual([0, 1, 2, 3]);
    expect(new Set(batches.flatMap((b) => b.hosts.map((h) => h.hostId))).size).toBe(123);
  });

  it('derives the same check id from the same execution, and a different one otherwise', () => {
    const a = checkIdFor('arn:aws:states:us-east-1:1:execution:M:one');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(checkIdFor('arn:aws:states:us-east-1:1:execution:M:one')).toBe(a);
    expect(checkIdFor('arn:aws:states:us-east-1:1:execution:M:two')).not.toBe(a);
  });
});
