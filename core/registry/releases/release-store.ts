/**
 * The release catalog port: which versions exist, which are destructive, what
 * each requires first, and which the vendor withdrew. Versions are one release
 * however they are spelled (`v1.5.0` is `1.5.0`): every look-up compares them
 * without the `v`, and a release keeps the spelling it was first registered
 * with (the image tag the hosts pull).
 */
import { z } from 'zod';
import { Reason, Version } from '../../models';
import { Actor, Text } from '../fields';

/** Release notes: text a person reads, no control characters but line breaks and tabs. */
export const ReleaseNotes = Text.regex(/^[^\x00-\x08\x0B-\x1F\x7F]*$/, { message: 'must be plain text (no control characters)' });
export const ReleaseLink = z
  .string()
  .max(2048, { message: 'must be at most 2048 characters' })
  .regex(/^https?:\/\/[^\s]+$/, { message: 'must be an http or https link like https://example.com/releases/1.6.0' });

/** One release as the vendor's releases file states it (core/release-file.ts). */
export const ReleaseSpec = z
  .object({
    version: Version,
    /** Drops tables or columns: an upgrade across it needs explicit consent. */
    destructive: z.boolean({ message: 'must be true or false' }).default(false),
    /** Versions a host must already run (or have passed) before it may go past this one. */
    requires: z.array(Version).max(100, { message: 'must list at most 100 versions' }).default([]),
    notes: ReleaseNotes.default(''),
    link: ReleaseLink.optional(),
    /** The vendor took the release back: refused for new upgrades, flagged where it runs. */
    withdrawn: z.object({ reason: Reason }).strict().optional(),
  })
  .strict();
export type ReleaseSpec = z.output<typeof ReleaseSpec>;

export const ApplyReleasesInput = z.object({ releases: z.array(ReleaseSpec).max(10_000), actor: Actor });
export type ApplyReleasesInput = z.input<typeof ApplyReleasesInput>;

export const UpsertReleaseInput = z.object({
  version: Version,
  destructive: z.boolean(),
  requires: z.array(Version).max(100).default([]),
  notes: Text.default(''),
  link: ReleaseLink.nullable().default(null),
});
export type UpsertReleaseInput = z.input<typeof UpsertReleaseInput>;

export interface Release {
  version: string;
  destructive: boolean;
  /** Versions a host must have passed through before running this one. */
  requires: string[];
  notes: string;
  link: string | null;
  /** Set when the release was withdrawn; a withdrawn release is never upgraded to. */
  withdrawnAt: number | null;
  withdrawnReason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What applying a catalog did (or, in a dry run, would do); versions as registered. */
export interface ReleaseChanges {
  added: string[];
  changed: { version: string; fields: string[] }[];
  withdrawn: { version: string; reason: string }[];
  unchanged: string[];
  /** Withdrawn in the registry, not in the file: applying a file never brings a release back. */
  stayWithdrawn: string[];
  /** Registered but not in the file: kept, since runs and backups name them. */
  notInFile: string[];
}

export interface ReleaseStore {
  /**
   * Make the catalog say what `releases` says, in one transaction, each change
   * audited (release.added, release.changed, release.withdrawn) with `actor`.
   * @throws InvalidRegistryInputError when a release requires one that is neither given nor registered
   */
  applyReleases(input: ApplyReleasesInput): Promise<ReleaseChanges>;
  /** Withdraw one release, audited. Withdrawing it again changes nothing. @throws ReleaseNotFoundError */
  withdrawRelease(version: string, reason: string, actor: string): Promise<{ release: Release; changed: boolean }>;
  /**
   * One release, unaudited: for fixtures. Operators change the catalog with
   * applyReleases (`fleetwave release apply`). @throws InvalidRegistryInputError when it requires itself
   */
  upsertRelease(input: UpsertReleaseInput): Promise<Release>;
  /** null when the version is not in the catalog (`v1.5.0` finds `1.5.0`). */
  getRelease(version: string): Promise<Release | null>;
  /** In version order (1.9.0 before 1.10.0), withdrawn ones included. */
  listReleases(): Promise<Release[]>;
}
