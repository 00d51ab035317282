import { runApp } from '../app';

const root = process.argv[2];
if (!root) {
  process.stderr.write('usage: app.mjs <hostRoot>\n');
  process.exit(2);
}
runApp(root).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
