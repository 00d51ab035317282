/**
 * compliance-finish:
 *   {action: "finish", checkId} → {checkId, status: "completed", hosts, compliant, nonCompliant, unknown, reportKey, drift}
 *     evaluate, registry, S3 report, SSM Compliance items, CloudWatch metric, drift alert.
 *   {action: "fail", executionArn, error} → {checkId, status, error, cause}
 *     the failure path: the check is marked failed in the registry.
 */
import { z } from 'zod';
import { SnsAlertSink } from '../../core/alerts';
import {
  CloudWatchComplianceMetrics,
  failCheck,
  FailInput,
  finishCheck,
  FinishInput,
  S3JsonObjects,
  SsmComplianceItems,
} from '../../core/compliance';
import { assertNever } from '../../core/errors';
import { cloudwatchClient, s3Client, snsClient, ssmClient } from '../shared/clients';
import { ComplianceFinishEnv } from '../shared/env';
import { openRegistry } from '../shared/registry';
import { defineTask } from '../shared/task';

const Event = z.discriminatedUnion('action', [
  FinishInput.extend({ action: z.literal('finish') }),
  FailInput.extend({ action: z.literal('fail') }),
]);

export const { handler, createHandler } = defineTask({
  name: 'compliance-finish',
  event: Event,
  env: ComplianceFinishEnv,
  deps: async (env, log) => ({
    store: (await openRegistry(env, log)).store,
    objects: new S3JsonObjects(s3Client(), env.REPORT_BUCKET),
    items: new SsmComplianceItems(ssmClient()),
    metrics: new CloudWatchComplianceMetrics(cloudwatchClient()),
    alerts: new SnsAlertSink(snsClient(), env.ALERT_TOPIC_ARN),
  }),
  run: async (input, deps, log) => {
    switch (input.action) {
      case 'fail': {
        const out = await failCheck(input, deps);
        log.warn('compliance check failed', { checkId: out.checkId, error: out.error });
        return out;
      }
      case 'finish': {
        const out = await finishCheck(input, deps);
        log.info('compliance check finished', { ...out, drift: out.drift.length });
        return out;
      }
      default:
        return assertNever(input, 'compliance-finish action');
    }
  },
});
