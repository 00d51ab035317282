/** The release catalog port: which versions exist, which are destructive, and what each requires first. */
import { z } from 'zod';
import { Version } from '../../models';
import { Text } from '../fields';

export const UpsertReleaseInput = z.object({
  version: Version,
  destructive: z.boolean(),
  requires: z.array(Version).max(100).default([]),
  notes: Text.default(''),
});
export type UpsertReleaseInput = z.input<typeof UpsertReleaseInput>;

export interface Release {
  version: string;
  destructive: boolean;
  /** Versions a host must have passed through before running this one. */
  requires: string[];
  notes: string;
  createdAt: number;
}

export interface ReleaseStore {
  /** @throws InvalidRegistryInputError when a release requires itself */
  upsertRelease(input: UpsertReleaseInput): Promise<Release>;
  /** null when the version is not in the catalog. */
  getRelease(version: string): Promise<Release | null>;
  /** In version order (1.9.0 before 1.10.0). */
  listReleases(): Promise<Release[]>;
}
