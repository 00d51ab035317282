/**
 * Builds the bin dir the lab puts first on each agent's PATH: `docker`,
 * `docker-compose`, `pg_dump`, `pg_restore`, `psql` as tiny bash wrappers that exec
 * node on pre-bundled .mjs files. Bundling (esbuild) happens once per source
 * version into a cache dir keyed by a hash of the sources, so a call costs one
 * plain node start-up (~50-100 ms) and no TypeScript compilation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const f = join(dir, name);
      if (statSync(f).isDirectory()) walk(f);
      else if (f.endsWith('.ts')) files.push(f);
    }
  };
  walk(here);
  // what else the shims bundle (catalog.ts imports the vendor's releases file)
  files.push(join(here, '../../core/models.ts'), join(here, '../postgres.ts'), join(here, '../../releases/semaphor.json'));
  return files;
}

function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of sourceFiles()) h.update(f).update('\0').update(readFileSync(f)).update('\0');
  h.update(process.execPath);
  return h.digest('hex').slice(0, 16);
}

const wrapper = (node: string, bundle: string, lead = '') =>
  `#!/usr/bin/env bash\n# fleetwave lab shim (generated)\nexec "${node}" "${bundle}"${lead} "$@"\n`;

async function build(dir: string): Promise<void> {
  const { build: esbuild } = await import('esbuild');
  const work = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  mkdirSync(join(work, 'bin'), { recursive: true });
  await esbuild({
    entryPoints: {
      docker: join(here, 'entries/docker.ts'),
      app: join(here, 'entries/app.ts'),
      pgwrap: join(here, 'entries/pgwrap.ts'),
    },
    outdir: work,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    external: ['pg-native'],
    // pg is CommonJS and requires node built-ins; give the ESM bundle a real require.
    banner: { js: "import { createRequire as __fwCreateRequire } from 'node:module'; const require = __fwCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
  const node = process.execPath;
  const files: Record<string, string> = {
    docker: wrapper(node, join(dir, 'docker.mjs')),
    'docker-compose': wrapper(node, join(dir, 'docker.mjs'), ' __compose_v1'),
    pg_dump: wrapper(node, join(dir, 'pgwrap.mjs'), ' pg_dump'),
    pg_restore: wrapper(node, join(dir, 'pgwrap.mjs'), ' pg_restore'),
    psql: wrapper(node, join(dir, 'pgwrap.mjs'), ' psql'),
  };
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(work, 'bin', name), text);
    chmodSync(join(work, 'bin', name), 0o755);
  }
  try {
    renameSync(work, dir);
  } catch (e) {
    // Another process (a parallel test worker) won the race: use its copy.
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(join(dir, 'bin', 'docker'))) throw e;
  }
}

let prepared: Promise<string> | undefined;

/** The bin dir with the lab's docker, docker-compose, pg_dump, pg_restore and psql. */
export function prepareLabBin(): Promise<string> {
  prepared ??= (async () => {
    const cacheRoot = process.env.FLEETWAVE_LAB_CACHE ?? join(tmpdir(), 'fleetwave-lab-bin');
    mkdirSync(cacheRoot, { recursive: true });
    const dir = join(cacheRoot, sourceHash());
    if (!existsSync(join(dir, 'bin', 'docker'))) await build(dir);
    return join(dir, 'bin');
  })();
  return prepared;
}
