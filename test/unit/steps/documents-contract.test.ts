/**
 * send-step builds parameters without importing ssm-documents at run time;
 * this test keeps the two sides of docs/contracts.md in step.
 */
import { describe, expect, it } from 'vitest';
import { documentName, documentParameters, stepTimeoutSeconds, validateParameters } from '../../../ssm-documents';
import {
  buildStepParameters,
  documentNameFor,
  PARAMETER_PATTERNS,
  STEP_EXECUTION_TIMEOUT_SECONDS,
  STEP_PARAMETERS,
} from '../../../core/host-steps';
import { HOST_STEPS } from '../../../core/models';
import { RUN } from '../../support/steps';

const SHA = 'f'.repeat(64);
const WHERE = { bucket: 'fleet-backups', region: 'us-east-1', dataKey: 'backups/acme-prod-1/x/data.tar.gz', configKey: 'backups/acme-prod-1/x/config.tar.gz' };
const fullExtra = {
  preflight: { minFreeMb: 2048 },
  backup: { target: { ...WHERE, uploadId: 'u', partSizeMb: 8, partCount: 2 } },
  'pull-images': {},
  'pin-tags': {},
  restart: {},
  'watch-schema': { timeoutSeconds: 600, pollSeconds: 2 },
  'health-check': { passes: 3, intervalSeconds: 5, timeoutSeconds: 300 },
  restore: { backup: { ...WHERE, dataVersionId: 'v1', configVersionId: 'v2', dataSha256: SHA, configSha256: SHA, mode: 'external' } },
  inventory: {},
} as const;

describe.each(HOST_STEPS)('step %s agrees with its SSM document', (step) => {
  it('uses the same document name', () => {
    expect(documentNameFor(step, 'Fleetwave-')).toBe(documentName(step, 'Fleetwave-'));
  });

  it('only sends parameters the document declares, with the same allowedPattern', () => {
    const declared = documentParameters(step);
    for (const name of STEP_PARAMETERS[step]) {
      expect(declared[name], `${step} declares ${name}`).toBeDefined();
      // compared as RegExp sources: `/` is escaped the same way on both sides
      expect(new RegExp(declared[name]!.allowedPattern).source).toBe(PARAMETER_PATTERNS[name].source);
    }
  });

  it('builds a parameter set SendCommand would accept', () => {
    const params = buildStepParameters(step, RUN, fullExtra[step]);
    expect(validateParameters(step, params)).toEqual({ ok: true });
  });

  it('allows at least the document\'s execution timeout before poll-step gives up', () => {
    expect(STEP_EXECUTION_TIMEOUT_SECONDS[step]).toBeGreaterThanOrEqual(stepTimeoutSeconds(step));
  });
});
