/**
 * The child process of test/support/app-setup.ts: synthesizes the app into
 * `<folder>/cdk.out` with lab/lab.ts `synthesize`, then writes `<folder>/ready`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthesize } from '../../lab/lab';

const folder = process.argv[2];
if (!folder) throw new Error('usage: synth-app.ts <folder>');
synthesize(join(folder, 'cdk.out'));
writeFileSync(join(folder, 'ready'), '');
