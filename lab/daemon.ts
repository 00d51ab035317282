/**
 * The background process behind `fleetwave lab up`: runs the lab with a
 * small default fleet until SIGTERM, then stops everything it started.
 * The lab folder is kept (registry, S3 objects, hosts, the registry secret):
 * a lab started again on it boots the same hosts (lab/resume.ts); `--fresh`
 * starts from nothing.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLabFleet, stopLabFleet, type LabFleetHost, type LabHostSpec } from './fleet';
import { startLab, writeLabFile } from './lab';
import { resumeLabFleet } from './resume';

const { values } = parseArgs({ options: { dir: { type: 'string' }, hosts: { type: 'string', default: '4' }, fresh: { type: 'boolean', default: false } } });
const dir = values.dir!;
const count = Number(values.hosts);
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

const lab = await startLab({ dir, log, keep: !values.fresh });
const specs: LabHostSpec[] = Array.from({ length: count }, (_, i) => ({
  id: `${i < Math.ceil(count / 2) ? 'stg' : 'prod'}-${i + 1}`,
  tier: i < Math.ceil(count / 2) ? 'staging' : 'production',
  mode: i % 2 === 0 ? 'embedded' : 'external',
  version: '1.4.0',
}));
let hosts: LabFleetHost[] = [];
try {
  const kept = values.fresh ? null : await resumeLabFleet(lab, 'lab');
  if (kept) log(`kept lab: ${kept.length} host(s) booted again`);
  hosts = kept ?? (await createLabFleet(lab, 'lab', specs));
} catch (err) {
  log(`could not create the lab fleet: ${(err as Error).message}`);
  await lab.close();
  process.exit(1);
}
writeLabFile(
  lab,
  hosts.map((h) => ({ id: h.id, root: h.root, instanceId: h.instanceId, mode: h.mode, healthUrl: h.healthUrl })),
);
log(`lab ready: ${hosts.length} host(s)`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  log('stopping');
  await stopLabFleet(hosts);
  await lab.close();
  rmSync(join(dir, 'lab.json'), { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => undefined, 1 << 30);
