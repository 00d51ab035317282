/**
 * 006_step_waits: the task tokens of host steps waiting for their SSM command
 * (state-machines/host-step.ts, `.waitForTaskToken`). send-step writes one row
 * per task attempt once the command is sent; run-events answers the token
 * when the command's status-change event arrives (or the safety poll finds it
 * ended) and closes the row. `sent` is the SentCommand send-step returned
 * (command id, deadline), so the answer is classified exactly as poll-step did.
 * Rows carry no secret: the token is an opaque handle only Step Functions
 * accepts, and the command's parameters are not stored.
 *
 * IMMUTABLE once released (see 001).
 */
export const name = 'step_waits';

export const sql = /* sql */ `
CREATE TABLE step_waits (
  task_token     text PRIMARY KEY CHECK (length(task_token) BETWEEN 1 AND 2048),
  command_id     text NOT NULL,
  run_id         uuid NOT NULL REFERENCES host_runs (id),
  host_id        text NOT NULL REFERENCES hosts (id),
  lease_token    bigint NOT NULL CHECK (lease_token > 0),
  step           text NOT NULL,
  run            jsonb NOT NULL,
  sent           jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  closed_at      timestamptz NULL,
  close_reason   text NULL CHECK (length(close_reason) <= 200),
  CHECK ((closed_at IS NULL) = (close_reason IS NULL))
);
CREATE INDEX step_waits_open_command_idx ON step_waits (command_id) WHERE closed_at IS NULL;
CREATE INDEX step_waits_open_run_idx ON step_waits (run_id) WHERE closed_at IS NULL;
`;
