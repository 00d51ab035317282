/**
 * `RolloutStore` in memory, for unit tests of the rollout tasks (core/rollout.ts);
 * behaves like PgRolloutStore (contract: test/registry/contract).
 */
import { RolloutStatus } from '../../models';
import { FleetNotFoundError, RolloutConflictError, RolloutNotFoundError } from '../errors';
import { Actor, asJson, ExecutionArn, parse } from '../fields';
import type { FleetStore } from '../fleets/fleet-store';
import {
  RecordRolloutHostInput,
  StartRolloutInput,
  storedMessage,
  TaskToken,
  UpdateRolloutWaveInput,
  type Rollout,
  type RolloutHost,
  type RolloutStore,
  type RolloutWave,
} from './rollout-store';

interface Stored {
  rollout: Rollout;
  waves: RolloutWave[];
  hosts: Map<string, RolloutHost>;
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class InMemoryRolloutStore implements RolloutStore {
  readonly #rollouts = new Map<string, Stored>();
  readonly #fleets: Pick<FleetStore, 'getFleet' | 'getHost'>;
  readonly #now: () => number;

  /** `fleets` answers which fleets and hosts exist, as PgRolloutStore's foreign keys do. */
  constructor(options: { fleets: Pick<FleetStore, 'getFleet' | 'getHost'>; now?: () => number }) {
    this.#fleets = options.fleets;
    this.#now = options.now ?? Date.now;
  }

  async startRollout(input: StartRolloutInput): Promise<{ rollout: Rollout; resumed: boolean; previousStatus: RolloutStatus | null }> {
    const r = parse(StartRolloutInput, input, 'rollout');
    const now = this.#now();
    const stored = this.#rollouts.get(r.id);
    const planned = () =>
      r.waves.map((w) => ({ ...w, hostIds: [...w.hostIds], rolloutId: r.id, status: 'pending' as const, failed: 0, succeeded: 0 })).sort((a, b) => a.index - b.index);
    if (!stored) {
      await this.#fleets.getFleet(r.fleetId).catch(() => {
        throw new FleetNotFoundError(r.fleetId);
      });
      const rollout: Rollout = {
        id: r.id,
        fleetId: r.fleetId,
        targetVersion: r.targetVersion,
        status: 'created',
        failurePolicy: r.failurePolicy,
        attempt: 1,
        allowDestructive: r.allowDestructive,
        concurrency: r.concurrency,
        approvalToken: null,
        approvedBy: null,
        approvedAt: null,
        executionArn: r.executionArn,
        plan: asJson(r.plan),
        createdAt: now,
        updatedAt: now,
      };
      this.#rollouts.set(r.id, { rollout, waves: planned(), hosts: new Map() });
      return { rollout: structuredClone(rollout), resumed: false, previousStatus: null };
    }
    const current = stored.rollout;
    if (current.fleetId !== r.fleetId || current.targetVersion !== r.targetVersion) {
      throw new RolloutConflictError(
        `rollout ${r.id} is fleet ${current.fleetId} → ${current.targetVersion}, not ${r.fleetId} → ${r.targetVersion}`,
      );
    }
    if (current.executionArn === r.executionArn) return { rollout: structuredClone(current), resumed: current.attempt > 1, previousStatus: current.status };
    const previousStatus = current.status;
    Object.assign(current, {
      attempt: current.attempt + 1,
      status: 'running',
      executionArn: r.executionArn,
      approvalToken: null,
      updatedAt: now,
    });
    stored.waves = planned();
    return { rollout: structuredClone(current), resumed: true, previousStatus };
  }

  async findRollout(rolloutId: string): Promise<Rollout | null> {
    const stored = this.#rollouts.get(rolloutId);
    return stored ? structuredClone(stored.rollout) : null;
  }

  async getRollout(rolloutId: string): Promise<Rollout> {
    return structuredClone(this.#stored(rolloutId).rollout);
  }

  async listRollouts(filter: { fleetId?: string } = {}): Promise<Rollout[]> {
    return [...this.#rollouts.values()]
      .map((s) => s.rollout)
      .filter((r) => filter.fleetId === undefined || r.fleetId === filter.fleetId)
      .sort((a, b) => b.createdAt - a.createdAt || byId(b.id, a.id))
      .slice(0, 100)
      .map((r) => structuredClone(r));
  }

  async setRolloutStatus(rolloutId: string, status: RolloutStatus, executionArn?: string): Promise<void> {
    const s = parse(RolloutStatus, status, 'rollout status');
    this.#update(rolloutId, { status: s, approvalToken: null, ...(executionArn === undefined ? {} : { executionArn: parse(ExecutionArn, executionArn, 'execution ARN') }) });
  }

  async requestApproval(rolloutId: string, taskToken: string): Promise<void> {
    const token = parse(TaskToken, taskToken, 'task token');
    this.#update(rolloutId, { approvalToken: token, status: 'awaiting-approval' });
  }

  async approveRollout(rolloutId: string, approvedBy: string): Promise<void> {
    const by = parse(Actor, approvedBy, 'approver');
    this.#update(rolloutId, { approvalToken: null, approvedBy: by, approvedAt: this.#now(), status: 'running' });
  }

  async listRolloutWaves(rolloutId: string): Promise<RolloutWave[]> {
    return (this.#rollouts.get(rolloutId)?.waves ?? []).map((w) => structuredClone(w));
  }

  async getRolloutWave(rolloutId: string, index: number): Promise<RolloutWave> {
    return structuredClone(this.#wave(rolloutId, index));
  }

  async updateRolloutWave(rolloutId: string, index: number, update: UpdateRolloutWaveInput): Promise<void> {
    const u = parse(UpdateRolloutWaveInput, update, 'wave update');
    Object.assign(this.#wave(rolloutId, index), u);
  }

  async listRolloutHosts(rolloutId: string, filter: { wave?: number } = {}): Promise<RolloutHost[]> {
    return [...(this.#rollouts.get(rolloutId)?.hosts.values() ?? [])]
      .filter((h) => filter.wave === undefined || h.wave === filter.wave)
      .sort((a, b) => byId(a.hostId, b.hostId))
      .map((h) => structuredClone(h));
  }

  async recordRolloutHost(input: RecordRolloutHostInput): Promise<void> {
    const r = parse(RecordRolloutHostInput, input, 'rollout host result');
    const stored = this.#stored(r.rolloutId);
    await this.#fleets.getHost(r.hostId);
    stored.hosts.set(r.hostId, { ...r, message: storedMessage(r.message), updatedAt: this.#now() });
  }

  #stored(rolloutId: string): Stored {
    const stored = this.#rollouts.get(rolloutId);
    if (!stored) throw new RolloutNotFoundError(rolloutId);
    return stored;
  }

  #update(rolloutId: string, patch: Partial<Rollout>): void {
    Object.assign(this.#stored(rolloutId).rollout, patch, { updatedAt: this.#now() });
  }

  #wave(rolloutId: string, index: number): RolloutWave {
    const wave = this.#rollouts.get(rolloutId)?.waves.find((w) => w.index === index);
    if (!wave) throw new RolloutNotFoundError(`${rolloutId} wave ${index}`);
    return wave;
  }
}
