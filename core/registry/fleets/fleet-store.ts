/**
 * The fleets port: fleets and their hosts (configuration, the version each
 * host was last seen running, and the operator quarantine). A host's lease
 * lives in the leases port; only its counter (`leaseSeq`) is shown here.
 */
import { z } from 'zod';
import { ComposeDir, DatabaseMode, FleetId, HealthUrl, HostId, InstanceId, Tier, Version } from '../../models';
import { JsonObject } from '../fields';

export const UpsertFleetInput = z.object({
  id: FleetId,
  appProfile: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('semaphor'),
  /** undefined keeps the stored value; null clears it. */
  desiredVersion: Version.nullable().optional(),
  config: JsonObject.default({}),
});
export type UpsertFleetInput = z.input<typeof UpsertFleetInput>;

export interface Fleet {
  id: string;
  appProfile: string;
  desiredVersion: string | null;
  config: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export const UpsertHostInput = z.object({
  id: HostId,
  fleetId: FleetId,
  instanceId: InstanceId,
  tier: Tier,
  databaseMode: DatabaseMode,
  composeDir: ComposeDir,
  healthUrl: HealthUrl,
  wave: z.number().int().min(0).max(1000).nullable().optional(),
});
export type UpsertHostInput = z.input<typeof UpsertHostInput>;

export interface Host {
  id: string;
  fleetId: string;
  instanceId: string;
  tier: Tier;
  databaseMode: DatabaseMode;
  composeDir: string;
  healthUrl: string;
  /** The wave the fleet file pins the host to, if any. */
  wave: number | null;
  observedVersion: string | null;
  observedAt: number | null;
  /** Quarantined (ROLLBACK_FAILED): no lease is granted until an operator unlocks it. */
  locked: boolean;
  lockedReason: string | null;
  /** Last lease token handed out for this host. */
  leaseSeq: number;
  createdAt: number;
  updatedAt: number;
}

export interface FleetStore {
  upsertFleet(input: UpsertFleetInput): Promise<Fleet>;
  /** @throws FleetNotFoundError */
  getFleet(fleetId: string): Promise<Fleet>;
  listFleets(): Promise<Fleet[]>;
  /** @throws FleetNotFoundError */
  setDesiredVersion(fleetId: string, version: string | null): Promise<Fleet>;

  /** Creates or updates a host's configuration; never touches observed version, lock or lease state. */
  upsertHost(input: UpsertHostInput): Promise<Host>;
  /** @throws HostNotFoundError */
  getHost(hostId: string): Promise<Host>;
  listHosts(filter?: { fleetId?: string }): Promise<Host[]>;
  /** `null` when the host runs no single version (mixed or stopped). @throws HostNotFoundError */
  recordObservedVersion(hostId: string, version: string | null): Promise<Host>;
  /** Quarantine a host (ROLLBACK_FAILED). Audited. @throws HostNotFoundError */
  lockHost(hostId: string, reason: string, actor?: string): Promise<Host>;
  /** Lift the quarantine. Audited with the operator as actor. @throws HostNotFoundError */
  unlockHost(hostId: string, actor: string): Promise<Host>;
}
