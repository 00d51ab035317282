/**
 * `TaskCallbacks` over Step Functions' SendTaskSuccess / SendTaskHeartbeat.
 * TaskTimedOut (the task already answered, timed out, or its execution
 * ended), TaskDoesNotExist and InvalidToken all mean the same to a waiting
 * step: nobody waits for this token any more
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html, Errors).
 */
import { SendTaskHeartbeatCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { StepOutcome } from '../models';
import type { TaskCallbacks } from './step-waits';

const CLOSED = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

const closedOr = <T>(value: T) => (err: unknown): T | 'closed' => {
  if (err instanceof Error && CLOSED.has(err.name)) return 'closed';
  throw err;
};

export class SfnTaskCallbacks implements TaskCallbacks {
  constructor(private readonly sfn: SFNClient) {}

  succeed(taskToken: string, output: StepOutcome): Promise<'answered' | 'closed'> {
    return this.sfn
      .send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }))
      .then(() => 'answered' as const, closedOr('answered' as const));
  }

  heartbeat(taskToken: string): Promise<'alive' | 'closed'> {
    return this.sfn.send(new SendTaskHeartbeatCommand({ taskToken })).then(() => 'alive' as const, closedOr('alive' as const));
  }
}
