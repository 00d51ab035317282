/**
 * poll-step task. Event `{run, command}` → StepOutcome; the state machine's
 * Choice branches on `status` (Pending → wait and poll again).
 */
import { z } from 'zod';
import { asTransient } from '../../core/errors';
import { pollStep, S3CommandOutputReader, SsmCommandRunner, type PollStepDeps } from '../../core/host-steps';
import { HostRunContext, SentCommand, type StepOutcome } from '../../core/models';
import { s3Client, ssmClient } from '../shared/clients';
import { PollStepEnv } from '../shared/env';
import { defineTask } from '../shared/task';

export const PollStepEvent = z
  .object({ run: HostRunContext, command: SentCommand })
  .refine((e) => e.command.instanceId === e.run.instanceId, {
    message: 'command.instanceId differs from run.instanceId',
    path: ['command', 'instanceId'],
  });
export type PollStepEvent = z.input<typeof PollStepEvent>;

export const { handler, createHandler } = defineTask({
  name: 'poll-step',
  event: PollStepEvent,
  env: PollStepEnv,
  deps: (env): PollStepDeps => ({
    runner: new SsmCommandRunner(ssmClient()),
    output: new S3CommandOutputReader(s3Client()),
    outputBucket: env.OUTPUT_BUCKET,
  }),
  run: async (input, deps, log) => {
    let outcome: StepOutcome;
    try {
      outcome = await pollStep(input, deps);
    } catch (err) {
      // a lost connection is retried by the state machine, never taken for the step's outcome
      throw asTransient(err);
    }
    if (outcome.status !== 'Pending') {
      // error is a code; message is redacted but still host text, so it stays out of logs.
      log.info('step ended', {
        runId: input.run.runId,
        hostId: input.run.hostId,
        step: outcome.step,
        commandId: outcome.commandId,
        status: outcome.status,
        error: outcome.error,
      });
    }
    return outcome;
  },
});
