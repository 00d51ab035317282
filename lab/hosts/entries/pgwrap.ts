import { runPgTool } from '../pg-wrap';

const [tool, ...args] = process.argv.slice(2);
if (tool !== 'pg_dump' && tool !== 'pg_restore' && tool !== 'psql') {
  process.stderr.write('usage: pgwrap.mjs pg_dump|pg_restore|psql ...\n');
  process.exit(2);
}
runPgTool(tool, args).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
