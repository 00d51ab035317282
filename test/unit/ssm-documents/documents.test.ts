/**
 * The SSM documents as deployed: schema, parameters and their patterns, the
 * composed scripts (syntax, no `{{ }}` substitution), and the scripts' own
 * defences when a value reaches them without SSM's pattern check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPOSE_DIR_PATTERN, HEALTH_URL_PATTERN, HOST_STEPS, SHA256_PATTERN, VERSION_PATTERN } from '../../../core/models';
import { documentName, loadAllDocuments, loadDocument, validateParameters } from '../../../ssm-documents';

const docs = loadAllDocuments();
const work = mkdtempSync(join(tmpdir(), 'fw-docs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const b64url = (s: string) => Buffer.from(s).toString('base64url');
const GOOD: Record<string, string> = {
  ComposeDir: '/opt/semaphor',
  TargetVersion: '1.6.0',
  Version: 'v2.0.0-rc.1',
  MinFreeMb: '1024',
  PartSizeMb: '64',
  TimeoutSeconds: '300',
  PollSeconds: '2',
  Passes: '3',
  IntervalSeconds: '5',
  Mode: 'external',
  HealthUrl: 'http://127.0.0.1:3000/api/health',
  DataSha256: 'ab'.repeat(32),
  ConfigSha256: 'cd'.repeat(32),
  DataPartUrls: b64url('https://fleet-backups.s3.eu-west-1.amazonaws.com/backups/h1/b1/data.tar.gz?partNumber=1&uploadId=x&X-Amz-Signature=ab12'),
  DataUrl: b64url('https://fleet-backups.s3.eu-west-1.amazonaws.com/backups/h1/b1/data.tar.gz?X-Amz-Signature=ab12'),
  ConfigUrl: b64url('https://fleet-backups.s3.eu-west-1.amazonaws.com/backups/h1/b1/config.tar.gz?X-Amz-Signature=ab12'),
};
const HOSTILE = [
  '; rm -rf /',
  '$(id)',
  '`id`',
  'a|b',
  'a&&b',
  '1.6.0\nid',
  '1.6.0\n',
  '-rf',
  '--config=/etc/passwd',
  'latest',
  '../etc',
  '/opt/../etc',
  '/opt/./semaphor',
  '1.６.0', // fullwidth digit
  'ｖ1.6.0',
  '/оpt/semaphor', // Cyrillic o
  'http://127.0.0.1:3000/api/heаlth', // Cyrillic a
  '',
];
/** Presigned URLs are legitimately long (up to 8192 chars); every other value stops far sooner. */
const overlong = (name: string) => (/Url(s)?$/.test(name) && name !== 'HealthUrl' ? 'A'.repeat(8193) : '1'.repeat(300));

const allParams = HOST_STEPS.flatMap((step) => Object.entries(docs[step].parameters).map(([name, p]) => ({ step, name, p })));

describe('SSM documents', () => {
  it.each(HOST_STEPS)('%s is a schema 2.2 Command document with one aws:runShellScript step named run', (step) => {
    const doc = docs[step];
    expect(doc.schemaVersion).toBe('2.2');
    expect(doc.description.length).toBeGreaterThan(20);
    expect(doc.mainSteps).toHaveLength(1);
    expect(doc.mainSteps[0]).toMatchObject({ action: 'aws:runShellScript', name: 'run' });
    expect(doc.mainSteps[0].inputs.timeoutSeconds).toBeGreaterThan(0);
    expect(doc.parameters.ComposeDir).toBeDefined();
  });

  it('names documents Fleetwave-<Pascal> unless another prefix is given', () => {
    expect(documentName('pull-images')).toBe('Fleetwave-PullImages');
    expect(documentName('health-check')).toBe('Fleetwave-HealthCheck');
    expect(documentName('preflight', 'Staging-')).toBe('Staging-Preflight');
  });

  it.each(allParams)('$step.$name has a type, a description, an allowedPattern and ENV_VAR interpolation', ({ p }) => {
    expect(['String', 'StringList']).toContain(p.type);
    expect(p.description.length).toBeGreaterThan(5);
    expect(p.interpolationType).toBe('ENV_VAR');
    expect(p.allowedPattern.startsWith('^') && p.allowedPattern.endsWith('$')).toBe(true);
    if (p.default !== undefined) expect(new RegExp(p.allowedPattern).test(p.default)).toBe(true);
  });

  it.each(allParams)('$step.$name accepts a good value and refuses every hostile one', ({ name, p }) => {
    const re = new RegExp(p.allowedPattern);
    expect(GOOD[name], `no good value for ${name}`).toBeDefined();
    expect(re.test(GOOD[name]!)).toBe(true);
    for (const bad of [...HOSTILE, overlong(name)]) expect(re.test(bad), `${name} accepted ${JSON.stringify(bad)}`).toBe(false);
  });

  it('uses the same patterns as core/models.ts for the values both check', () => {
    const same: [string, RegExp][] = [
      ['ComposeDir', COMPOSE_DIR_PATTERN],
      ['Version', VERSION_PATTERN],
      ['TargetVersion', VERSION_PATTERN],
      ['HealthUrl', HEALTH_URL_PATTERN],
      ['DataSha256', SHA256_PATTERN],
      ['ConfigSha256', SHA256_PATTERN],
    ];
    for (const { name, p } of allParams) {
      const model = same.find(([n]) => n === name)?.[1];
      if (model) expect(new RegExp(p.allowedPattern).source, name).toBe(model.source);
    }
  });

  it('validateParameters applies defaults and refuses unknown or hostile parameters like SendCommand', () => {
    expect(validateParameters('health-check', { ComposeDir: ['/opt/semaphor'], HealthUrl: [GOOD.HealthUrl!], Version: ['1.6.0'] })).toEqual({ ok: true });
    expect(validateParameters('restart', { ComposeDir: ['/opt/semaphor'], Extra: ['x'] })).toMatchObject({ ok: false });
    expect(validateParameters('pin-tags', { ComposeDir: ['/opt/semaphor'], Version: ['latest'] })).toMatchObject({ ok: false });
    expect(validateParameters('pin-tags', { ComposeDir: ['/opt/semaphor'] })).toMatchObject({ ok: false, reason: 'missing parameter Version' });
  });

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

  it('never reads a parameter unquoted or through eval', () => {
    for (const step of HOST_STEPS) {
      const text = loadDocument(step)
        .mainSteps[0].inputs.runCommand.filter((l) => !/^\s*#/.test(l))
        .join('\n');
      expect(text).not.toMatch(/\beval\b/);
      expect(text).not.toMatch(/(^|[^"{!])\$\{?SSM_/m);
    }
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
    ['restore', { SSM_ComposeDir: '/opt/semaphor', SSM_Mode: 'embedded', SSM_DataUrl: 'short', SSM_DataSha256: 'a'.repeat(64), SSM_ConfigUrl: 'x', SSM_ConfigSha256: 'b'.repeat(64) }],
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
