/**
 * The fleet file: what an operator writes to describe a fleet and how it
 * upgrades. YAML, checked by zod; every error names its field, and nothing is
 * written unless the whole file is valid.
 */
import { z } from 'zod';
import { InputFileError, parseInputFile } from './input-file';
import { ComposeDir, DATABASE_MODES, DEFAULT_HEALTH_CHECK, FailurePolicy, FleetId, HealthCheckFields, healthCheckProblem, HealthUrl, HostId, InstanceId, TIERS, Version } from './models';
import { DEFAULT_WAVES, planWaves, WavePlanError, type PlannedWave } from './waves';

const Percent = z.string().regex(/^(100|[1-9]?[0-9])%$/, { message: 'must be a percentage like 25%' });
const Count = z.number().int().min(0).max(100_000);

/** How many hosts of its tier a wave takes: a count, or a percentage of the tier. */
export const WaveSize = z.union([Count.min(1), Percent]);
/** Failures a wave tolerates before it stops: a count, or a percentage of the wave. */
export const FailureThreshold = z.union([Count, Percent]);

export const FleetHost = z
  .object({
    id: HostId,
    instanceId: InstanceId,
    tier: z.enum(TIERS, { message: 'tier must be staging or production' }),
    databaseMode: z.enum(DATABASE_MODES, { message: 'databaseMode must be embedded or external' }),
    composeDir: ComposeDir,
    healthUrl: HealthUrl,
    /** Pin the host to a wave (index into `waves`). */
    wave: z.number().int().min(0).optional(),
  })
  .strict();

export const FleetWave = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, { message: 'must be a wave name like canary (lower-case letters, digits and dashes, at most 31)' }).optional(),
    tier: z.enum(TIERS, { message: 'tier must be staging or production' }),
    hosts: WaveSize,
    failureThreshold: FailureThreshold.default(0),
  })
  .strict();

export const FleetFile = z
  .object({
    fleet: FleetId,
    appProfile: z.literal('semaphor').default('semaphor'),
    desiredVersion: Version.optional(),
    hosts: z.array(FleetHost).min(1).max(10_000),
    waves: z.array(FleetWave).min(1).max(50).optional(),
    bakeMinutes: z.number().int().min(0).max(24 * 60).default(0),
    concurrency: z.number().int().min(1).max(500).default(5),
    failurePolicy: FailurePolicy.default('halt'),
    approvalBeforeProduction: z.boolean().default(false),
    /** Whether an unreachable host counts against the wave's failure threshold. */
    unreachableCountsAsFailure: z.boolean().default(true),
    /** Health check after a restart: consecutive passes, seconds between them, overall timeout. */
    healthCheck: HealthCheckFields.partial().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Map<string, number>();
    const seenInstances = new Map<string, number>();
    f.hosts.forEach((h, i) => {
      if (seen.has(h.id)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'id'], message: `duplicate host id ${h.id} (also hosts.${seen.get(h.id)})` });
      seen.set(h.id, i);
      if (seenInstances.has(h.instanceId)) {
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'instanceId'], message: `instance ${h.instanceId} is already host ${f.hosts[seenInstances.get(h.instanceId)!]!.id}` });
      }
      seenInstances.set(h.instanceId, i);
      if (h.wave !== undefined) {
        const wave = f.waves?.[h.wave];
        if (!wave) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'wave'], message: `wave ${h.wave} does not exist` });
        else if (wave.tier !== h.tier) {
          ctx.addIssue({ code: 'custom', path: ['hosts', i, 'wave'], message: `host is ${h.tier} but wave ${h.wave} is ${wave.tier}` });
        }
      }
    });
    if (f.waves) {
      const firstProd = f.waves.findIndex((w) => w.tier === 'production');
      f.waves.forEach((w, i) => {
        if (w.tier === 'staging' && firstProd !== -1 && i > firstProd) {
          ctx.addIssue({ code: 'custom', path: ['waves', i, 'tier'], message: 'staging waves must come before production waves' });
        }
      });
      for (const tier of TIERS) {
        const tierHosts = f.hosts.filter((h) => h.tier === tier);
        if (tierHosts.length > 0 && !f.waves.some((w) => w.tier === tier)) {
          ctx.addIssue({ code: 'custom', path: ['waves'], message: `no wave takes the ${tierHosts.length} ${tier} host(s)` });
        }
      }
    }
    // begin-run checks the policy as a whole (defaults, then the fleet's): so does apply
    if (f.healthCheck) {
      const problem = healthCheckProblem({ ...DEFAULT_HEALTH_CHECK, ...f.healthCheck });
      if (problem) ctx.addIssue({ code: 'custom', path: ['healthCheck'], message: problem });
    }
    checkThresholds(f, ctx);
  });
export type FleetFile = z.infer<typeof FleetFile>;

/**
 * A wave whose failure threshold is as large as the wave can never fail: every
 * host of it may fail and the rollout goes on. Judged on the waves this file's
 * hosts make (empty waves are dropped, as the rollout drops them).
 */
function checkThresholds(f: Pick<FleetFile, 'fleet' | 'hosts' | 'waves'>, ctx: z.RefinementCtx): void {
  const specs = f.waves ?? DEFAULT_WAVES;
  let planned: PlannedWave[];
  try {
    planned = planWaves(f.fleet, f.hosts.map((h) => ({ id: h.id, tier: h.tier, wave: h.wave })), specs);
  } catch (err) {
    if (err instanceof WavePlanError) return; // a duplicate host or a misplaced pin, named by the checks above
    throw err;
  }
  for (const w of planned) {
    if (w.maxFailures < w.hostIds.length) continue;
    const size = `${w.hostIds.length} host${w.hostIds.length === 1 ? '' : 's'}`;
    ctx.addIssue({
      code: 'custom',
      path: f.waves ? ['waves', w.spec, 'failureThreshold'] : ['waves'],
      message: `wave ${w.name} takes ${size} and tolerates ${w.maxFailures} failure${w.maxFailures === 1 ? '' : 's'}, so it could never fail: use at most ${w.hostIds.length - 1}`,
    });
  }
}

export class FleetFileError extends InputFileError {
  override name = 'FleetFileError';
}

/** Parse and check a fleet file; throws FleetFileError naming every bad field. */
export function parseFleetFile(text: string, file = 'fleet file'): FleetFile {
  return parseInputFile(FleetFile, text, (problems) => new FleetFileError(problems, file));
}
