/**
 * poll-step task. Event `{run, command}` → StepOutcome; the state machine's
 * Choice branches on `status` (Pending → wait and poll again).
 */
import { z } from 'zod';
import { HostRunContext, SentCommand, type StepOutcome } from '../../core/models';
import { asTransient, pollStep, S3CommandOutputReader, SsmCommandRunner, type PollStepDeps } from '../../core/host-steps';
import { s3Client, ssmClient } from '../shared/clients';
import { parseEnv, PollStepEnv } from '../shared/env';
import { createLogger } from '../shared/logger';
import { parseTaskInput } from '../shared/task-input';

export const PollStepEvent = z
  .object({ run: HostRunContext, command: SentCommand })
  .refine((e) => e.command.instanceId === e.run.instanceId, {
    message: 'command.instanceId differs from run.instanceId',
    path: ['command', 'instanceId'],
  });
export type PollStepEvent = z.input<typeof PollStepEvent>;

const logger = createLogger('poll-step');

function defaultDeps(): PollStepDeps {
  const env = parseEnv(PollStepEnv);
  if (env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel(env.POWERTOOLS_LOG_LEVEL);
  return {
    runner: new SsmCommandRunner(ssmClient()),
    output: new S3CommandOutputReader(s3Client()),
    outputBucket: env.OUTPUT_BUCKET,
  };
}

export function createHandler(makeDeps: () => PollStepDeps = defaultDeps) {
  let deps: PollStepDeps | undefined;
  return async (event: unknown): Promise<StepOutcome> => {
    const input = parseTaskInput(PollStepEvent, event);
    deps ??= makeDeps();
    let outcome: StepOutcome;
    try {
      outcome = await pollStep(input, deps);
    } catch (err) {
      // a lost connection is retried by the state machine, never taken for the step's outcome
      throw asTransient(err);
    }
    if (outcome.status !== 'Pending') {
      // error is a code; message is redacted but still host text, so it stays out of logs.
      logger.info('step ended', {
        runId: input.run.runId,
        hostId: input.run.hostId,
        step: outcome.step,
        commandId: outcome.commandId,
        status: outcome.status,
        error: outcome.error,
      });
    }
    return outcome;
  };
}

export const handler = createHandler();
