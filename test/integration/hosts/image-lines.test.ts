/**
 * Issue #12 item 10: image lines as customers write them. A digest pin
 * (`repo@sha256:…`, `repo:tag@sha256:…`) and an image built from variables
 * (`${REGISTRY}/semaphor/api-service:${TAG}` with the values in `.env`) are
 * read through compose's own `config`, the tag is changed where it really
 * comes from, and after the pull every service is pinned `tag@digest`.
 * Real bash against simulated hosts (both compose flavours).
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateHost, InventoryResult } from '../../../core/compliance';
import { SERVICES, type HostStep } from '../../../core/models';
import { createHost, reserveHostPort, destroyHost, hostEnv, runningVersions, waitHealthy, type LabHost } from '../../../lab/hosts';
import { runStep } from './support';

const ALL = (v: string | null) => ({ 'api-service': v, 'data-service': v, 'data-service-sidecar': v });

function imageLines(host: LabHost): string[] {
  return readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8')
    .split('\n')
    .filter((l) => /^\s+image:/.test(l))
    .map((l) => l.trim());
}

/** Rewrite each service's image: line to `make(service)`, nothing else. */
function setImageLines(host: LabHost, make: (service: string) => string): void {
  const file = join(host.composeDir, 'docker-compose.yml');
  const lines = readFileSync(file, 'utf8').split('\n');
  let service = '';
  const out = lines.map((l) => {
    const svc = /^ {2}([a-z-]+):\s*$/.exec(l);
    if (svc) service = svc[1]!;
    return /^ {4}image:/.test(l) ? `    image: ${make(service)}` : l;
  });
  writeFileSync(file, out.join('\n'));
}

/** `full`: every case; otherwise only what depends on how the compose flavour prints `config`. */
function hostSuite(flavor: 'v1' | 'v2', full: boolean): void {
  const maybe = full ? it : it.skip;
  // each step is a few lab docker calls; on a loaded 2-core machine a step can take seconds
  describe(`image lines on a ${flavor === 'v1' ? 'docker-compose v1' : 'docker compose v2'} host`, { timeout: 180_000 }, () => {
    let host: LabHost;
    let base: string;
    const step = (s: HostStep, params: Record<string, string> = {}) => runStep(s, host.root, { ComposeDir: host.composeDir, ...params });
    const docker = async (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', env: { ...process.env, ...(await hostEnv(host.root)) } });
    /** The registry digest docker records for a pulled `repo:tag` (what `docker image inspect` says). */
    const repoDigest = async (ref: string): Promise<string> => {
      const pulled = await docker('pull', '-q', ref);
      expect(pulled.status, pulled.stderr).toBe(0);
      const r = await docker('image', 'inspect', '--format', '{{json .RepoDigests}}', ref);
      expect(r.status, r.stderr).toBe(0);
      const digests = JSON.parse(r.stdout) as string[];
      return digests[0]!.split('@')[1]!;
    };
    const envFile = () => join(host.composeDir, '.env');

    beforeAll(async () => {
      base = mkdtempSync(join(tmpdir(), `fw-images-${flavor}-`));
      host = await createHost({ root: join(base, 'h'), hostId: `h-img-${flavor}`, mode: 'embedded', version: '1.4.0', port: await reserveHostPort(), composeFlavor: flavor });
    });
    afterAll(async () => {
      if (host) await destroyHost(host);
      rmSync(base, { recursive: true, force: true });
    });

    it('a digest pin repo@sha256:… is read as a pin of the version it names, running and pinned', async () => {
      const old: Record<string, string> = {};
      for (const s of SERVICES) old[s] = await repoDigest(`semaphor/${s}:1.4.0`);
      setImageLines(host, (s) => `semaphor/${s}@${old[s]}`);
      expect((await step('restart')).result).toMatchObject({ ok: true });
      await waitHealthy(host.healthUrl, 10_000);

      const pre = await step('preflight', { TargetVersion: '1.5.0', MinFreeMb: '1' });
      expect(pre.result).toMatchObject({ ok: true, currentVersion: '1.4.0' });
      expect(pre.result.services['api-service']).toMatchObject({ image: `semaphor/api-service@${old['api-service']}`, pinnedTag: '1.4.0', runningTag: '1.4.0' });
      const inv = await step('inventory');
      expect(inv.result.pinned).toEqual(ALL('1.4.0'));
      expect(inv.result.pinnedDigests).toEqual(old);
    });

    it('pull-images and pin-tags move a digest pin to repo:tag@digest of the pulled image, never reading the digest as a tag', async () => {
      const pull = await step('pull-images', { Version: '1.5.0' });
      expect(pull.result).toMatchObject({ ok: true });
      const pin = await step('pin-tags', { Version: '1.5.0' });
      expect(pin.result).toMatchObject({ ok: true, changed: true, previousTags: ALL('1.4.0') });
      const want: Record<string, string> = {};
      for (const s of SERVICES) want[s] = await repoDigest(`semaphor/${s}:1.5.0`);
      expect(imageLines(host)).toEqual(SERVICES.map((s) => `image: semaphor/${s}:1.5.0@${want[s]}`));
      for (const s of SERVICES) expect(pull.result.images[s]).toMatchObject({ image: `semaphor/${s}:1.5.0`, digest: want[s] });
      expect(pin.result.images['api-service']).toBe(`semaphor/api-service:1.5.0@${want['api-service']}`);

      expect((await step('restart')).result).toMatchObject({ ok: true, version: '1.5.0' });
      expect(runningVersions(host.root)).toEqual(ALL('1.5.0'));
      const inv = await step('inventory');
      expect(inv.result.pinned).toEqual(ALL('1.5.0'));
      expect(inv.result.services['api-service']).toMatchObject({ tag: '1.5.0', digest: want['api-service'], running: true });
      expect(inv.result.pinnedDigests).toEqual(want);
      // compliance reads the digest-pinned host as pinned to what runs
      const compliance = evaluateHost({ hostId: 'h', instanceId: 'i-0123456789abcdef0', reached: true, inventory: InventoryResult.parse(inv.result) }, { fleetId: 'f', desiredVersion: '1.5.0' });
      expect(compliance).toMatchObject({ state: 'COMPLIANT', pinned: ALL('1.5.0'), running: ALL('1.5.0') });
    });

    maybe('a tag@digest pin moves to the next tag@digest, and pinning again changes nothing', async () => {
      expect((await step('pull-images', { Version: '1.6.0' })).result).toMatchObject({ ok: true });
      const pin = await step('pin-tags', { Version: '1.6.0' });
      expect(pin.result).toMatchObject({ ok: true, changed: true, previousTags: ALL('1.5.0') });
      const d = await repoDigest('semaphor/data-service:1.6.0');
      expect(imageLines(host)[1]).toBe(`image: semaphor/data-service:1.6.0@${d}`);
      const inv = InventoryResult.parse((await step('inventory')).result);
      const compliance = evaluateHost({ hostId: 'h', instanceId: 'i-0123456789abcdef0', reached: true, inventory: inv }, { fleetId: 'f', desiredVersion: null });
      expect(compliance.reasons).toEqual(['pinned-differs-from-running']);
      const before = readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8');
      expect((await step('pin-tags', { Version: '1.6.0' })).result).toMatchObject({ ok: true, changed: false });
      expect(readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8')).toBe(before);
    });

    maybe('pin-tags refuses to pin an image that was not pulled, and changes nothing', async () => {
      const before = readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8');
      const pin = await step('pin-tags', { Version: '1.6.1' });
      expect(pin.code).toBe(1);
      expect(pin.result).toMatchObject({ ok: false, error: 'pin-failed' });
      expect(pin.result.message).toContain('semaphor/api-service:1.6.1 is not in the local image store');
      expect(readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8')).toBe(before);
    });

    it('an image line built from variables is read resolved, and the tag is changed in .env where it comes from', async () => {
      writeFileSync(envFile(), '# compose variables\nREGISTRY=registry.example.com:5000\nTAG=1.5.0\n');
      setImageLines(host, (s) => `\${REGISTRY}/semaphor/${s}:\${TAG}`);
      const read = await step('preflight', { TargetVersion: '1.6.0', MinFreeMb: '1' });
      expect(read.result.services['data-service']).toMatchObject({ image: 'registry.example.com:5000/semaphor/data-service:1.5.0', pinnedTag: '1.5.0' });
      expect((await step('restart')).result).toMatchObject({ ok: true, version: '1.5.0' });
      await waitHealthy(host.healthUrl, 10_000);
      const pre = await step('preflight', { TargetVersion: '1.6.0', MinFreeMb: '1' });
      expect(pre.result).toMatchObject({ ok: true, currentVersion: '1.5.0' });

      const envMode = lstatSync(envFile()).mode & 0o777;
      const pull = await step('pull-images', { Version: '1.6.0' });
      expect(pull.result).toMatchObject({ ok: true });
      expect(pull.result.images['api-service'].image).toBe('registry.example.com:5000/semaphor/api-service:1.6.0');
      const pin = await step('pin-tags', { Version: '1.6.0' });
      expect(pin.result).toMatchObject({ ok: true, changed: true, previousTags: ALL('1.5.0'), variablesChanged: ['TAG'] });
      expect(readFileSync(envFile(), 'utf8')).toBe('# compose variables\nREGISTRY=registry.example.com:5000\nTAG=1.6.0\n');
      const d = await repoDigest('registry.example.com:5000/semaphor/api-service:1.6.0');
      expect(imageLines(host)[0]).toBe(`image: \${REGISTRY}/semaphor/api-service:\${TAG}@${d}`);
      expect(lstatSync(envFile()).mode & 0o777).toBe(envMode); // the file keeps its permissions
      expect((await step('restart')).result).toMatchObject({ ok: true, version: '1.6.0' });
      expect(runningVersions(host.root)).toEqual(ALL('1.6.0'));
      expect((await step('inventory')).result.pinned).toEqual(ALL('1.6.0'));
    });

    maybe('a default in the image line is changed there when .env does not set the variable', async () => {
      writeFileSync(envFile(), 'REGISTRY=registry.example.com:5000\n');
      setImageLines(host, (s) => `\${REGISTRY}/semaphor/${s}:\${SEMAPHOR_TAG:-1.6.0}`);
      expect((await step('pull-images', { Version: '1.6.1' })).result).toMatchObject({ ok: true });
      const pin = await step('pin-tags', { Version: '1.6.1' });
      expect(pin.result).toMatchObject({ ok: true, changed: true, previousTags: ALL('1.6.0'), variablesChanged: [] });
      const d = await repoDigest('registry.example.com:5000/semaphor/data-service-sidecar:1.6.1');
      expect(imageLines(host)[2]).toBe(`image: \${REGISTRY}/semaphor/data-service-sidecar:\${SEMAPHOR_TAG:-1.6.1}@${d}`);
      expect(readFileSync(envFile(), 'utf8')).toBe('REGISTRY=registry.example.com:5000\n');
    });

    maybe('refuses, naming why, a tag it cannot change and a .env that is a link; nothing is written', async () => {
      setImageLines(host, (s) => `semaphor/${s}:v\${TAG}`);
      writeFileSync(envFile(), 'TAG=1.5.0\n');
      const compose = readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8');
      const partial = await step('pin-tags', { Version: '1.6.0' });
      expect(partial.result).toMatchObject({ ok: false, error: 'pin-failed' });
      expect(partial.result.message).toMatch(/api-service: the tag in semaphor\/api-service:v\$\{TAG\} mixes text and a variable/);
      expect(readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8')).toBe(compose);

      setImageLines(host, (s) => `semaphor/${s}:\${TAG}`);
      const real = join(base, 'env.real');
      writeFileSync(real, 'TAG=1.5.0\n');
      unlinkSync(envFile());
      symlinkSync(real, envFile());
      const linked = await step('pin-tags', { Version: '1.6.0' });
      expect(linked.result).toMatchObject({ ok: false, error: 'pin-failed' });
      expect(linked.result.message).toContain('.env is a symbolic link');
      expect(readFileSync(real, 'utf8')).toBe('TAG=1.5.0\n');
      unlinkSync(envFile());

      // TAG only in semaphor.env: compose does not read it for ${} in the compose file
      const semEnv = join(host.composeDir, 'semaphor.env');
      const sem = readFileSync(semEnv, 'utf8');
      writeFileSync(semEnv, `${sem}TAG=1.5.0\n`);
      const elsewhere = await step('pin-tags', { Version: '1.6.0' });
      expect(elsewhere.result).toMatchObject({ ok: false });
      expect(elsewhere.result.message).toMatch(/TAG\W+variable is not set/);
      expect(elsewhere.result.message).toContain('semaphor.env sets TAG, but compose reads only .env for ${...} in the compose file');
      writeFileSync(semEnv, sem);
    });
  });
}

hostSuite('v2', true);
hostSuite('v1', false);
