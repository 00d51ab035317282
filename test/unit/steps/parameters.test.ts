import { describe, expect, it } from 'vitest';
import {
  buildStepParameters,
  documentNameFor,
  InvalidStepInputError,
  PARAMETER_PATTERNS,
  STEP_PARAMETERS,
} from '../../../core/host-steps';
import { HOST_STEPS } from '../../../core/models';
import { RUN } from '../../support/steps';

const SHA = 'a'.repeat(64);
const WHERE = { bucket: 'fleet-backups', region: 'eu-west-1' };
const KEYS = { dataKey: 'backups/acme-prod-1/b1/data.tar.gz', configKey: 'backups/acme-prod-1/b1/config.tar.gz' };
const UPLOAD = { ...WHERE, ...KEYS, uploadId: 'VXBsb2FkIElE.x_y-z', partSizeMb: 8, partCount: 3 };
const RESTORE = { ...WHERE, ...KEYS, dataSha256: SHA, configSha256: 'b'.repeat(64) };

function refused(fn: () => unknown): InvalidStepInputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidStepInputError);
    return err as InvalidStepInputError;
  }
  throw new Error('expected InvalidStepInputError');
}

describe('buildStepParameters', () => {
  it('names documents <prefix><PascalStep>', () => {
    expect(documentNameFor('pull-images', 'Fleetwave-')).toBe('Fleetwave-PullImages');
    expect(documentNameFor('health-check', 'Fleetwave-')).toBe('Fleetwave-HealthCheck');
    expect(documentNameFor('preflight', 'Test-')).toBe('Test-Preflight');
  });

  it('gives preflight the compose dir and the target version', () => {
    expect(buildStepParameters('preflight', RUN)).toEqual({ ComposeDir: ['/opt/semaphor'], TargetVersion: ['1.6.0'] });
  });

  it('takes targetVersion for preflight as the state machine passes it, and refuses a conflicting pair', () => {
    expect(buildStepParameters('preflight', RUN, { targetVersion: '1.5.0' }).TargetVersion).toEqual(['1.5.0']);
    refused(() => buildStepParameters('preflight', RUN, { targetVersion: '1.5.0', version: '1.6.0' }));
  });

  it('lets health-check after a restore verify the previous version', () => {
    const p = buildStepParameters('health-check', RUN, { version: '1.4.0', passes: 3, intervalSeconds: 2 });
    expect(p).toEqual({
      ComposeDir: ['/opt/semaphor'],
      Version: ['1.4.0'],
      HealthUrl: ['http://127.0.0.1:3000/api/health'],
      Passes: ['3'],
      IntervalSeconds: ['2'],
    });
  });

  it('gives backup only where to upload: bucket, region, keys, upload id and part sizing (no URL, no credential)', () => {
    const p = buildStepParameters('backup', RUN, { target: UPLOAD });
    expect(p).toEqual({
      ComposeDir: ['/opt/semaphor'],
      Bucket: ['fleet-backups'],
      Region: ['eu-west-1'],
      DataKey: [KEYS.dataKey],
      ConfigKey: [KEYS.configKey],
      UploadId: ['VXBsb2FkIElE.x_y-z'],
      PartSizeMb: ['8'],
      PartCount: ['3'],
    });
  });

  it('gives restore the keys, the recorded versions (- for the current object), checksums and the run mode', () => {
    const p = buildStepParameters('restore', { ...RUN, mode: 'external' }, { restore: { ...RESTORE, dataVersionId: 'v.1' } });
    expect(p).toMatchObject({ DataKey: [KEYS.dataKey], DataVersionId: ['v.1'], ConfigVersionId: ['-'], Mode: ['external'], DataSha256: [SHA] });
  });

  it('only ever produces parameters the step declares, each matching its pattern', () => {
    for (const step of HOST_STEPS) {
      const extra =
        step === 'backup'
          ? { backup: UPLOAD }
          : step === 'restore'
            ? { restore: RESTORE }
            : {};
      const params = buildStepParameters(step, RUN, extra);
      for (const [name, values] of Object.entries(params)) {
        expect(STEP_PARAMETERS[step]).toContain(name);
        for (const v of values) expect(v).toMatch(PARAMETER_PATTERNS[name as keyof typeof PARAMETER_PATTERNS]);
      }
    }
  });

  it.each([
    ['version with a command substitution', { version: '1.6.0$(id)' }],
    ['version latest', { version: 'latest' }],
    ['fullwidth digit lookalike', { version: '1.６.0' }],
    ['unknown extra key', { script: 'rm -rf /' }],
    ['negative interval', { intervalSeconds: -1 }],
  ])('refuses %s', (_what, extra) => {
    const err = refused(() => buildStepParameters('health-check', RUN, extra));
    expect(err.fields.length).toBeGreaterThan(0);
  });

  it.each([
    ['path traversal in the compose dir', { composeDir: '/opt/../etc' }],
    ['a semicolon in the compose dir', { composeDir: '/opt/semaphor;reboot' }],
    ['a newline in the health URL', { healthUrl: 'http://h/x\nrm -rf /' }],
    ['latest as target', { targetVersion: 'latest' }],
  ])('refuses a run context with %s', (_what, patch) => {
    refused(() => buildStepParameters('health-check', { ...RUN, ...patch }));
  });

  it('refuses a key, upload id or bucket that is not one, naming the field', () => {
    for (const bad of [
      { dataKey: '../etc/passwd' },
      { configKey: 'backups/acme-prod-1/b1/config.tar.gz;id' },
      { uploadId: "a'$(id)'" },
      { bucket: 'Not_A_Bucket' },
      { region: 'eu-west-1; reboot' },
    ]) {
      const err = refused(() => buildStepParameters('backup', RUN, { target: { ...UPLOAD, ...bad } }));
      expect(err.fields).toEqual([`extra.target.${Object.keys(bad)[0]}`]);
    }
  });

  it('refuses extra inputs the step does not take, and missing backup/restore targets', () => {
    expect(refused(() => buildStepParameters('pull-images', RUN, { passes: 3 })).fields).toEqual(['Passes']);
    refused(() => buildStepParameters('restart', RUN, { version: '1.4.0' }));
    refused(() => buildStepParameters('backup', RUN));
    refused(() => buildStepParameters('restore', RUN));
  });

  it('never puts a refused value into the error message', () => {
    const err = refused(() => buildStepParameters('pull-images', RUN, { version: 'v1.0.0;curl evil.example' }));
    expect(err.message).not.toContain('evil.example');
  });
});
