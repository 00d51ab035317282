/**
 * The pure half of the lab's SSM: document checks at registration (what
 * CreateDocument refuses) and the agent's rendering rules.
 */
import { describe, expect, it } from 'vitest';
import { InvalidDocumentContentError, InvalidParametersError, parseCommandDocument, renderSteps, resolveParameters } from '../../../../lab/ssm/document';

const doc = (parameters: Record<string, unknown>, inputs: Record<string, unknown> = { runCommand: ['true'] }, action = 'aws:runShellScript') => ({
  schemaVersion: '2.2',
  parameters,
  mainSteps: [{ action, name: 'step', inputs }],
});

describe('parseCommandDocument', () => {
  it('accepts JSON and YAML text', () => {
    const json = parseCommandDocument('A', JSON.stringify(doc({})));
    const yaml = parseCommandDocument('B', 'schemaVersion: "2.2"\nmainSteps:\n  - action: aws:runShellScript\n    name: step\n    inputs:\n      runCommand: ["echo hi"]\n');
    expect(json.mainSteps[0]?.name).toBe('step');
    expect(yaml.mainSteps[0]?.inputs.runCommand).toEqual(['echo hi']);
  });

  it('refuses a default that violates its own allowedPattern, and plugins the Linux lab cannot run', () => {
    expect(() => parseCommandDocument('A', doc({ V: { type: 'String', default: 'latest', allowedPattern: '^[0-9.]+$' } }))).toThrow(InvalidDocumentContentError);
    expect(() => parseCommandDocument('A', doc({}, { runCommand: ['x'] }, 'aws:runPowerShellScript'))).toThrow(InvalidDocumentContentError);
    expect(() => parseCommandDocument('A', { ...doc({}), schemaVersion: '1.2' })).toThrow(InvalidDocumentContentError);
  });
});

describe('resolveParameters', () => {
  const d = parseCommandDocument('A', doc({
    Version: { type: 'String', allowedPattern: '^v?[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}$', interpolationType: 'ENV_VAR' },
    Urls: { type: 'StringList', allowedPattern: '^[A-Za-z0-9_-]{4,20}$', interpolationType: 'ENV_VAR', default: ['abcd'] },
  }));

  it('applies defaults and checks every StringList item', () => {
    expect(resolveParameters(d, { Version: ['1.6.0'] })).toEqual({ Version: ['1.6.0'], Urls: ['abcd'] });
    expect(() => resolveParameters(d, { Version: ['1.6.0'], Urls: ['good_one', 'bad one'] })).toThrow(InvalidParametersError);
  });

  it('refuses a String given two values, metacharacters and non-ASCII lookalikes', () => {
    expect(() => resolveParameters(d, { Version: ['1.6.0', '1.7.0'] })).toThrow(/exactly one value/);
    expect(() => resolveParameters(d, { Version: ['1.6.0;reboot'] })).toThrow(/allowedPattern/);
    // U+2024 ONE DOT LEADER looks like "." but is not.
    expect(() => resolveParameters(d, { Version: ['1\u20246.0'] })).toThrow(/allowedPattern/);
  });
});

describe('renderSteps', () => {
  it('sets SSM_<name> only for ENV_VAR parameters and honours the agent timeout bounds', () => {
    const d = parseCommandDocument('A', doc(
      { A: { type: 'String', interpolationType: 'ENV_VAR' }, B: { type: 'String' }, T: { type: 'String' } },
      { runCommand: ['echo {{ B }}'], timeoutSeconds: '{{ T }}', workingDirectory: 'relative' },
    ));
    const [step] = renderSteps(d, { A: ['a'], B: ['b'], T: ['4'] });
    expect(step?.env).toEqual({ SSM_A: 'a' });
    expect(step?.lines).toEqual(['echo b']);
    // Below the agent's 5-second minimum the default of 3600 applies.
    expect(step?.timeoutSeconds).toBe(3600);
    // A relative workingDirectory that does not exist falls back to the agent's own.
    expect(step?.workingDirectory).toBeUndefined();
    const [five] = renderSteps(d, { A: ['a'], B: ['b'], T: ['5'] });
    expect(five?.timeoutSeconds).toBe(5);
  });
});
