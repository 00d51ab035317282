/**
 * 002_compliance: every version-parity check and every host's result in it,
 * kept (never overwritten) so drift over time can be read back.
 *
 * IMMUTABLE once released (the migrator checks its sha256).
 */
export const name = 'compliance';

export const sql = /* sql */ `
CREATE TABLE compliance_checks (
  id             uuid PRIMARY KEY,
  -- null: the check covered every fleet
  fleet_id       text NULL REFERENCES fleets (id),
  execution_arn  text NULL,
  status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  host_count     integer NOT NULL DEFAULT 0 CHECK (host_count >= 0),
  compliant      integer NULL CHECK (compliant >= 0),
  -- UNKNOWN hosts are counted here too: an unreachable host is never "fine"
  non_compliant  integer NULL CHECK (non_compliant >= 0),
  unknown        integer NULL CHECK (unknown >= 0),
  report_key     text NULL,
  message        text NULL,
  -- per fleet: the drift event of this check ('drift-appeared' | 'drift-cleared') and when it was published
  drift          jsonb NOT NULL DEFAULT '{}'::jsonb,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz NULL,
  CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX compliance_checks_finished_idx ON compliance_checks (finished_at DESC) WHERE status = 'completed';

CREATE TABLE compliance_results (
  check_id        uuid NOT NULL REFERENCES compliance_checks (id),
  host_id         text NOT NULL REFERENCES hosts (id),
  fleet_id        text NOT NULL REFERENCES fleets (id),
  instance_id     text NOT NULL,
  state           text NOT NULL CHECK (state IN ('COMPLIANT', 'NON_COMPLIANT', 'UNKNOWN')),
  reasons         text[] NOT NULL DEFAULT '{}',
  unknown_cause   text NULL,
  details         text[] NOT NULL DEFAULT '{}',
  desired_version text NULL,
  running_version text NULL,
  running         jsonb NOT NULL DEFAULT '{}'::jsonb,
  pinned          jsonb NOT NULL DEFAULT '{}'::jsonb,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (check_id, host_id),
  -- the states mean what they say: reasons only when non-compliant, a cause only when unknown
  CHECK ((state = 'NON_COMPLIANT') = (cardinality(reasons) > 0)),
  CHECK ((state = 'UNKNOWN') = (unknown_cause IS NOT NULL))
);
CREATE INDEX compliance_results_host_idx ON compliance_results (host_id, recorded_at DESC);
CREATE INDEX compliance_results_fleet_idx ON compliance_results (fleet_id, check_id);
`;
