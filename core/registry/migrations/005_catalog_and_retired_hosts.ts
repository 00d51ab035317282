/**
 * 005_catalog_and_retired_hosts: the release catalog as the vendor publishes
 * it, and hosts a fleet no longer has.
 * - releases: one row per release however its version is spelled (`v1.5.0`
 *   is `1.5.0`: a unique index on the version without its `v`), a link to the
 *   release notes, and withdrawal (when, and why: a withdrawn release is
 *   refused for new upgrades and flagged where it runs);
 * - hosts: `retired_at`, set when `fleet apply` no longer lists the host. A
 *   retired host keeps its runs, backups and audit trail, but no rollout or
 *   compliance check touches it and no lease is granted on it; its instance id
 *   is free for an active host (unique among active hosts only).
 *
 * IMMUTABLE once released (see 001).
 */
export const name = 'catalog_and_retired_hosts';

export const sql = /* sql */ `
CREATE UNIQUE INDEX releases_canonical_version_key ON releases ((regexp_replace(version, '^v', '')));
ALTER TABLE releases
  ADD COLUMN link             text NULL CHECK (link ~ '^https?://' AND length(link) <= 2048),
  ADD COLUMN withdrawn_at     timestamptz NULL,
  ADD COLUMN withdrawn_reason text NULL,
  ADD COLUMN updated_at       timestamptz NOT NULL DEFAULT now(),
  -- withdrawn means there is a reason on record
  ADD CONSTRAINT releases_withdrawn_has_reason CHECK ((withdrawn_at IS NULL) = (withdrawn_reason IS NULL));

ALTER TABLE hosts ADD COLUMN retired_at timestamptz NULL;
ALTER TABLE hosts DROP CONSTRAINT hosts_instance_id_key;
CREATE UNIQUE INDEX hosts_active_instance_id_key ON hosts (instance_id) WHERE retired_at IS NULL;
CREATE INDEX hosts_active_fleet_idx ON hosts (fleet_id, wave, id) WHERE retired_at IS NULL;
`;
