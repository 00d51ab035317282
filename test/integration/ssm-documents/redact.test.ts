/**
 * fw_redact as deployed (common.sh inside a composed document, run by `sh`)
 * against the shared corpus, and against core/redact.ts: the host and the
 * Lambdas must redact the same text the same way.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../core/redact';
import { loadDocument } from '../../../ssm-documents';
import { expectRedacted, SECRET_SHAPES } from '../../fixtures/secret-shapes';

const work = mkdtempSync(join(tmpdir(), 'fw-redact-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const script = join(work, 'redact.sh');
const lines = loadDocument('restart').mainSteps[0].inputs.runCommand;
const common = lines.slice(0, lines.findIndex((l) => l.startsWith('FW_STEP=restart')));
writeFileSync(script, [...common, 'FW_STEP=redact', 'FW_RESULT_PRINTED=1', 'fw_redact'].join('\n'));

function fwRedact(text: string): string {
  const r = spawnSync('sh', [script], { input: `${text}\n`, encoding: 'utf8', env: { PATH: process.env.PATH } });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.endsWith('\n')).toBe(true);
  return r.stdout.slice(0, -1);
}

describe('fw_redact against the shared corpus', () => {
  it.each(SECRET_SHAPES.map((c) => [c.name, c] as const))('%s', (_name, shape) => {
    const out = fwRedact(shape.input);
    expectRedacted(shape, out);
    expect(out).toBe(redactSecrets(shape.input));
  });
});
