/**
 * core/host-steps/step-waits.ts against in-memory fakes of its ports (the
 * registry's step waits and leases, SSM, Step Functions' callbacks): which
 * events answer a waiting step, what the safety poll does with each wait.
 */
import { describe, expect, it } from 'vitest';
import { onCommandStatusChange, safetyPoll, type StepWaitDeps } from '../../../core/host-steps/step-waits';
import type { Invocation } from '../../../core/host-steps/ports';
import type { SentCommand, StepOutcome } from '../../../core/models';
import type { StepWait } from '../../../core/registry/step-waits/step-wait-store';
import { RUN } from '../../support/steps';

const NOW = Date.UTC(2024, 5, 1, 12, 10, 0);

function sent(commandId: string, overrides: Partial<SentCommand> = {}): SentCommand {
  return { step: 'restart', commandId, instanceId: RUN.instanceId, documentName: 'Fleetwave-Restart', sentAt: NOW - 60_000, deadline: NOW + 600_000, ...overrides };
}

function fixture(invocations: Record<string, Invocation | null>, opts: { closedTokens?: string[] } = {}) {
  const waits = new Map<string, StepWait & { closed?: string }>();
  const answered: { token: string; outcome: StepOutcome }[] = [];
  const heartbeats: string[] = [];
  const renewed: { hostId: string; token: number; ttl: number }[] = [];
  const cancelled: string[] = [];
  const closedTokens = new Set(opts.closedTokens ?? []);
  const deps: StepWaitDeps = {
    store: {
      openStepWait: async (w) => void waits.set(w.taskToken, { taskToken: w.taskToken, run: w.run as StepWait['run'], sent: w.sent as SentCommand, createdAt: NOW }),
      listStepWaits: async ({ commandId }) => [...waits.values()].filter((w) => !w.closed && w.sent.commandId === commandId),
      listOpenStepWaits: async () => [...waits.values()].filter((w) => !w.closed),
      listRunStepWaits: async (runId) => [...waits.values()].filter((w) => !w.closed && w.run.runId === runId),
      closeStepWait: async (token, reason) => {
        const w = waits.get(token);
        if (w && !w.closed) w.closed = reason;
      },
      renewLease: async (hostId, token, ttl) => {
        renewed.push({ hostId, token, ttl });
        return { token, expiresAt: NOW + ttl * 1000 };
      },
    },
    runner: {
      send: async () => {
        throw new Error('not used');
      },
      findByComment: async () => null,
      getInvocation: async ({ commandId }: { commandId: string }) => invocations[commandId] ?? null,
      cancel: async ({ commandId }: { commandId: string }) => void cancelled.push(commandId),
      agentVersion: async () => null,
    } as unknown as StepWaitDeps['runner'],
    output: { readStdoutTail: async () => null },
    outputBucket: 'fw-out',
    now: () => NOW,
    callbacks: {
      succeed: async (token, outcome) => {
        if (closedTokens.has(token)) return 'closed';
        closedTokens.add(token);
        answered.push({ token, outcome });
        return 'answered';
      },
      heartbeat: async (token) => {
        if (closedTokens.has(token)) return 'closed';
        heartbeats.push(token);
        return 'alive';
      },
    },
    leaseTtlSeconds: 3600,
    lookupRetries: 0,
  };
  const open = (token: string, command: SentCommand) => deps.store.openStepWait({ taskToken: token, run: RUN, sent: command });
  return { deps, waits, answered, heartbeats, renewed, cancelled, open };
}

const done = (stdout: string): Invocation => ({ status: 'Success', statusDetails: 'Success', responseCode: 0, stdout, stdoutUrl: null });
const running: Invocation = { status: 'InProgress', statusDetails: 'InProgress', responseCode: -1, stdout: '', stdoutUrl: null };

describe('a command status change', () => {
  it('answers the command\'s open wait with poll-step\'s outcome on a terminal status, and closes it', async () => {
    const f = fixture({ c1: done('{"step":"restart","ok":true}') });
    await f.open('tok-1', sent('c1'));
    expect(await onCommandStatusChange({ commandId: 'c1', instanceId: RUN.instanceId, status: 'Success' }, f.deps)).toEqual(['answered']);
    expect(f.answered).toEqual([{ token: 'tok-1', outcome: expect.objectContaining({ step: 'restart', status: 'Success', commandId: 'c1' }) }]);
    expect(f.waits.get('tok-1')!.closed).toBe('answered: Success');
  });

  it('ignores a status that is not terminal, and a command of another instance', async () => {
    const f = fixture({ c1: done('{"step":"restart","ok":true}') });
    await f.open('tok-1', sent('c1'));
    expect(await onCommandStatusChange({ commandId: 'c1', instanceId: RUN.instanceId, status: 'InProgress' }, f.deps)).toEqual([]);
    expect(await onCommandStatusChange({ commandId: 'c1', instanceId: 'i-0fffffffffffffff0', status: 'Success' }, f.deps)).toEqual([]);
    expect(f.answered).toEqual([]);
  });

  it('closes a wait whose task no longer takes an answer (a retried attempt\'s old token)', async () => {
    const f = fixture({ c1: done('{"step":"restart","ok":true}') }, { closedTokens: ['old'] });
    await f.open('old', sent('c1'));
    await f.open('new', sent('c1'));
    expect(await onCommandStatusChange({ commandId: 'c1', instanceId: RUN.instanceId, status: 'Success' }, f.deps)).toEqual(['closed', 'answered']);
    expect(f.answered.map((a) => a.token)).toEqual(['new']);
    expect(f.waits.get('old')!.closed).toBe('the task no longer waits');
  });
});

describe('the safety poll', () => {
  it('answers an ended command whose event never came, heartbeats and renews the lease of a live one', async () => {
    const f = fixture({ ended: done('{"step":"restart","ok":true}'), live: running });
    await f.open('tok-ended', sent('ended'));
    await f.open('tok-live', sent('live', { step: 'watch-schema' }));
    expect(await safetyPoll(f.deps)).toEqual({ answered: 1, alive: 1, closed: 0, failed: 0 });
    expect(f.answered.map((a) => a.token)).toEqual(['tok-ended']);
    expect(f.heartbeats).toEqual(['tok-live']);
    expect(f.renewed).toEqual([{ hostId: RUN.hostId, token: RUN.leaseToken, ttl: 3600 }]);
  });

  it('cancels a command past its deadline and answers TimedOut', async () => {
    const f = fixture({ stuck: running });
    await f.open('tok', sent('stuck', { deadline: NOW - 1 }));
    expect(await safetyPoll(f.deps)).toMatchObject({ answered: 1 });
    expect(f.cancelled).toEqual(['stuck']);
    expect(f.answered[0]!.outcome).toMatchObject({ status: 'TimedOut', error: 'deadline-exceeded' });
  });

  it('closes the wait of a task that is gone (execution ended) and renews no lease for it', async () => {
    const f = fixture({ live: running }, { closedTokens: ['tok'] });
    await f.open('tok', sent('live'));
    expect(await safetyPoll(f.deps)).toEqual({ answered: 0, alive: 0, closed: 1, failed: 0 });
    expect(f.renewed).toEqual([]);
    expect(f.waits.get('tok')!.closed).toBe('the task no longer waits');
  });

  it('goes on past a wait it cannot read', async () => {
    const f = fixture({ ok: done('{"step":"restart","ok":true}') });
    f.deps.runner.getInvocation = async ({ commandId }) => {
      if (commandId === 'bad') throw Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' });
      return done('{"step":"restart","ok":true}');
    };
    await f.open('tok-bad', sent('bad'));
    await f.open('tok-ok', sent('ok'));
    expect(await safetyPoll(f.deps)).toEqual({ answered: 1, alive: 0, closed: 0, failed: 1 });
    expect(f.waits.get('tok-bad')!.closed).toBeUndefined();
  });
});
