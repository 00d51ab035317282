/**
 * Fills in the presigned URLs of a backup or restore step from the keys the
 * state machine carries (prepare-backup's target; begin-run's restore
 * source). Keys are checked to belong to the run's host first, so a crafted
 * input cannot make send-step presign another host's backup.
 */
import { z } from 'zod';
import { checkBackupKeys } from '../backup-storage/layout';
import type { HostRunContext, HostStep } from '../models';
import { InvalidStepInputError } from './errors';
import { StepExtra, transferOf } from './parameters';
import type { TransferPresigner } from './ports';

const UploadKeys = z.looseObject({
  dataKey: z.string(),
  configKey: z.string(),
  uploadId: z.string().min(1).max(1024),
  partSizeMb: z.number().int().min(5).max(5120),
  partCount: z.number().int().min(1).max(10_000),
});
/** begin-run's restore source: the keys, and the versions the backup's verification read. */
const RestoreKeys = z.looseObject({
  dataKey: z.string(),
  configKey: z.string(),
  dataVersionId: z.string().min(1).max(1024).nullish(),
  configVersionId: z.string().min(1).max(1024).nullish(),
});

const hasKey = (v: unknown, key: string) => typeof v === 'object' && v !== null && key in v;

export async function resolveTransferUrls(
  step: HostStep,
  run: HostRunContext,
  extraInput: unknown,
  presigner: TransferPresigner | undefined,
): Promise<unknown> {
  if (step !== 'backup' && step !== 'restore') return extraInput;
  const parsed = StepExtra.safeParse(extraInput ?? {});
  if (!parsed.success) return extraInput; // buildStepParameters reports it, naming the fields
  const extra = parsed.data;
  const transfer = transferOf(step, extra);
  const alreadyPresigned = step === 'backup' ? hasKey(transfer, 'partUrls') : hasKey(transfer, 'dataUrl');
  if (alreadyPresigned || transfer === undefined) return extraInput;
  const fail = (what: string): never => {
    throw new InvalidStepInputError(`step ${step}: ${what}`, [step === 'backup' ? 'extra.target' : 'extra.backup']);
  };
  if (!presigner) fail('no presigned URLs given and no presigner configured');

  try {
    if (step === 'backup') {
      const keys = UploadKeys.safeParse(transfer);
      if (!keys.success) return fail('target needs dataKey, configKey, uploadId, partSizeMb and partCount');
      checkBackupKeys(keys.data, run.hostId);
      const urls = await presigner!.presignUpload(keys.data);
      return { ...extra, backup: undefined, target: { ...keys.data, ...urls } };
    }
    const keys = RestoreKeys.safeParse(transfer);
    if (!keys.success) return fail('backup needs dataKey and configKey');
    checkBackupKeys(keys.data, run.hostId);
    const urls = await presigner!.presignRestore(keys.data);
    return { ...extra, restore: undefined, backup: { ...keys.data, ...urls } };
  } catch (err) {
    if ((err as Error).name === 'InvalidBackupKeyError') fail((err as Error).message);
    throw err;
  }
}
