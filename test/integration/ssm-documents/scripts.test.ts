/**
 * The composed SSM document scripts in bash: their syntax, and their own
 * defences when a value reaches them without SSM's pattern check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HOST_STEPS } from '../../../core/models';
import { loadAllDocuments, loadDocument } from '../../../ssm-documents';

const docs = loadAllDocuments();
const work = mkdtempSync(join(tmpdir(), 'fw-docs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('composed scripts', () => {
  it.each(HOST_STEPS)('%s composes common.sh + its script, without {{ }} and valid for bash -n', (step) => {
    const lines = docs[step].mainSteps[0].inputs.runCommand;
    expect(lines.join('\n')).not.toContain('{{');
    expect(lines[0]).toBe('#!/usr/bin/env bash');
    expect(lines.some((l) => l.startsWith(`FW_STEP=${step}`))).toBe(true);
    const file = join(work, `${step}.sh`);
    writeFileSync(file, lines.join('\n') + '\n');
    const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

/** Run a composed document with raw SSM_* values, as if SSM had not checked them. */
function runRaw(step: (typeof HOST_STEPS)[number], env: Record<string, string>, extraLines: string[] = []) {
  const lines = [...loadDocument(step).mainSteps[0].inputs.runCommand, ...extraLines];
  const file = join(work, `raw-${step}.sh`);
  writeFileSync(file, lines.join('\n') + '\n');
  const marker = join(work, 'pwned');
  const r = spawnSync('sh', [file], { encoding: 'utf8', cwd: work, env: { PATH: process.env.PATH, ...env } });
  const out = r.stdout.trimEnd().split('\n');
  return { status: r.status, lines: out, result: JSON.parse(out[out.length - 1]!), marker };
}

describe('host scripts defend themselves', () => {
  it.each([
    ['pin-tags', { SSM_ComposeDir: '/opt/semaphor', SSM_Version: '1.6.0\ntouch pwned' }],
    ['pin-tags', { SSM_ComposeDir: '/opt/semaphor;touch pwned', SSM_Version: '1.6.0' }],
    ['health-check', { SSM_ComposeDir: '/opt/semaphor', SSM_HealthUrl: 'http://x/$(touch pwned)', SSM_Version: '1.6.0' }],
    ['restore', { SSM_ComposeDir: '/opt/semaphor', SSM_Mode: 'embedded', SSM_Bucket: 'b', SSM_Region: 'us-east-1', SSM_DataKey: 'backups/h/b/data.tar.gz', SSM_DataSha256: 'a'.repeat(64), SSM_ConfigKey: 'backups/h/b/config.tar.gz', SSM_ConfigSha256: 'b'.repeat(64) }],
    ['restore', { SSM_ComposeDir: '/opt/semaphor', SSM_Mode: 'embedded', SSM_Bucket: 'fleet-backups', SSM_Region: 'us-east-1', SSM_DataKey: 'backups/h/b/data.tar.gz?x=$(touch pwned)', SSM_DataSha256: 'a'.repeat(64), SSM_ConfigKey: 'backups/h/b/config.tar.gz', SSM_ConfigSha256: 'b'.repeat(64) }],
    ['backup', { SSM_ComposeDir: '/opt/semaphor', SSM_Bucket: 'fleet-backups', SSM_Region: 'us-east-1', SSM_DataKey: 'backups/h/b/data.tar.gz', SSM_ConfigKey: 'backups/h/b/config.tar.gz', SSM_UploadId: '-K/etc/passwd', SSM_PartSizeMb: '8', SSM_PartCount: '2' }],
  ] as const)('%s refuses a value that slipped past SSM with invalid-parameter and one result line', (step, env) => {
    const r = runRaw(step, env);
    expect(r.status).toBe(1);
    expect(r.result).toMatchObject({ step, ok: false, error: 'invalid-parameter' });
    expect(r.lines.filter((l) => l.startsWith('{'))).toHaveLength(1);
  });

  it('reports an unexpected failure as exactly one ok:false line with the step error code', () => {
    const lines = loadDocument('restart').mainSteps[0].inputs.runCommand;
    const common = lines.slice(0, lines.findIndex((l) => l.startsWith('FW_STEP=restart')));
    const file = join(work, 'unexpected.sh');
    writeFileSync(file, [...common, 'FW_STEP=restart', 'FW_DEFAULT_ERROR=restart-failed', 'echo progress', 'false', 'echo never'].join('\n'));
    const r = spawnSync('sh', [file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.status).not.toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(2);
    const result = JSON.parse(r.stdout.trimEnd().split('\n')[1]!);
    expect(result).toMatchObject({ step: 'restart', ok: false, error: 'restart-failed' });
    expect(result.message).toMatch(/unexpected failure \(exit 1\)/);
  });

  it('escapes JSON by hand and redacts connection strings in messages', () => {
    const nasty = 'quote " backslash \\ newline \n tab \t bell \u0007 ünï postgres://semaphor:s3cr3t@db:5432/app PGPASSWORD=hunter2';
    const file = join(work, 'esc.sh');
    const lines = loadDocument('restart').mainSteps[0].inputs.runCommand;
    const common = lines.slice(0, lines.findIndex((l) => l.startsWith('FW_STEP=restart')));
    writeFileSync(file, [...common, 'FW_STEP=restart', 'fw_ok "\\"s\\":$(fw_str "$NASTY")"'].join('\n'));
    const out = spawnSync('sh', [file], { encoding: 'utf8', env: { PATH: process.env.PATH, NASTY: nasty } });
    const parsed = JSON.parse(out.stdout.trim());
    expect(parsed.s).toBe('quote " backslash \\ newline \n tab \t bell  ünï postgres://***@db:5432/app PGPASSWORD=***');
    expect(out.stdout).not.toContain('s3cr3t');
    expect(out.stdout).not.toContain('hunter2');
  });
});
