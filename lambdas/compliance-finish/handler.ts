/**
 * compliance-finish:
 *   {action: "finish", checkId} → {checkId, status: "completed", hosts, compliant, nonCompliant, unknown, reportKey, drift}
 *     evaluate, registry, S3 report, SSM Compliance items, CloudWatch metric, drift alert.
 *   {action: "fail", executionArn, error} → {checkId, status, error, cause}
 *     the failure path: the check is marked failed in the registry.
 */
import { z } from 'zod';
import {
  CloudWatchComplianceMetrics,
  failCheck,
  FailInput,
  finishCheck,
  FinishInput,
  SnsComplianceAlerts,
  SsmComplianceItems,
} from '../../core/compliance';
import { ssmClient } from '../shared/clients';
import { parseTaskInput } from '../shared/task-input';
import { logger, parseEnv, registryStore, rethrowScrubbed } from '../shared/registry-task';
import { ComplianceFinishEnv } from '../compliance-shared/env';
import { cloudwatchClient, reportObjects, snsClient } from '../compliance-shared/clients';

const Event = z.discriminatedUnion('action', [
  FinishInput.extend({ action: z.literal('finish') }),
  FailInput.extend({ action: z.literal('fail') }),
]);

export async function handler(event: unknown) {
  try {
    const input = parseTaskInput(Event, event);
    const env = parseEnv(ComplianceFinishEnv);
    const store = await registryStore();
    if (input.action === 'fail') {
      const out = await failCheck(input, { store });
      logger.warn('compliance check failed', { checkId: out.checkId, error: out.error });
      return out;
    }
    const out = await finishCheck(input, {
      store,
      objects: reportObjects(env.REPORT_BUCKET),
      items: new SsmComplianceItems(ssmClient()),
      metrics: new CloudWatchComplianceMetrics(cloudwatchClient()),
      alerts: new SnsComplianceAlerts(snsClient(), env.ALERT_TOPIC_ARN),
    });
    logger.info('compliance check finished', { ...out, drift: out.drift.length });
    return out;
  } catch (err) {
    rethrowScrubbed(err);
  }
}
