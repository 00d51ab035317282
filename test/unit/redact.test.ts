import { describe, expect, it } from 'vitest';
import { redactDeep, redactSecrets, scrubError } from '../../core/redact';
import { expectRedacted, SECRET_SHAPES } from '../fixtures/secret-shapes';

describe('redactSecrets against the shared corpus', () => {
  it.each(SECRET_SHAPES.map((c) => [c.name, c] as const))('%s', (_name, shape) => {
    expectRedacted(shape, redactSecrets(shape.input));
  });

  // Host text is redacted by fw_redact, then again by the Lambda, then by the store.
  it.each(SECRET_SHAPES.map((c) => [c.name, c] as const))('leaves its own output alone: %s', (_name, shape) => {
    const once = redactSecrets(shape.input);
    expect(redactSecrets(once)).toBe(once);
  });
});

describe('redactDeep', () => {
  it('drops string values under secret-looking keys whatever they contain', () => {
    const out = redactDeep({ password: 'plain', dbPass: 'x', apiSecret: 'y', sessionToken: 'z', awsCredentials: ['a', 'b'], user: 'app' });
    expect(out).toEqual({ password: '***', dbPass: '***', apiSecret: '***', sessionToken: '***', awsCredentials: ['***', '***'], user: 'app' });
  });

  it('redacts every other string, at any depth, and keeps numbers, booleans, nulls and dates', () => {
    const at = new Date('2024-01-01T00:00:00Z');
    const input = { error: { message: 'could not connect to postgresql://app:hunter2@10.0.0.5/semaphor' }, list: ['password=hunter2', 7], token: 42, ok: false, none: null, at };
    const out = redactDeep(input);
    expect(out).toEqual({
      error: { message: 'could not connect to postgresql://***@10.0.0.5/semaphor' },
      list: ['password=***', 7],
      token: 42,
      ok: false,
      none: null,
      at,
    });
    expect(out.at).toBeInstanceOf(Date);
    expect(input.error.message).toContain('hunter2');
  });
});

describe('scrubError', () => {
  it('keeps the error name and redacts message and stack', () => {
    const err = new TypeError('Invalid URL: postgres://app:hunter2@db/app');
    const clean = scrubError(err);
    expect(clean.name).toBe('TypeError');
    expect(clean.message).toBe('Invalid URL: postgres://***@db/app');
    expect(clean.stack).toContain('postgres://***@db/app');
    expect(clean.stack).not.toContain('hunter2');
  });

  it('turns a thrown non-Error into a redacted Error', () => {
    const clean = scrubError('failed: PGPASSWORD=hunter2 psql');
    expect(clean).toBeInstanceOf(Error);
    expect(clean.message).toBe('failed: PGPASSWORD=*** psql');
  });
});
