/**
 * The SSM documents as deployed: schema, parameters and their patterns (the
 * composed scripts in bash: test/integration/ssm-documents/scripts.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { COMPOSE_DIR_PATTERN, HEALTH_URL_PATTERN, HOST_STEPS, SHA256_PATTERN, VERSION_PATTERN } from '../../../core/models';
import { documentName, loadAllDocuments, loadDocument, validateParameters } from '../../../ssm-documents';

const docs = loadAllDocuments();

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
  Bucket: 'fleet-backups',
  Region: 'eu-west-1',
  DataKey: 'backups/h1/b1/data.tar.gz',
  ConfigKey: 'backups/h1/b1/config.tar.gz',
  UploadId: 'VXBsb2FkIElE.x_y-z',
  PartCount: '32',
  DataVersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
  ConfigVersionId: '-',
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
/** Upload and version ids may be up to 1024 characters; every other value stops far sooner. */
const overlong = (name: string) => (/(UploadId|VersionId)$/.test(name) ? 'A'.repeat(1025) : '1'.repeat(300));

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
    // "latest" is a legal bucket name and S3 id; it is hostile only where a release version is meant
    const opaque = ['Bucket', 'UploadId', 'DataVersionId', 'ConfigVersionId'].includes(name);
    for (const bad of [...HOSTILE, overlong(name)].filter((v) => !(opaque && v === 'latest'))) expect(re.test(bad), `${name} accepted ${JSON.stringify(bad)}`).toBe(false);
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

describe('helper images', () => {
  // name:tag@sha256:<64 hex>: the tag says which, the digest makes a re-pushed tag unable to change what runs
  const PINNED = /^[a-z0-9]+(?:[._/-][a-z0-9]+)*:\w[\w.-]{0,127}@sha256:[a-f0-9]{64}$/;

  it('are pinned by digest in every deployed document, and docker run names no other image', () => {
    const pinned = new Set<string>();
    const pg = new Map<number, string>();
    for (const step of HOST_STEPS) {
      const doc = loadDocument(step) as { mainSteps: { inputs: { runCommand: string[] } }[] };
      const lines = doc.mainSteps.flatMap((m) => m.inputs.runCommand);
      for (const line of lines) {
        const assigned = /^FW_HELPER_IMAGE="([^"]*)"$/.exec(line);
        if (assigned) pinned.add(assigned[1]!);
        const client = /^\s*\[(\d+)\]="(postgres:[^"]*)"$/.exec(line);
        if (client) pg.set(Number(client[1]), client[2]!);
        // every docker run takes its image from the helper variable or the postgres client table (FW_PG_CHOSEN is one of its entries)
        if (/\bdocker run\b/.test(line)) expect(line, step).toMatch(/"\$(FW_HELPER_IMAGE|FW_PG_CHOSEN|\{FW_PG_IMAGES\[\$FW_PG_NEWEST\]\})"/);
        expect(line, step).not.toMatch(/\b(busybox|postgres):[\w.-]+(?![\w.-]*@sha256:)/);
      }
    }
    expect(pinned.size).toBe(1);
    for (const image of pinned) expect(image).toMatch(PINNED);
    // one client image per PostgreSQL major, each of its own major, no gap
    const majors = [...pg.keys()].sort((a, b) => a - b);
    expect(majors.length).toBeGreaterThanOrEqual(5);
    expect(majors).toEqual(majors.map((_, i) => majors[0]! + i));
    for (const [major, image] of pg) {
      expect(image).toMatch(PINNED);
      expect(image.startsWith(`postgres:${major}@`) || image.startsWith(`postgres:${major}.`)).toBe(true);
    }
  });
});
