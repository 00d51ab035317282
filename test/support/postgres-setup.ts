/**
 * Starts one PostgreSQL server for the test run (or uses DATABASE_URL) and
 * hands its superuser URL to tests through `inject('databaseUrl')`. Each test
 * file creates its own database in it (see test/support/database.ts).
 *
 * Vitest runs a project's global setup once per project, each in its own
 * module instance; the projects that need PostgreSQL (integration,
 * workflows) share one server, kept on the vitest process's globalThis:
 * started by the first setup, stopped by the last teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startPostgres } from '../../lab/postgres';

interface SharedServer {
  url: Promise<string>;
  users: number;
  stop(): Promise<void>;
}

const KEY = Symbol.for('fleetwave.test.postgres');
const holder = globalThis as { [KEY]?: SharedServer };

function startShared(): SharedServer {
  const dir = mkdtempSync(join(tmpdir(), 'fleetwave-test-pg-'));
  const server = startPostgres(join(dir, 'data'));
  return {
    url: server.then((s) => s.url),
    users: 0,
    async stop() {
      await (await server.catch(() => undefined))?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DATABASE_URL) {
    project.provide('databaseUrl', process.env.DATABASE_URL);
    return async () => undefined;
  }
  const shared = (holder[KEY] ??= startShared());
  shared.users++;
  project.provide('databaseUrl', await shared.url);
  return async () => {
    if (--shared.users > 0) return;
    delete holder[KEY];
    await shared.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
