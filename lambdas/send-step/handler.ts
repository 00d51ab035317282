/**
 * send-step task. Event `{run, step, extra?, attempt?, taskToken?}` → SentCommand.
 * With `taskToken` (the host step's `.waitForTaskToken` task,
 * state-machines/host-step.ts) the token is recorded against the command in
 * the registry (step_waits) once it is sent; run-events answers it when the
 * command ends. A retried attempt records its own token for the same command.
 * `extra` per step: preflight `{targetVersion?, minFreeMb?}`; pull-images /
 * pin-tags `{version?}`; health-check `{version?, passes?, intervalSeconds?,
 * timeoutSeconds?}`; watch-schema `{timeoutSeconds?, pollSeconds?}`; backup
 * `{target}` (prepare-backup's output); restore `{backup}` (begin-run's
 * restore source): keys only; the bucket and region are added here and the
 * host signs its own requests with its own role (nothing presigned).
 * Errors by name: InvalidTaskInputError / InvalidStepInputError (refused,
 * nothing sent), AgentTooOldError (preflight: the host's SSM Agent is older
 * than 3.3.2746.0; nothing sent), DocumentVersionUnknownError (DOCUMENT_VERSIONS
 * lacks the document; nothing sent), HostUnreachableError (→ `unreachable`), ThrottlingException
 * and TransientError (retried by the state machine; the retry finds the
 * earlier command by its comment).
 */
import { z } from 'zod';
import { asTransient } from '../../core/errors';
import { Attempt, recordStepWait, sendStep, SsmCommandRunner, type SendStepDeps } from '../../core/host-steps';
import { StepTaskToken, type StepWaitStore } from '../../core/registry/store';
import { HostRunContext, HostStep } from '../../core/models';
import { lambdaRegion, ssmClient, ssmSendClient } from '../shared/clients';
import { SendStepEnv } from '../shared/env';
import { openRegistry } from '../shared/registry';
import { defineTask } from '../shared/task';

export const SendStepEvent = z.object({
  run: HostRunContext,
  step: HostStep,
  /** Checked field by field in the core (StepExtra) so errors name the field. */
  extra: z.unknown().optional(),
  attempt: Attempt.optional(),
  /** `$$.Task.Token` of the waiting task; never logged. */
  taskToken: StepTaskToken.optional(),
});
export type SendStepEvent = z.input<typeof SendStepEvent>;

function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((err: unknown) => {
      made = undefined; // the next invocation tries again
      throw err;
    }));
}

export const { handler, createHandler } = defineTask({
  name: 'send-step',
  event: SendStepEvent,
  env: SendStepEnv,
  deps: (env, log): SendStepDeps & { waits?: () => Promise<StepWaitStore> } => ({
    // opened on the first waiting step only
    waits: lazy(async () => (await openRegistry(env, log)).store),
    runner: new SsmCommandRunner(ssmClient(), ssmSendClient(), env.DOCUMENT_VERSIONS),
    transfers: { bucket: env.BACKUP_BUCKET, region: lambdaRegion() },
    documentPrefix: env.DOCUMENT_PREFIX,
    outputBucket: env.OUTPUT_BUCKET,
    deliveryTimeoutSeconds: env.DELIVERY_TIMEOUT_SECONDS,
    graceSeconds: env.DEADLINE_GRACE_SECONDS,
  }),
  run: async (input, deps, log) => {
    const ids = { runId: input.run.runId, hostId: input.run.hostId, step: input.step };
    try {
      const sent = await sendStep(input, deps);
      if (input.taskToken) {
        if (!deps.waits) throw new Error('send-step got a task token but has no registry to record it in');
        await recordStepWait(await deps.waits(), input.taskToken, input.run, sent);
      }
      log.info('step command', { ...ids, commandId: sent.commandId, documentName: sent.documentName, deadline: sent.deadline });
      return sent;
    } catch (err) {
      // retried by the state machine; the retry finds an already sent command by its comment
      throw asTransient(err);
    }
  },
});
