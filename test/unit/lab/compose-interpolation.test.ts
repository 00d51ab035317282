import { describe, expect, it } from 'vitest';
import { ComposeInvalidError, interpolateString } from '../../../lab/hosts/compose-file';

const vars = { TAG: '1.5.0', EMPTY: '', REGISTRY: 'registry.example.com:5000' };
const run = (s: string) => {
  const warned: string[] = [];
  return { value: interpolateString(s, vars, (n) => warned.push(n)), warned };
};

describe("the lab compose's interpolation (Compose file reference, Interpolation)", () => {
  it('substitutes $VAR and ${VAR}, and $$ is a literal dollar', () => {
    expect(run('${REGISTRY}/semaphor/api-service:$TAG').value).toBe('registry.example.com:5000/semaphor/api-service:1.5.0');
    expect(run('cost $$5 and $${TAG}').value).toBe('cost $5 and ${TAG}');
  });

  it('tells unset from empty in defaults and alternatives, nested defaults included', () => {
    expect(run('${EMPTY:-x}').value).toBe('x');
    expect(run('${EMPTY-x}').value).toBe('');
    expect(run('${NOPE-x}').value).toBe('x');
    expect(run('${NOPE:-${TAG:-y}}').value).toBe('1.5.0');
    expect(run('${TAG:+set}|${EMPTY:+set}|${EMPTY+set}').value).toBe('set||set');
  });

  it('warns and substitutes an empty string for an unset variable without a default', () => {
    expect(run('semaphor/api-service:${NOPE}')).toEqual({ value: 'semaphor/api-service:', warned: ['NOPE'] });
  });

  it('refuses a required variable without a value and a malformed expression', () => {
    expect(() => run('${EMPTY:?needs a tag}')).toThrow(/required variable EMPTY is missing a value: needs a tag/);
    expect(run('${EMPTY?x}').value).toBe('');
    expect(() => run('${TAG')).toThrow(ComposeInvalidError);
    expect(() => run('${TAG/1/2}')).toThrow(/invalid interpolation format/);
  });
});
