/** `BackupStore` over PostgreSQL. */
import type pg from 'pg';
import { z } from 'zod';
import { canonicalVersion, Version } from '../../models';
import { insertAudit } from '../audit/pg-audit-store';
import { BackupNotFoundError, BackupStateError, HostNotFoundError, RunNotFoundError } from '../errors';
import { FreeText, parse, SYSTEM_ACTOR, Uuid } from '../fields';
import { LeaseToken } from '../leases/lease-store';
import { assertLease } from '../leases/pg-lease-store';
import { fromRow, pgCode, withTransaction, type Row } from '../pg';
import { redactSecrets } from '../../redact';
import {
  BackupVerification,
  CreateBackupInput,
  type Backup,
  type BackupStore,
  type LatestVerifiedBackupFilter,
} from './backup-store';

const toBackup = (r: Row) => fromRow<Backup>(r, { bigints: ['data_bytes', 'config_bytes'] });

export class PgBackupStore implements BackupStore {
  constructor(private readonly pool: pg.Pool) {}

  async createBackup(input: CreateBackupInput): Promise<Backup> {
    const b = parse(CreateBackupInput, input, 'backup');
    let inserted: pg.QueryResult;
    try {
      inserted = await this.pool.query(
        `INSERT INTO backups (id, host_id, run_id, version, mode, data_key, data_format, config_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO NOTHING RETURNING *`,
        [b.id, b.hostId, b.runId, b.version, b.mode, b.dataKey, b.dataFormat, b.configKey],
      );
    } catch (err) {
      const { code, constraint } = pgCode(err);
      if (code === '23503' && constraint === 'backups_run_id_fkey' && b.runId) throw new RunNotFoundError(b.runId);
      if (code === '23503') throw new HostNotFoundError(b.hostId);
      throw err;
    }
    if (inserted.rows[0]) return toBackup(inserted.rows[0] as Row);
    const existing = await this.getBackup(b.id);
    if (existing.hostId !== b.hostId || existing.dataKey !== b.dataKey || existing.configKey !== b.configKey) {
      throw new BackupStateError(`backup id ${b.id} already exists for other objects (host ${existing.hostId})`);
    }
    return existing;
  }

  async markBackupVerified(backupId: string, leaseToken: number, details: BackupVerification): Promise<Backup> {
    const id = parse(Uuid, backupId, 'backup id');
    const t = parse(LeaseToken, leaseToken, 'lease token');
    const d = parse(BackupVerification, details, 'backup verification');
    return withTransaction(this.pool, async (c) => {
      const { rows: found } = await c.query('SELECT * FROM backups WHERE id = $1 FOR UPDATE', [id]);
      if (!found[0]) throw new BackupNotFoundError(id);
      const b = toBackup(found[0] as Row);
      if (b.status === 'verified') {
        if (b.dataSha256 === d.dataSha256 && b.dataBytes === d.dataBytes && b.configSha256 === d.configSha256) return b;
        throw new BackupStateError(`backup ${id} is already verified with other checksums`);
      }
      if (b.status === 'failed') {
        throw new BackupStateError(`backup ${id} failed (${b.failure ?? 'no reason'}) and cannot become verified`);
      }
      await assertLease(c, b.hostId, t);
      const { rows } = await c.query(
        `UPDATE backups SET status = 'verified', data_bytes = $2, data_sha256 = $3, data_entries = $4,
           config_bytes = $5, config_sha256 = $6, data_version_id = $7, config_version_id = $8, verified_at = now()
         WHERE id = $1 RETURNING *`,
        [id, d.dataBytes, d.dataSha256, d.dataEntries, d.configBytes, d.configSha256, d.dataVersionId ?? null, d.configVersionId ?? null],
      );
      await insertAudit(c, {
        actor: SYSTEM_ACTOR,
        action: 'backup.verified',
        hostId: b.hostId,
        runId: b.runId,
        details: { backupId: id, version: b.version, dataBytes: d.dataBytes, dataSha256: d.dataSha256 },
      });
      return toBackup(rows[0] as Row);
    });
  }

  async markBackupFailed(backupId: string, reason: string): Promise<Backup> {
    const id = parse(Uuid, backupId, 'backup id');
    const why = redactSecrets(parse(FreeText, reason, 'failure reason'));
    return withTransaction(this.pool, async (c) => {
      const { rows: found } = await c.query('SELECT * FROM backups WHERE id = $1 FOR UPDATE', [id]);
      if (!found[0]) throw new BackupNotFoundError(id);
      const b = toBackup(found[0] as Row);
      if (b.status === 'failed') return b; // retried: keep the first reason
      if (b.status === 'verified') {
        // Restores re-verify by download anyway; letting a late, unfenced
        // failure demote a good backup would hide the newest restore point.
        throw new BackupStateError(`backup ${id} is verified and cannot be marked failed`);
      }
      const { rows } = await c.query(`UPDATE backups SET status = 'failed', failure = $2 WHERE id = $1 RETURNING *`, [id, why]);
      await insertAudit(c, {
        actor: SYSTEM_ACTOR,
        action: 'backup.failed',
        hostId: b.hostId,
        runId: b.runId,
        details: { backupId: id, reason: why },
      });
      return toBackup(rows[0] as Row);
    });
  }

  async getBackup(backupId: string): Promise<Backup> {
    const id = parse(Uuid, backupId, 'backup id');
    const { rows } = await this.pool.query('SELECT * FROM backups WHERE id = $1', [id]);
    if (!rows[0]) throw new BackupNotFoundError(id);
    return toBackup(rows[0] as Row);
  }

  async listBackups(hostId: string): Promise<Backup[]> {
    const { rows } = await this.pool.query('SELECT * FROM backups WHERE host_id = $1 ORDER BY created_at DESC, id DESC', [
      hostId,
    ]);
    return rows.map(toBackup);
  }

  async latestVerifiedBackup(hostId: string, filter: LatestVerifiedBackupFilter = {}): Promise<Backup | null> {
    const version = filter.version === undefined ? null : parse(Version, filter.version, 'version');
    const before = filter.before === undefined ? null : new Date(parse(z.number().int(), filter.before, 'before'));
    const { rows } = await this.pool.query(
      `SELECT * FROM backups
        WHERE host_id = $1 AND status = 'verified'
          AND ($2::text IS NULL OR regexp_replace(version, '^v', '') = $2) -- v1.4.0 is 1.4.0
          AND ($3::timestamptz IS NULL OR created_at < $3)
        ORDER BY created_at DESC, id DESC LIMIT 1`,
      [hostId, version === null ? null : canonicalVersion(version), before],
    );
    return rows[0] ? toBackup(rows[0] as Row) : null;
  }
}
