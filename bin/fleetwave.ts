#!/usr/bin/env node
/** The fleetwave CLI entry point: `npx fleetwave --help`. */
import { main } from '../cli/program';

// The SDK warns on every client that Node 20 support ends in 2027; the lab machine runs Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fleetwave: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
