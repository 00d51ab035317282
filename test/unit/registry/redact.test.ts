import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../core/registry/connect';

describe('redactSecrets', () => {
  it.each([
    ['postgres://app:hunter2@db:5432/x', 'postgres://app:***@db:5432/x'],
    ['see postgresql://app:p%40ss@10.0.0.1/db now', 'see postgresql://app:***@10.0.0.1/db now'],
    ['raw at-sign postgres://u:pa@ss@host/db', 'raw at-sign postgres://u:***@host/db'],
    ["host=db password='hunter2 x' user=app", 'host=db password=*** user=app'],
    ['{"username":"app","password":"hunter2"}', '{"username":"app","password":"***"}'],
  ])('masks %s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
    expect(redactSecrets(input)).not.toMatch(/hunter2|p%40ss|pa@ss/);
  });

  it('leaves URLs without a password alone', () => {
    expect(redactSecrets('postgres://postgres@127.0.0.1:5433/postgres')).toBe('postgres://postgres@127.0.0.1:5433/postgres');
  });
});
