import { describe, expect, it } from 'vitest';
import { compareVersions, decideUpgradePath, type ReleaseInfo } from '../../../core/release-rules';
import { classifyError, classifyStep } from '../../../core/classify';

const catalog: ReleaseInfo[] = [
  { version: '1.4.0', destructive: false, requires: [] },
  { version: '1.5.0', destructive: false, requires: [] },
  { version: '1.6.0', destructive: true, requires: [] },
  { version: '1.6.1', destructive: false, requires: [] },
  { version: '2.0.0', destructive: false, requires: ['1.6.0'] },
  { version: '2.1.0', destructive: false, requires: [] },
];

describe('compareVersions', () => {
  it('orders by numeric parts, not text', () => {
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('v1.2.3', '1.2.3')).toBe(0);
    expect(compareVersions('2.0.0-rc.1', '2.0.0')).toBe(-1);
  });
  it('refuses what is not a version', () => {
    expect(() => compareVersions('latest', '1.0.0')).toThrow(/not a release version/);
  });
});

describe('decideUpgradePath', () => {
  it('is a noop when the host already runs the target', () => {
    expect(decideUpgradePath('1.5.0', '1.5.0', catalog)).toEqual({ kind: 'noop' });
  });
  it('flags a jump across a destructive release', () => {
    const d = decideUpgradePath('1.4.0', '1.6.1', catalog);
    expect(d).toEqual({ kind: 'proceed', destructive: true, crossed: ['1.5.0', '1.6.0', '1.6.1'] });
  });
  it('is not destructive when the destructive release was already passed', () => {
    expect(decideUpgradePath('1.6.0', '1.6.1', catalog)).toMatchObject({ kind: 'proceed', destructive: false });
  });
  it('enforces a required intermediate version, naming it', () => {
    const d = decideUpgradePath('1.5.0', '2.1.0', catalog);
    expect(d.kind).toBe('refused');
    expect(d.kind === 'refused' && d.reason).toMatch(/requires 1\.6\.0 first/);
  });
  it('allows the jump once the intermediate is reached', () => {
    expect(decideUpgradePath('1.6.0', '2.1.0', catalog)).toMatchObject({ kind: 'proceed', crossed: ['1.6.1', '2.0.0', '2.1.0'] });
  });
  it('refuses going down: that is a rollback', () => {
    const d = decideUpgradePath('1.6.0', '1.5.0', catalog);
    expect(d.kind === 'refused' && d.reason).toMatch(/use a rollback/);
  });
  it('refuses a version missing from the catalog', () => {
    expect(decideUpgradePath('1.4.0', '9.9.9', catalog).kind).toBe('refused');
  });
});

describe('classification', () => {
  it('names an offline agent unreachable whatever the step', () => {
    expect(classifyStep({ step: 'backup', status: 'Undeliverable', error: 'agent-offline' })).toBe('unreachable');
  });
  it('names a step timeout timed-out', () => {
    expect(classifyStep({ step: 'restart', status: 'TimedOut', error: null })).toBe('timed-out');
  });
  it('maps each failing step to its class', () => {
    expect(classifyStep({ step: 'pull-images', status: 'Failed', error: 'pull-failed' })).toBe('pull-failed');
    expect(classifyStep({ step: 'watch-schema', status: 'Failed', error: 'schema-sync-failed' })).toBe('schema-sync-failed');
    expect(classifyStep({ step: 'watch-schema', status: 'Failed', error: 'license-expired' })).toBe('license-expired');
    expect(classifyStep({ step: 'health-check', status: 'Failed', error: 'unhealthy' })).toBe('unhealthy');
  });
  it('classifies thrown task errors', () => {
    expect(classifyError('HostUnreachableError', 'preflight')).toBe('unreachable');
    expect(classifyError('States.Timeout', 'backup')).toBe('timed-out');
    expect(classifyError('Lambda.Unknown', 'backup')).toBe('backup-failed');
  });
});
