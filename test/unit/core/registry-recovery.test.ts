import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../core/errors';
import { asRegistryTransient, isAuthenticationFailure, isRegistryUnavailable } from '../../../core/registry/recovery';

const pgError = (code: string, message = 'server says no') => Object.assign(new Error(message), { code });

describe('registry errors the state machines retry', () => {
  it.each([
    ['a terminated connection (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['a server starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['a refused connection', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a socket that went away', new Error('Connection terminated unexpectedly')],
  ])('%s is unavailable and leaves as TransientError', (_name, err) => {
    expect(isRegistryUnavailable(err)).toBe(true);
    expect(asRegistryTransient(err)).toBeInstanceOf(TransientError);
  });

  it('a refused password (28P01) is an authentication failure, retried, with the password nowhere in it', () => {
    const err = pgError('28P01', 'password authentication failed for user "fleetwave"');
    expect(isAuthenticationFailure(err)).toBe(true);
    expect(isRegistryUnavailable(err)).toBe(false);
    const out = asRegistryTransient(err) as Error;
    expect(out).toBeInstanceOf(TransientError);
    expect(out.message).toMatch(/refused the credentials/);
  });

  it('a constraint violation or a refusal of ours is left as it is', () => {
    const unique = pgError('23505', 'duplicate key value violates unique constraint');
    expect(asRegistryTransient(unique)).toBe(unique);
    const mine = Object.assign(new Error('host h is locked'), { name: 'HostLockedError' });
    expect(asRegistryTransient(mine)).toBe(mine);
  });

  it('a URL in the driver message is redacted', () => {
    const out = asRegistryTransient(pgError('08006', 'could not reach postgres://fw:hunter2@db:5432/fleetwave')) as Error;
    expect(out.message).not.toContain('hunter2');
  });
});
