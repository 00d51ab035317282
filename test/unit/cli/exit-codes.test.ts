/**
 * The fleetwave command's exit codes (cli/exit-codes.ts): how a workflow's
 * end maps to 0–4 by the one table, per command that waits. A registry that
 * cannot be reached (5): test/integration/cli/unreachable.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOfExecutionError, rolloutExitCode, rolloutRollbackExitCode, unreachableService } from '../../../cli/exit-codes';

describe('the exit-code table', () => {
  it('maps how a workflow ended: restored 3, a failed rollback 4, bad input 2, a locked host or anything else 1', () => {
    expect(exitCodeOfExecutionError('UpgradeRestored')).toBe(EXIT.restored);
    expect(exitCodeOfExecutionError('RollbackFailed')).toBe(EXIT.rollbackFailed);
    expect(exitCodeOfExecutionError('HostRetiredError')).toBe(EXIT.invalidInput);
    expect(exitCodeOfExecutionError('NewerChangesError')).toBe(EXIT.invalidInput);
    expect(exitCodeOfExecutionError('HostLockedError')).toBe(EXIT.failed);
    expect(exitCodeOfExecutionError('HostQuarantinedError')).toBe(EXIT.failed);
    expect(exitCodeOfExecutionError('TransientError')).toBe(EXIT.failed);
    expect(exitCodeOfExecutionError('States.Timeout')).toBe(EXIT.failed);
  });

  it('rollout start --wait: the truth of its hosts', () => {
    const h = (result: string, outcome: string | null = null) => ({ result, outcome });
    expect(rolloutExitCode({ status: 'succeeded', hosts: [h('succeeded')] })).toBe(EXIT.ok);
    expect(rolloutExitCode({ status: 'succeeded', hosts: [h('succeeded'), h('rollback-failed', 'rollback-failed')] })).toBe(EXIT.rollbackFailed);
    expect(rolloutExitCode({ status: 'rolled-back', hosts: [h('rolled-back')] })).toBe(EXIT.restored);
    expect(rolloutExitCode({ status: 'halted', hosts: [h('failed', 'restored')] })).toBe(EXIT.restored);
    expect(rolloutExitCode({ status: 'halted', hosts: [h('failed', 'preflight-failed')] })).toBe(EXIT.failed);
    expect(rolloutExitCode({ status: 'stopped', hosts: [h('succeeded')] })).toBe(EXIT.failed);
  });

  it('rollback --rollout --wait: 4 when a restore failed, 2 when hosts were refused, 0 when all restored', () => {
    const hosts = (...r: string[]) => r.map((result) => ({ result, outcome: null }));
    expect(rolloutRollbackExitCode('FAILED', { status: 'failed', hosts: hosts('rolled-back', 'rollback-failed'), refused: 0 })).toBe(EXIT.rollbackFailed);
    expect(rolloutRollbackExitCode('SUCCEEDED', { status: 'rolled-back', hosts: hosts('rolled-back', 'refused'), refused: 1 })).toBe(EXIT.invalidInput);
    expect(rolloutRollbackExitCode('SUCCEEDED', { status: 'rolled-back', hosts: hosts('rolled-back'), refused: 0 })).toBe(EXIT.ok);
    expect(rolloutRollbackExitCode('TIMED_OUT', { status: 'failed', hosts: hosts('rolled-back'), refused: 0 })).toBe(EXIT.failed);
  });

  it('tells the registry from AWS', () => {
    const sdk = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } });
    expect(unreachableService(sdk)).toBe('AWS');
    expect(unreachableService(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('registry');
    expect(unreachableService(Object.assign(new Error('AccessDenied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }))).toBeNull();
  });
});
