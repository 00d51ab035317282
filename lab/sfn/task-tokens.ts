/**
 * Task tokens of `.waitForTaskToken` integrations: the token a Task attempt
 * hands out in `$$.Task.Token`, the wait for SendTaskSuccess / SendTaskFailure
 * (with HeartbeatSeconds renewed by SendTaskHeartbeat), and the errors Step
 * Functions answers for a token that does not exist or is already closed.
 */
import { randomBytes } from 'node:crypto';
import { AwsServiceError } from '../aws-json';
import type { LabClock } from '../clock';
import type { Json } from './definition';
import { ExecutionClosedError, statesTimeoutError, TaskError } from './errors';

interface TokenOutcome {
  output?: string;
  error?: string;
  cause?: string;
}

interface TokenEntry {
  executionArn: string;
  stateName: string;
  state: 'open' | 'closed';
  answered?: boolean;
  settle?: (outcome: TokenOutcome) => void;
  early?: TokenOutcome;
  heartbeat?: () => void;
}

export const newTaskToken = (): string => `${randomBytes(24).toString('base64url')}`;

export class TaskTokens {
  private readonly tokens = new Map<string, TokenEntry>();

  open(token: string, executionArn: string, stateName: string): void {
    this.tokens.set(token, { executionArn, stateName, state: 'open' });
  }

  /**
   * Resolves with the output SendTaskSuccess gave, or throws the error
   * SendTaskFailure gave. Without a heartbeat within `heartbeatSeconds` it
   * throws the library's States.Timeout and calls `onHeartbeatTimeout`.
   *
   * HeartbeatSeconds is scaled as a limit on real-speed work
   * (`clock.workLimit`): what sends the heartbeats (run-events' safety poll,
   * a Lambda walking every open wait over the registry and SSM) runs at real
   * speed, so on two loaded cores a 10-minute heartbeat at 1/50 (12 s) was
   * missed while AWS's five polls would all have arrived (the faults suites'
   * "timed-out at preflight").
   */
  async wait(token: string, heartbeatSeconds: number | undefined, clock: LabClock, signal: AbortSignal, onHeartbeatTimeout: (cause: string) => void): Promise<Json> {
    const entry = this.tokens.get(token)!;
    const TimeoutError = await statesTimeoutError();
    const outcome = await new Promise<TokenOutcome>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        if (!heartbeatSeconds) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          // HeartbeatSeconds elapsed without SendTaskHeartbeat: States.Timeout.
          const e = new TimeoutError();
          e.message = 'States.Timeout';
          reject(e); // before the attempt's timeout aborts the signal, which would reject as "closed"
          onHeartbeatTimeout(`no heartbeat within HeartbeatSeconds (${heartbeatSeconds})`);
        }, clock.workLimit(heartbeatSeconds * 1000));
      };
      const done = (o: TokenOutcome) => {
        clearTimeout(timer);
        resolve(o);
      };
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new ExecutionClosedError('task closed'));
      }, { once: true });
      if (entry.early) return done(entry.early);
      entry.settle = done;
      entry.heartbeat = arm;
      arm();
    });
    if (outcome.output !== undefined) return JSON.parse(outcome.output) as Json;
    throw new TaskError(outcome.error ?? '', outcome.cause ?? '');
  }

  succeed(taskToken: string, output: string): void {
    this.settle(taskToken, { output });
  }

  fail(taskToken: string, error: string, cause: string): void {
    this.settle(taskToken, { error, cause });
  }

  heartbeat(taskToken: string): void {
    this.openEntry(taskToken).heartbeat?.();
  }

  close(token: string): void {
    const entry = this.tokens.get(token);
    if (entry) entry.state = 'closed';
  }

  /** Every token of a closing execution stops accepting answers. */
  closeFor(executionArn: string): void {
    for (const [token, t] of this.tokens) if (t.executionArn === executionArn) this.close(token);
  }

  private openEntry(taskToken: string): TokenEntry {
    const entry = typeof taskToken === 'string' ? this.tokens.get(taskToken) : undefined;
    if (!entry) throw new AwsServiceError('TaskDoesNotExist', 'Task Token does not exist');
    if (entry.state === 'closed') throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: the task for this token has already been closed');
    return entry;
  }

  private settle(taskToken: string, outcome: TokenOutcome): void {
    const entry = this.openEntry(taskToken);
    if (entry.answered) throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: the task for this token has already been completed');
    entry.answered = true;
    if (entry.settle) entry.settle(outcome);
    else entry.early = outcome; // the callback beat the integration's own response
  }
}
