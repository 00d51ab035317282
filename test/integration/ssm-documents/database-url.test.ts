/**
 * Issue #12 item 6: the host reads DATABASE_URL into libpq's PG* variables
 * (never a command-line argument, which every user of the host could read in
 * the process list). The URL is read as libpq reads a connection URI
 * (PostgreSQL docs, "Connection URIs"): percent-decoding only (a `+` is a
 * plus), no backslash escapes, bracketed IPv6 hosts, a percent-encoded Unix
 * socket path, and the query parameters libpq knows; one it does not know is
 * refused by name, never dropped silently. Deployed common.sh, real bash.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDocument } from '../../../ssm-documents';

const work = mkdtempSync(join(tmpdir(), 'fw-dburl-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const lines = loadDocument('restart').mainSteps[0].inputs.runCommand;
const common = lines.slice(0, lines.findIndex((l) => l.startsWith('FW_STEP=restart')));
const script = join(work, 'url.sh');
writeFileSync(
  script,
  [...common, 'FW_STEP=url', 'FW_RESULT_PRINTED=1', // `NAME hex`: the script's own stdout passes through fw_redact, which masks any PGPASSWORD= value
    'if fw_pg_env_from_url "$URL"; then for v in $(compgen -e | grep "^PG" | sort); do printf "%s %s\\n" "$v" "$(printf %s "${!v}" | od -An -tx1 | tr -d " \\n")"; done; else echo "refused: $FW_URL_ERROR"; fi'].join('\n') + '\n',
);

function parse(url: string): Record<string, string> | string {
  const r = spawnSync('sh', [script], { encoding: 'utf8', env: { PATH: process.env.PATH, URL: url } });
  expect(r.status, r.stderr).toBe(0);
  const out = r.stdout.trim();
  if (out.startsWith('refused: ')) return out;
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(' ')), Buffer.from(l.slice(l.indexOf(' ') + 1), 'hex').toString()]));
}

describe('DATABASE_URL as libpq reads it', () => {
  it.each([
    ['percent-encoded @ : / ? # in the password', 'postgresql://app:p%40ss%3Aw%2Fo%3Fr%23d@db.example.com:6543/semaphor', { PGUSER: 'app', PGPASSWORD: 'p@ss:w/o?r#d', PGHOST: 'db.example.com', PGPORT: '6543', PGDATABASE: 'semaphor' }],
    ['a literal + stays a plus', 'postgres://app:a+b+c@db/semaphor', { PGUSER: 'app', PGPASSWORD: 'a+b+c', PGHOST: 'db', PGPORT: '5432', PGDATABASE: 'semaphor' }],
    ['a backslash is not an escape', 'postgres://app:a%5Cnb\\t@db/semaphor', { PGPASSWORD: 'a\\nb\\t' }],
    ['an IPv6 host with a port', 'postgresql://app:pw@[2001:db8::1]:5433/semaphor', { PGHOST: '2001:db8::1', PGPORT: '5433', PGDATABASE: 'semaphor' }],
    ['an IPv6 host without a port', 'postgresql://app:pw@[::1]/semaphor', { PGHOST: '::1', PGPORT: '5432' }],
    ['sslmode and sslrootcert', 'postgresql://app:pw@db/semaphor?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Frds.pem', { PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/etc/ssl/rds.pem' }],
    ['a Unix-socket host, percent-encoded', 'postgresql://app@%2Fvar%2Frun%2Fpostgresql/semaphor', { PGHOST: '/var/run/postgresql', PGUSER: 'app', PGDATABASE: 'semaphor' }],
    ['a Unix-socket host as a parameter', 'postgresql:///semaphor?host=/var/run/postgresql&user=app', { PGHOST: '/var/run/postgresql', PGUSER: 'app', PGDATABASE: 'semaphor' }],
    ['no password', 'postgres://app@db:5432/semaphor', { PGUSER: 'app', PGHOST: 'db', PGDATABASE: 'semaphor' }],
    ['application_name and connect_timeout', 'postgres://app:pw@db/semaphor?application_name=semaphor&connect_timeout=10', { PGAPPNAME: 'semaphor', PGCONNECT_TIMEOUT: '10' }],
  ])('%s', (_name, url, expected) => {
    const env = parse(url);
    expect(env).toMatchObject(expected);
    if (!url.includes(':pw@') && !url.includes('app:') ) expect((env as Record<string, string>).PGPASSWORD ?? '').toBe('');
  });

  it('refuses a parameter libpq does not know, naming it and not its value', () => {
    expect(parse('postgres://app:pw@db/semaphor?sslmode=require&bogus=s3cret')).toBe('refused: DATABASE_URL has a parameter fleetwave does not pass to libpq: bogus');
  });

  it('refuses what is not a postgres URL', () => {
    expect(parse('mysql://app:pw@db/semaphor')).toMatch(/^refused: /);
  });
});
