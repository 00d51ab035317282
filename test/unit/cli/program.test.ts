/**
 * The fleetwave command's own habits, without a target: --version, and
 * subcommand options that share a name with a program option.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/program';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const [out, err] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'fleetwave', ...args]), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

let empty: string;
const saved = { lab: process.env.FLEETWAVE_LAB_DIR, config: process.env.FLEETWAVE_CONFIG };
beforeAll(() => {
  empty = mkdtempSync(join(tmpdir(), 'fw-cli-'));
  process.env.FLEETWAVE_LAB_DIR = empty; // no lab.json: every command that needs a target says so
  delete process.env.FLEETWAVE_CONFIG;
});
afterAll(() => {
  rmSync(empty, { recursive: true, force: true });
  if (saved.lab === undefined) delete process.env.FLEETWAVE_LAB_DIR;
  else process.env.FLEETWAVE_LAB_DIR = saved.lab;
  if (saved.config !== undefined) process.env.FLEETWAVE_CONFIG = saved.config;
});

describe('fleetwave', () => {
  it('prints its own version with --version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('leaves a subcommand its own --version (host upgrade --version 1.6.0 is not the program version)', async () => {
    const r = await cli(['host', 'upgrade', '--host', 'acme-1', '--version', '1.6.0']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/no lab is running/);
    expect(r.code).toBe(1);
  });
});
