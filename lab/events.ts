/**
 * The lab's EventBridge default bus: the template's rules (`eventRules`:
 * EventPattern; `schedules` of kind events-rule: ScheduleExpression) deliver
 * to their Lambda targets through the lab's Lambda runtime, as AWS does.
 *
 * - Events come from the lab's own services: SSM's "EC2 Command Invocation
 *   Status-change Notification" for every invocation status change, and Step
 *   Functions' "Step Functions Execution Status Change" when an execution
 *   closes, shaped as the AWS examples show them
 *   (https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html,
 *   https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html).
 * - Patterns match as EventBridge matches them
 *   (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html):
 *   every field named must match; an array lists the values allowed (a value
 *   that is itself an array matches when any element does); `prefix`,
 *   `anything-but` and `exists` filters; nested objects match nested fields.
 * - A target is invoked asynchronously; a function error is retried twice,
 *   one and then two minutes later (Lambda asynchronous invocation,
 *   https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html), on
 *   the lab clock.
 * - Delivery of AWS service events is best effort
 *   (https://docs.aws.amazon.com/eventbridge/latest/ref/event-delivery-level.html):
 *   `dropNext(n)` loses the next n events, so a test shows what the product
 *   does when one never arrives.
 * - Schedule rules (`rate(N minutes)`) fire every N minutes of lab time
 *   (`intervalScale` times the rate), or on demand with `fireSchedules()`.
 */
import { randomUUID } from 'node:crypto';
import type { LabClock } from './clock';
import type { LambdaRuntime } from './sfn/lambda-runtime';
import type { LabTemplate } from './template';

export interface BusEvent {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
  resources?: string[];
}

export interface LabEvents {
  /** Put an event on the default bus; resolves with the rules it matched (delivery goes on in the background). */
  put(event: BusEvent): string[];
  /** Fire every schedule rule with a Lambda target now (or those whose logical id starts with the prefix). */
  fireSchedules(filter?: { logicalIdPrefix?: string }): Promise<void>;
  /** Lose the next `n` events before any rule sees them (best-effort delivery). */
  dropNext(n: number): void;
  /** Every event put, delivered or dropped, oldest first. */
  delivered(): { event: Record<string, unknown>; rules: string[]; dropped: boolean; at: number }[];
  /** Resolves when every delivery started so far has ended. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface LabEventsOptions {
  template: LabTemplate;
  lambda: LambdaRuntime;
  clock: LabClock;
  account: string;
  region: string;
  /** Fire schedule rules at their rate on the lab clock (default true). */
  schedules?: boolean;
  log?: (line: string) => void;
}

type Pattern = Record<string, unknown>;

function matchesValue(filter: unknown, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((v) => matchesValue(filter, v));
  if (filter !== null && typeof filter === 'object') {
    const f = filter as Record<string, unknown>;
    if ('prefix' in f) return typeof value === 'string' && value.startsWith(String(f.prefix));
    if ('anything-but' in f) {
      const not = f['anything-but'];
      return value !== undefined && !(Array.isArray(not) ? not : [not]).some((n) => matchesValue(n, value));
    }
    return false;
  }
  return filter === value;
}

/** Does `event` match `pattern` (EventBridge semantics, the filters listed in the docblock)? */
export function matchesPattern(pattern: Pattern, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, filter]) => {
    const value = event[key];
    if (Array.isArray(filter)) {
      const exists = filter.find((f) => f !== null && typeof f === 'object' && 'exists' in (f as object)) as { exists: boolean } | undefined;
      if (exists) return exists.exists === (value !== undefined);
      return value !== undefined && filter.some((f) => matchesValue(f, value));
    }
    if (filter !== null && typeof filter === 'object') {
      return value !== null && typeof value === 'object' && !Array.isArray(value) && matchesPattern(filter as Pattern, value as Record<string, unknown>);
    }
    return false;
  });
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 };

export function startEvents(options: LabEventsOptions): LabEvents {
  const { template, lambda, clock } = options;
  const log = options.log ?? (() => undefined);
  const rules = Object.values(template.eventRules).filter((r) => (r.state ?? 'ENABLED') === 'ENABLED');
  const schedules = Object.values(template.schedules).filter(
    (s) => s.kind === 'events-rule' && (s.state ?? 'ENABLED') === 'ENABLED' && s.targets.some((t) => lambda.resolve(t.arn)),
  );
  const history: { event: Record<string, unknown>; rules: string[]; dropped: boolean; at: number }[] = [];
  const inFlight = new Set<Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  let drop = 0;
  let closed = false;

  const deliver = (functionArn: string, payload: unknown, what: string) => {
    const run = (async () => {
      // an error is retried twice, after one and two minutes (Lambda asynchronous invocation)
      for (const waitMs of [0, 60_000, 120_000]) {
        if (waitMs > 0) await clock.sleep(waitMs);
        if (closed) return;
        try {
          const res = await lambda.invoke(functionArn, payload);
          if (!res.functionError) return;
          log(`events: ${what} → ${functionArn} failed: ${res.functionError.errorType}`);
        } catch (err) {
          log(`events: ${what} → ${functionArn} not delivered: ${(err as Error).message}`);
        }
      }
    })();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };

  const put = (event: BusEvent): string[] => {
    const full: Record<string, unknown> = {
      version: '0',
      id: randomUUID(),
      'detail-type': event['detail-type'],
      source: event.source,
      account: options.account,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: options.region,
      resources: event.resources ?? [],
      detail: event.detail,
    };
    if (drop > 0) {
      drop -= 1;
      history.push({ event: full, rules: [], dropped: true, at: Date.now() });
      return [];
    }
    const matched = rules.filter((r) => matchesPattern(r.eventPattern, full));
    history.push({ event: full, rules: matched.map((r) => r.logicalId), dropped: false, at: Date.now() });
    for (const rule of matched) {
      for (const t of rule.targets) deliver(t.arn, t.input !== undefined ? JSON.parse(t.input) : full, `${rule.logicalId} (${event['detail-type']})`);
    }
    return matched.map((r) => r.logicalId);
  };

  const fireOne = (schedule: (typeof schedules)[number]) => {
    for (const t of schedule.targets.filter((x) => lambda.resolve(x.arn))) {
      const scheduled = { version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', account: options.account, time: new Date().toISOString(), region: options.region, resources: [], detail: {} };
      deliver(t.arn, t.input !== undefined ? JSON.parse(t.input) : scheduled, `${schedule.logicalId} (schedule)`);
    }
  };

  if (options.schedules !== false) {
    for (const schedule of schedules) {
      const m = RATE.exec(schedule.scheduleExpression ?? '');
      if (!m) continue;
      const timer = setInterval(() => fireOne(schedule), clock.real(Number(m[1]) * UNIT_MS[m[2]!]!));
      timer.unref();
      timers.push(timer);
    }
  }

  const idle = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };

  return {
    put,
    fireSchedules: async (filter = {}) => {
      for (const s of schedules) if (!filter.logicalIdPrefix || s.logicalId.startsWith(filter.logicalIdPrefix)) fireOne(s);
      await idle();
    },
    dropNext: (n) => {
      drop = Math.max(0, Math.trunc(n));
    },
    delivered: () => history.map((h) => ({ ...h })),
    idle,
    close: async () => {
      closed = true;
      for (const t of timers) clearInterval(t);
      await idle();
    },
  };
}
