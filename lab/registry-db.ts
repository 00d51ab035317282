/**
 * The lab's registry database as an operator would set one up: its own
 * login role (not the superuser) owning its own database, with a password
 * that the lab's Secrets Manager serves in the RDS secret format, and a
 * single-user rotation of that password done step by step as Secrets
 * Manager's rotation function does it.
 */
import pg from 'pg';
import type { RdsSecret } from '../core/registry/connect';
import { labPassword } from './postgres';
import type { LabSecrets } from './secrets';

export interface RegistryDatabase {
  /** The registry role's URL (what the CLI and the lab's own store use). */
  url: string;
  secret: RdsSecret & { engine: 'postgres' };
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function asAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  // a server restart while this short-lived client is open must not kill the process
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export function registryUrl(secret: RdsSecret): string {
  return `postgres://${encodeURIComponent(secret.username)}:${encodeURIComponent(secret.password)}@${secret.host}:${secret.port}/${encodeURIComponent(secret.dbname)}`;
}

/**
 * Role `name` (LOGIN, the given password) and database `name` owned by it,
 * made when missing. The password is set every time, so the role and the
 * secret the lab serves agree from the start.
 */
export async function ensureRegistryDatabase(adminUrl: string, name: string, password = labPassword()): Promise<RegistryDatabase> {
  await asAdmin(adminUrl, async (admin) => {
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    const verb = role.rowCount === 0 ? 'CREATE' : 'ALTER';
    await admin.query(`${verb} ROLE ${ident(name)} LOGIN PASSWORD ${admin.escapeLiteral(password)}`);
    const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (db.rowCount === 0) await admin.query(`CREATE DATABASE ${ident(name)} OWNER ${ident(name)}`);
  });
  const admin = new URL(adminUrl);
  const secret = { engine: 'postgres' as const, host: admin.hostname, port: Number(admin.port || 5432), username: name, password, dbname: name };
  return { url: registryUrl(secret), secret };
}

/**
 * Single-user rotation (createSecret → setSecret → finishSecret): the new
 * password becomes the secret's AWSPENDING version, then the role's
 * password, then AWSCURRENT. `afterSetSecret` runs in the window where the
 * database already wants the new password and AWSCURRENT still holds the
 * old one. Open connections are not dropped, as on AWS.
 */
export async function rotateRegistryPassword(opts: {
  adminUrl: string;
  secrets: LabSecrets;
  secretName: string;
  afterSetSecret?: () => Promise<void>;
}): Promise<RegistryDatabase> {
  const current = JSON.parse(opts.secrets.currentValue(opts.secretName)) as RegistryDatabase['secret'];
  const next = { ...current, password: labPassword() };
  opts.secrets.putPending(opts.secretName, next);
  await asAdmin(opts.adminUrl, (admin) => admin.query(`ALTER ROLE ${ident(next.username)} PASSWORD ${admin.escapeLiteral(next.password)}`));
  await opts.afterSetSecret?.();
  opts.secrets.promotePending(opts.secretName);
  return { url: registryUrl(next), secret: next };
}
