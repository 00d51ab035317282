/**
 * The lab's EventBridge Scheduler: the schedules of the synthesized template
 * (`template.schedules`) start their Step Functions targets, on demand
 * (`fireSchedules()`) or every `intervalMs` (a lab hour is not an hour).
 * Only ENABLED schedules whose target is a state machine fire; the target's
 * `Input` is passed as the execution input, as Scheduler does.
 */
import type { LabSchedule, LabTemplate } from './template';

export interface SchedulerTarget {
  startExecution(input: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string };
}

export interface LabScheduler {
  /** Schedules with a state machine target. */
  schedules(): LabSchedule[];
  /** Start every (or the named) schedule's target now; returns the execution ARNs started. */
  fireSchedules(filter?: { logicalIdPrefix?: string }): string[];
  close(): Promise<void>;
}

export interface LabSchedulerOptions {
  template: LabTemplate;
  target: SchedulerTarget;
  /** Fire every schedule this often; default never (on demand only). */
  intervalMs?: number;
  log?: (line: string) => void;
}

const isStateMachine = (arn: string) => /^arn:aws[a-z-]*:states:[^:]+:[0-9]{12}:stateMachine:/.test(arn);

export function startScheduler(options: LabSchedulerOptions): LabScheduler {
  const all = Object.values(options.template.schedules).filter(
    (s) => (s.state ?? 'ENABLED') === 'ENABLED' && s.targets.some((t) => isStateMachine(t.arn)),
  );
  let fired = 0;
  const fire = (filter: { logicalIdPrefix?: string } = {}): string[] => {
    const started: string[] = [];
    for (const schedule of all) {
      if (filter.logicalIdPrefix && !schedule.logicalId.startsWith(filter.logicalIdPrefix)) continue;
      for (const t of schedule.targets.filter((x) => isStateMachine(x.arn))) {
        // Scheduler names executions itself; a unique name per firing, like AWS's
        const name = `${schedule.name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48)}-${Date.now().toString(36)}-${fired++}`;
        const { executionArn } = options.target.startExecution({ stateMachineArn: t.arn, name, input: t.input ?? '{}' });
        options.log?.(`schedule ${schedule.name} started ${executionArn}`);
        started.push(executionArn);
      }
    }
    return started;
  };
  const timer =
    options.intervalMs && options.intervalMs > 0
      ? setInterval(() => {
          try {
            fire();
          } catch (err) {
            options.log?.(`scheduler: ${(err as Error).message}`);
          }
        }, options.intervalMs)
      : undefined;
  timer?.unref();
  return {
    schedules: () => [...all],
    fireSchedules: fire,
    close: async () => {
      if (timer) clearInterval(timer);
    },
  };
}
