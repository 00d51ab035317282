/**
 * 001_initial: the registry's first schema.
 *
 * IMMUTABLE once released: the migrator stores a sha256 of this text and
 * refuses to run against a database where it differs. Change the schema with
 * a new numbered migration instead.
 */
export const name = 'initial';

export const sql = /* sql */ `
CREATE TABLE fleets (
  id              text PRIMARY KEY,
  app_profile     text NOT NULL DEFAULT 'semaphor',
  desired_version text NULL,
  config          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE hosts (
  id               text PRIMARY KEY,
  fleet_id         text NOT NULL REFERENCES fleets (id),
  instance_id      text NOT NULL UNIQUE,
  tier             text NOT NULL CHECK (tier IN ('staging', 'production')),
  database_mode    text NOT NULL CHECK (database_mode IN ('embedded', 'external')),
  compose_dir      text NOT NULL,
  health_url       text NOT NULL,
  wave             integer NULL,
  observed_version text NULL,
  observed_at      timestamptz NULL,
  locked           boolean NOT NULL DEFAULT false,
  locked_reason    text NULL,
  -- fencing counter: every lease takes lease_seq + 1, so tokens are never reused
  lease_seq        bigint NOT NULL DEFAULT 0 CHECK (lease_seq >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hosts_fleet_id_idx ON hosts (fleet_id);

CREATE TABLE releases (
  version     text PRIMARY KEY,
  destructive boolean NOT NULL DEFAULT false,
  -- versions a host must have passed through before it may run this one
  requires    text[] NOT NULL DEFAULT '{}',
  notes       text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rollouts (
  id             text PRIMARY KEY,
  fleet_id       text NOT NULL REFERENCES fleets (id),
  target_version text NOT NULL,
  status         text NOT NULL,
  failure_policy text NOT NULL CHECK (failure_policy IN ('halt', 'rollback-wave', 'rollback-all')),
  plan           jsonb NOT NULL DEFAULT '{}'::jsonb,
  execution_arn  text NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollouts_fleet_id_idx ON rollouts (fleet_id);

CREATE TABLE rollout_waves (
  rollout_id text NOT NULL REFERENCES rollouts (id),
  wave_index integer NOT NULL CHECK (wave_index >= 0),
  tier       text NOT NULL CHECK (tier IN ('staging', 'production')),
  host_ids   text[] NOT NULL DEFAULT '{}',
  status     text NOT NULL,
  failed     integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
  succeeded  integer NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
  PRIMARY KEY (rollout_id, wave_index)
);

CREATE TABLE host_runs (
  id             uuid PRIMARY KEY,
  host_id        text NOT NULL REFERENCES hosts (id),
  rollout_id     text NULL REFERENCES rollouts (id),
  kind           text NOT NULL CHECK (kind IN ('upgrade', 'rollback')),
  from_version   text NULL,
  target_version text NOT NULL,
  status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  outcome        text NULL,
  failed_step    text NULL,
  command_id     text NULL,
  output_uri     text NULL,
  message        text NULL,
  execution_arn  text NULL,
  lease_token    bigint NOT NULL CHECK (lease_token > 0),
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz NULL,
  -- a finished run has a finish time and a running one has none
  CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX host_runs_host_id_idx ON host_runs (host_id, started_at DESC);
CREATE INDEX host_runs_rollout_id_idx ON host_runs (rollout_id) WHERE rollout_id IS NOT NULL;

CREATE TABLE run_steps (
  run_id      uuid NOT NULL REFERENCES host_runs (id),
  step        text NOT NULL,
  command_id  text NOT NULL,
  status      text NOT NULL,
  result      jsonb NULL,
  error       text NULL,
  message     text NULL,
  output_uri  text NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, step)
);

CREATE TABLE backups (
  id            uuid PRIMARY KEY,
  host_id       text NOT NULL REFERENCES hosts (id),
  run_id        uuid NULL REFERENCES host_runs (id),
  -- the application version the data belongs to: a restore pins this version back
  version       text NOT NULL,
  mode          text NOT NULL CHECK (mode IN ('embedded', 'external')),
  data_key      text NOT NULL,
  data_format   text NOT NULL CHECK (data_format IN ('tar.gz', 'pgdump')),
  data_bytes    bigint NULL CHECK (data_bytes > 0),
  data_sha256   text NULL CHECK (data_sha256 ~ '^[a-f0-9]{64}$'),
  data_entries  integer NULL CHECK (data_entries > 0),
  config_key    text NOT NULL,
  config_bytes  bigint NULL CHECK (config_bytes > 0),
  config_sha256 text NULL CHECK (config_sha256 ~ '^[a-f0-9]{64}$'),
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'failed')),
  failure       text NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  verified_at   timestamptz NULL,
  -- "verified" must mean something: sizes, checksums and a non-empty listing are on record
  CONSTRAINT backups_verified_complete CHECK (
    status <> 'verified' OR (
      data_bytes IS NOT NULL AND data_sha256 IS NOT NULL AND data_entries IS NOT NULL
      AND config_bytes IS NOT NULL AND config_sha256 IS NOT NULL AND verified_at IS NOT NULL
    )
  )
);
CREATE INDEX backups_host_id_idx ON backups (host_id, created_at DESC);

CREATE TABLE host_leases (
  host_id     text PRIMARY KEY REFERENCES hosts (id),
  token       bigint NOT NULL CHECK (token > 0),
  holder      text NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);

CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL,
  action     text NOT NULL,
  -- no foreign keys: the trail must outlive what it talks about
  host_id    text NULL,
  rollout_id text NULL,
  run_id     uuid NULL,
  details    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_host_id_idx ON audit_log (host_id, id DESC) WHERE host_id IS NOT NULL;
CREATE INDEX audit_log_run_id_idx ON audit_log (run_id, id DESC) WHERE run_id IS NOT NULL;
CREATE INDEX audit_log_rollout_id_idx ON audit_log (rollout_id, id DESC) WHERE rollout_id IS NOT NULL;

-- Append-only, enforced by the database so no code path (or operator with
-- the application's role) can rewrite history.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
`;
