#!/usr/bin/env node
/** The fleetwave CLI entry point: `npx fleetwave --help`. */
import { main } from '../cli/program';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fleetwave: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
