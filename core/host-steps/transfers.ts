/**
 * Completes the transfer input of a backup or restore step from the keys the
 * state machine carries (prepare-backup's target; begin-run's restore
 * source) with where the backup bucket is. Nothing is presigned: the host
 * signs its own requests with its own role, whose policy scopes it to its
 * own prefix, so the command's parameters grant nothing to whoever reads
 * them (ListCommands returns every parameter). Keys are checked to belong to
 * the run's host first, so a crafted input cannot point a host at another
 * host's backup.
 */
import { z } from 'zod';
import { checkBackupKeys } from '../backup-storage/layout';
import type { HostRunContext, HostStep } from '../models';
import { InvalidStepInputError } from './errors';
import { StepExtra, transferOf } from './parameters';

/** The backup bucket the hosts read and write, and its region. */
export interface TransferLocation {
  bucket: string;
  region: string;
}

const Keys = z.looseObject({ dataKey: z.string(), configKey: z.string() });

export function resolveTransfers(step: HostStep, run: HostRunContext, extraInput: unknown, location: TransferLocation | undefined): unknown {
  if (step !== 'backup' && step !== 'restore') return extraInput;
  const parsed = StepExtra.safeParse(extraInput ?? {});
  if (!parsed.success) return extraInput; // buildStepParameters reports it, naming the fields
  const extra = parsed.data;
  const transfer = transferOf(step, extra);
  if (transfer === undefined) return extraInput;
  const field = step === 'backup' ? 'extra.target' : 'extra.backup';
  const fail = (what: string): never => {
    throw new InvalidStepInputError(`step ${step}: ${what}`, [field]);
  };
  const keys = Keys.safeParse(transfer);
  if (!keys.success) return fail(`${step === 'backup' ? 'target' : 'backup'} needs dataKey and configKey`);
  try {
    checkBackupKeys(keys.data, run.hostId);
  } catch (err) {
    if ((err as Error).name === 'InvalidBackupKeyError') fail((err as Error).message);
    throw err;
  }
  if (!location) return fail('no backup bucket configured');
  const completed = { ...keys.data, bucket: location.bucket, region: location.region };
  return step === 'backup' ? { ...extra, backup: undefined, target: completed } : { ...extra, restore: undefined, backup: completed };
}
