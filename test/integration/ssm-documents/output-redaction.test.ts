/**
 * Issue #12 item 4: everything a host script prints passes through
 * fw_redact, stdout and stderr alike: SSM keeps both (GetCommandInvocation
 * and the S3 command output), so a tool's error tail or fw_fail's message
 * quoting a DATABASE_URL must not reach either. The script is run as the
 * agent runs it: the deployed common.sh prelude, `sh`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDocument } from '../../../ssm-documents';

const work = mkdtempSync(join(tmpdir(), 'fw-outredact-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const lines = loadDocument('restart').mainSteps[0].inputs.runCommand;
const common = lines.slice(0, lines.findIndex((l) => l.startsWith('FW_STEP=restart')));
const PASSWORD = 'S3cret-pw+/x';
const URL = `postgresql://app:${PASSWORD}@db.internal:5432/semaphor`;

function run(body: string[]) {
  const script = join(work, `s${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(script, [...common, 'FW_STEP=leak', ...body].join('\n') + '\n');
  return spawnSync('sh', [script], { encoding: 'utf8', env: { PATH: process.env.PATH, TMPDIR: work } });
}

describe('host script output', () => {
  it('redacts what tools print on stderr and what fw_fail says, and still ends with one result line', () => {
    const r = run([
      `echo "pg_dump: error: connection to server at ${URL} failed" >&2`,
      `sh -c 'printf "%s\\n" "DATABASE_URL=${URL}" >&2'`,
      `echo "tool said: PGPASSWORD=${PASSWORD}"`,
      `fw_fail backup-failed "pg_dump failed: ${URL}"`,
    ]);
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    const result = JSON.parse(r.stdout.trimEnd().split('\n').pop()!);
    expect(result).toMatchObject({ step: 'leak', ok: false, error: 'backup-failed' });
    expect(result.message).toContain('postgresql://***@db.internal:5432/semaphor');
    expect(r.stderr).toContain('connection to server at postgresql://***@db.internal');
  });

  it('keeps a successful result line whole and last, after everything the script printed', () => {
    const r = run([`for i in $(seq 1 200); do echo "line $i ${URL}" >&2; echo "out $i"; done`, 'fw_ok "\\"n\\":200"']);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    const out = r.stdout.trimEnd().split('\n');
    expect(out).toHaveLength(201);
    expect(JSON.parse(out.at(-1)!)).toEqual({ step: 'leak', ok: true, n: 200 });
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(200);
  });
});
