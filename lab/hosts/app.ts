/**
 * The simulated Semaphor app of one host: one detached node process standing
 * for the three containers. On start it announces `Semaphor v<version>`,
 * checks the licence, runs schema sync against the host's data (embedded
 * volume files or the external PostgreSQL database), and either exits (sync
 * failure: "the container exits") or serves `GET /api/health` (and `POST
 * /api/dashboards`, a write stored in its database) on the port
 * the compose file publishes for api-service:3000. Faults are re-read at
 * every health request, so a test can flip them while the app runs.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { redactSecrets } from '../../core/redact';
import { planSync } from './catalog';
import { openStore } from './data-store';
import { faultApplies, LAB_IDENTITY_PATH, paths, readContainers, readEnvFile, readFaults, readHostInfo, tagOf, volumeName, writeJsonAtomic } from './state';

export async function runApp(root: string): Promise<void> {
  const p = paths(root);
  mkdirSync(p.logs, { recursive: true });
  const log = (line: string) => appendFileSync(p.log('api-service'), `${new Date().toISOString()} ${redactSecrets(line)}\n`);
  const exit = (code: number, reason: string): never => {
    writeJsonAtomic(p.exit, { pid: process.pid, exitCode: code, reason });
    process.exit(code);
  };

  const cs = readContainers(root);
  const api = cs?.containers.find((c) => c.service === 'api-service');
  if (!cs || !api) return exit(1, 'no containers');
  // the version is the image's own (a container of `repo@sha256:…` knows it, the reference does not say it)
  const versionOf = (c: { version?: string; image: string }) => c.version ?? tagOf(c.image);
  const version = (versionOf(api) ?? 'unknown').replace(/^v/, '');
  for (const c of cs.containers) {
    if (c.service !== 'api-service') appendFileSync(p.log(c.service), `${new Date().toISOString()} ${c.service} ${versionOf(c)} started\n`);
  }
  log(`Semaphor v${version} starting`);

  const faults = readFaults(root);
  if (faults.licenseExpired) {
    log('License expired: license key SEMA-… expired, refusing to start. Renew it in semaphor.env (SEMAPHOR_LICENSE_KEY).');
    return exit(3, 'license expired');
  }
  if (faults.slowStartSeconds) await new Promise((r) => setTimeout(r, faults.slowStartSeconds! * 1000));

  const env = readEnvFile(join(p.composeDir, 'semaphor.env'));
  log(env.DATABASE_URL ? 'Using external PostgreSQL (DATABASE_URL)' : 'Using embedded PostgreSQL');
  try {
    const store = await openStore({ databaseUrl: env.DATABASE_URL, volumeDir: p.volume(volumeName(cs.project)) });
    try {
      const from = await store.schemaVersion();
      const plan = planSync(from, version);
      log(`Schema sync: database ${from ?? '(empty)'} -> ${version}`);
      if (plan.kind === 'fail') throw new Error(plan.reason);
      if (plan.kind !== 'none' && plan.kind !== 'init' && faults.schemaSyncFails) throw new Error('migration aborted: lock timeout (injected fault)');
      if (plan.kind === 'init') await store.init(version);
      if (plan.kind === 'migrate' || plan.kind === 'partial') {
        for (const ch of plan.changes) log(`Schema sync: ${ch.kind} ${ch.table}${'column' in ch ? `.${typeof ch.column === 'string' ? ch.column : ch.column.name}` : ''}`);
        await store.migrate(plan.kind === 'partial' ? plan.reached : version, plan.changes);
        if (plan.kind === 'partial') throw new Error(`${plan.reason} (database left on ${plan.reached})`);
      }
    } finally {
      await store.close();
    }
  } catch (e) {
    log(`Schema sync failed: ${e instanceof Error ? e.message : String(e)}`);
    return exit(1, 'schema sync failed');
  }
  log('Schema sync complete');

  // A write, as Semaphor's console makes one: a new dashboard row in the database the app runs
  // on, answered only once it is stored (the tests' writes made while an upgrade goes on).
  const saveDashboard = (res: ServerResponse) => {
    void (async () => {
      const store = await openStore({ databaseUrl: env.DATABASE_URL, volumeDir: p.volume(volumeName(cs.project)) });
      try {
        const ids = ((await store.tables()).dashboards?.rows ?? []).map((r) => Number(r.id));
        const id = Math.max(0, ...ids) + 1;
        await store.insertRows('dashboards', [{ id, name: `dashboard ${id}`, created_at: new Date().toISOString() }]);
        log(`dashboard ${id} saved`);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
      } finally {
        await store.close();
      }
    })().catch((e: unknown) => {
      log(`dashboard not saved: ${e instanceof Error ? e.message : String(e)}`);
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not saved' }));
    });
  };

  // The lab (not Semaphor) asks which host answers, to tell this app from another that got the same port.
  const host = readHostInfo(root).hostId;
  let requests = 0;
  const server = createServer((req, res) => {
    if (req.url === LAB_IDENTITY_PATH) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(host);
      return;
    }
    if (req.url === '/api/dashboards' && req.method === 'POST') {
      saveDashboard(res);
      return;
    }
    if (req.url !== '/api/health') {
      res.writeHead(404).end();
      return;
    }
    const f = readFaults(root);
    requests++;
    const healthy = !faultApplies(f.unhealthy, version) && !(faultApplies(f.flapping, version) && requests % 2 === 0);
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify(healthy ? { status: 'ok', version } : { status: 'unhealthy', version }));
  });
  // The published port is fixed per host, but between two starts any outgoing
  // connection on this machine may be given it as its ephemeral local port
  // (the lab's ports come from the ephemeral range), and such a socket blocks
  // the bind until it closes. Docker's proxy would hold the port across
  // restarts; the lab waits for it instead of dying as if the app had crashed.
  const listenDeadline = Date.now() + 60_000;
  const listen = () => server.listen(cs.hostPort ?? 0, '127.0.0.1');
  server.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE' && Date.now() < listenDeadline) {
      setTimeout(listen, 200);
      return;
    }
    log(`api-service failed to listen: ${e.message}`);
    exit(1, 'listen failed');
  });
  // The version banner is logged once per start (above); scripts key on its last occurrence.
  server.on('listening', () => log('api-service ready, console on port 3000'));
  listen();
  const stop = () => {
    log('Received SIGTERM, shutting down');
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
