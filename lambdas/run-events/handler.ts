/**
 * run-events: EventBridge's target for the host workflows (lib/run-events.ts).
 * Event, one of:
 * - SSM "EC2 Command Invocation Status-change Notification"
 *   `{source:"aws.ssm", detail:{"command-id","instance-id",status,…}}`: a
 *   terminal status answers the command's waiting step (SendTaskSuccess with
 *   the StepOutcome poll-step's classification gives);
 * - the safety poll `{"fleetwave-safety-poll": true}`: every open step wait is
 *   looked at (answered, or heartbeat + lease renewal, or closed);
 * - Step Functions "Execution Status Change" `{source:"aws.states",
 *   detail:{executionArn,stateMachineArn,status}}` with FAILED / TIMED_OUT /
 *   ABORTED: an unfinished run is finished, the host quarantined and the
 *   operator alerted (core/host-run/reconcile.ts).
 * Returns a summary of what it did. Errors: InvalidTaskInputError (an event
 * of another shape), TransientError (registry; EventBridge retries the
 * invocation, the safety poll covers the rest).
 */
import { z } from 'zod';
import { ExecutionEnded, reconcileEndedExecution } from '../../core/host-run';
import { onCommandStatusChange, S3CommandOutputReader, safetyPoll, SfnTaskCallbacks, SsmCommandRunner, type StepWaitDeps } from '../../core/host-steps';
import type { AlertSink } from '../../core/alerts';
import type { RegistryStore } from '../../core/registry/store';
import { s3Client, sfnClient, ssmClient } from '../shared/clients';
import { RunEventsEnv } from '../shared/env';
import { alertSink, openRegistry } from '../shared/registry';
import { defineTask } from '../shared/task';

const CommandEvent = z.object({
  source: z.literal('aws.ssm'),
  'detail-type': z.literal('EC2 Command Invocation Status-change Notification'),
  detail: z.object({ 'command-id': z.string().min(1), 'instance-id': z.string().min(1), status: z.string().min(1) }).passthrough(),
});
const ExecutionEvent = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: ExecutionEnded.passthrough(),
});
const SafetyPollEvent = z.object({ 'fleetwave-safety-poll': z.literal(true) });

export const RunEventsEvent = z.union([CommandEvent, ExecutionEvent, SafetyPollEvent]);
export type RunEventsEvent = z.input<typeof RunEventsEvent>;

interface RunEventsDeps extends StepWaitDeps {
  store: RegistryStore;
  alerts: AlertSink;
}

export const { handler, createHandler } = defineTask({
  name: 'run-events',
  event: RunEventsEvent,
  env: RunEventsEnv,
  deps: async (env, log): Promise<RunEventsDeps> => {
    const { store } = await openRegistry(env, log);
    return {
      store,
      runner: new SsmCommandRunner(ssmClient()),
      output: new S3CommandOutputReader(s3Client()),
      outputBucket: env.OUTPUT_BUCKET,
      callbacks: new SfnTaskCallbacks(sfnClient()),
      leaseTtlSeconds: env.LEASE_TTL_SECONDS,
      alerts: alertSink(env),
      log: (message, fields) => log.info(message, fields),
    };
  },
  run: async (event, deps, log) => {
    if ('fleetwave-safety-poll' in event) {
      const summary = await safetyPoll(deps);
      log.info('safety poll', { ...summary });
      return { kind: 'safety-poll', ...summary };
    }
    if (event.source === 'aws.ssm') {
      const d = event.detail;
      const answered = await onCommandStatusChange({ commandId: d['command-id'], instanceId: d['instance-id'], status: d.status }, deps);
      return { kind: 'command', commandId: d['command-id'], answered };
    }
    const result = await reconcileEndedExecution(event.detail, { store: deps.store, alerts: deps.alerts, runner: deps.runner, log: deps.log });
    log.info('execution ended', { executionArn: event.detail.executionArn, status: event.detail.status, ...result });
    return { kind: 'execution', ...result };
  },
});
