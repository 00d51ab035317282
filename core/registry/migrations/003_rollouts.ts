/**
 * 003_rollouts: what a fleet rollout needs to resume, gate and report.
 * - rollouts: the attempt counter (one execution per attempt), consent, the
 *   approval task token while production waits, and who approved;
 * - rollout_waves: the wave's name and failure budget;
 * - rollout_hosts: each host's result in the rollout, including hosts that
 *   never got a run (refused at BeginRun: locked, quarantined).
 *
 * IMMUTABLE once released (see 001).
 */
export const name = 'rollouts';

export const sql = /* sql */ `
ALTER TABLE rollouts
  ADD COLUMN attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  ADD COLUMN allow_destructive boolean NOT NULL DEFAULT false,
  ADD COLUMN concurrency integer NOT NULL DEFAULT 5 CHECK (concurrency > 0),
  ADD COLUMN approval_token text NULL,
  ADD COLUMN approved_by text NULL,
  ADD COLUMN approved_at timestamptz NULL;

ALTER TABLE rollout_waves
  ADD COLUMN name text NOT NULL DEFAULT '',
  ADD COLUMN max_failures integer NOT NULL DEFAULT 0 CHECK (max_failures >= 0);

CREATE TABLE rollout_hosts (
  rollout_id    text NOT NULL REFERENCES rollouts (id),
  host_id       text NOT NULL REFERENCES hosts (id),
  wave_index    integer NOT NULL,
  attempt       integer NOT NULL,
  result        text NOT NULL CHECK (result IN ('succeeded', 'failed', 'unreachable', 'refused', 'rolled-back', 'rollback-failed')),
  outcome       text NULL,
  message       text NULL,
  execution_arn text NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rollout_id, host_id)
);
CREATE INDEX rollout_hosts_wave_idx ON rollout_hosts (rollout_id, wave_index);
`;
