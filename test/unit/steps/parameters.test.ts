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

const decode = (b64url: string) => Buffer.from(b64url, 'base64url').toString('utf8');
const URL_A = 'https://backups.s3.us-east-1.amazonaws.com/backups/acme-prod-1/x/data.tar.gz?partNumber=1&uploadId=abc&X-Amz-Signature=00ff';
const URL_B = 'https://backups.s3.us-east-1.amazonaws.com/backups/acme-prod-1/x/config.tar.gz?X-Amz-Signature=11ee';
const SHA = 'a'.repeat(64);

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

  it('base64url-encodes presigned backup URLs, one list entry per part, in order', () => {
    const p = buildStepParameters('backup', RUN, {
      backup: { partUrls: [URL_A, `${URL_A}2`], partSizeMb: 8, configUrl: URL_B, uploadId: 'ignored' },
    });
    expect(p.DataPartUrls!.map(decode)).toEqual([URL_A, `${URL_A}2`]);
    expect(decode(p.ConfigUrl![0]!)).toBe(URL_B);
    expect(p.PartSizeMb).toEqual(['8']);
    for (const v of [...p.DataPartUrls!, ...p.ConfigUrl!]) expect(v).toMatch(PARAMETER_PATTERNS.DataPartUrls);
  });

  it('gives restore the download URLs, checksums and the run mode', () => {
    const p = buildStepParameters('restore', { ...RUN, mode: 'external' }, {
      restore: { dataUrl: URL_A, configUrl: URL_B, dataSha256: SHA, configSha256: 'b'.repeat(64) },
    });
    expect(decode(p.DataUrl![0]!)).toBe(URL_A);
    expect(p.Mode).toEqual(['external']);
    expect(p.DataSha256).toEqual([SHA]);
  });

  it('only ever produces parameters the step declares, each matching its pattern', () => {
    for (const step of HOST_STEPS) {
      const extra =
        step === 'backup'
          ? { backup: { partUrls: [URL_A], partSizeMb: 8, configUrl: URL_B } }
          : step === 'restore'
            ? { restore: { dataUrl: URL_A, configUrl: URL_B, dataSha256: SHA, configSha256: SHA } }
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

  it('refuses a presigned URL that is not http(s) or carries spaces or quotes', () => {
    for (const bad of ['file:///etc/passwd', 'https://h/a b', "https://h/a'$(id)'", 'https://h/\u0430']) {
      refused(() => buildStepParameters('backup', RUN, { backup: { partUrls: [bad], partSizeMb: 8, configUrl: URL_B } }));
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
