/**
 * Starts one PostgreSQL server for the whole suite (or uses DATABASE_URL) and
 * hands its superuser URL to tests through `inject('databaseUrl')`. Each test
 * file creates its own database in it (see test/support/database.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresServer } from '../../lab/postgres';

let server: PostgresServer | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  if (process.env.DATABASE_URL) {
    project.provide('databaseUrl', process.env.DATABASE_URL);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), 'fleetwave-test-pg-'));
  server = await startPostgres(join(dir, 'data'));
  project.provide('databaseUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
