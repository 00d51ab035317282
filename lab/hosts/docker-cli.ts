/**
 * The lab's `docker` (and `docker-compose` v1) command: exactly the subset of
 * docker the host scripts use, backed by the host folder named by
 * FLEETWAVE_HOST_ROOT (see state.ts). Anything else fails loudly with exit
 * 125, so a script that starts relying on an unimplemented flag is noticed
 * in the lab rather than on a customer host. `docker compose` and
 * `docker-compose` are compose-cli.ts.
 *
 * Bundled by bin.ts to one .mjs; each call is one short node process.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { compose } from './compose-cli';
import { DockerCliError, effectiveFaults, ensureRunImage, err, out, parseFlags, parseImageReference, pullImage, runningImageOf, runningVersionOf, unsupported } from './docker-shared';
import { familiarRepository, localImage, releaseImageId, type LocalImage } from './images';
import { appStatus, paths, readContainers, readHostInfo, type Container } from './state';

function hostRoot(): string {
  const root = process.env.FLEETWAVE_HOST_ROOT;
  if (!root) throw new DockerCliError('fleetwave lab docker: FLEETWAVE_HOST_ROOT is not set (the lab agent sets it per host)', 125);
  return root;
}

// ------------------------------------------------------------ Go templates

/** The `--format` templates the scripts use: `{{.A.B}}`, `{{index .X 0}}`, `{{json .X}}`. */
export function renderTemplate(template: string, obj: unknown): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    const lookup = (path: string): unknown => {
      if (path === '.') return obj;
      if (!path.startsWith('.')) throw unsupported(`template expression {{${expr}}}`);
      let v: any = obj;
      for (const key of path.slice(1).split('.')) {
        if (v === null || typeof v !== 'object' || !(key in v)) throw new DockerCliError(`template: can't evaluate field ${key}`, 1);
        v = v[key];
      }
      return v;
    };
    const show = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
    let m: RegExpExecArray | null;
    if ((m = /^index\s+(\S+)\s+(\d+)$/.exec(expr))) {
      const arr = lookup(m[1]!);
      if (!Array.isArray(arr) || arr.length <= Number(m[2])) throw new DockerCliError(`template: index out of range: ${m[2]}`, 1);
      return show(arr[Number(m[2])]);
    }
    if ((m = /^json\s+(\S+)$/.exec(expr))) return JSON.stringify(lookup(m[1]!));
    if ((m = /^index\s+(\S+)\s+"([^"]*)"$/.exec(expr))) {
      const map = lookup(m[1]!);
      if (map === null || typeof map !== 'object') throw new DockerCliError(`template: can't index item of type ${typeof map}`, 1);
      return show((map as Record<string, unknown>)[m[2]!] ?? '<no value>');
    }
    return show(lookup(expr));
  });
}

function containerObject(root: string, c: Container, project: string) {
  const st = appStatus(root);
  const image = runningImageOf(root, c);
  const version = runningVersionOf(root, c);
  return {
    Id: c.id,
    Name: `/${project}-${c.service}-1`,
    Created: c.createdAt,
    // the image id the container was created from (`.Config.Image` is the reference as given)
    Image: version ? releaseImageId({ service: c.service, version }) : (localImage(root, c.image)?.Id ?? ''),
    Config: { Image: image, Labels: { 'com.docker.compose.project': project, 'com.docker.compose.service': c.service } },
    State: { Status: st.status, Running: st.running, ExitCode: st.exitCode, Pid: st.pid },
  };
}

function imageObject(img: LocalImage) {
  return { Id: img.Id, RepoTags: img.RepoTags, RepoDigests: img.RepoDigests };
}

// ------------------------------------------------------------ docker <cmd>
function cmdPull(root: string, args: string[]): void {
  const { flags, rest } = parseFlags(args, [], ['-q', '--quiet']);
  if (rest.length !== 1) throw new DockerCliError('"docker pull" requires exactly 1 argument.', 1);
  pullImage(root, rest[0]!, flags.has('-q') || flags.has('--quiet'));
  if (flags.has('-q') || flags.has('--quiet')) out(`docker.io/${rest[0]}`);
}

function cmdInspect(root: string, args: string[], only?: 'image' | 'container'): void {
  const { flags, rest } = parseFlags(args, ['--format', '-f', '--type'], []);
  const format = flags.get('--format')?.[0] ?? flags.get('-f')?.[0];
  const type = only ?? (flags.get('--type')?.[0] as 'image' | 'container' | undefined);
  if (rest.length === 0) throw new DockerCliError('"docker inspect" requires at least 1 argument.', 1);
  const cs = readContainers(root);
  const results: unknown[] = [];
  let missing: string | null = null;
  for (const ref of rest) {
    const c = type === 'image' ? undefined : cs?.containers.find((x) => x.id === ref || (ref.length >= 12 && x.id.startsWith(ref)));
    if (c && cs) {
      results.push(containerObject(root, c, cs.project));
      continue;
    }
    const img = type === 'container' ? null : localImage(root, ref);
    if (img) {
      results.push(imageObject(img));
      continue;
    }
    missing = ref;
  }
  if (format !== undefined) for (const r of results) out(renderTemplate(format, r));
  else out(JSON.stringify(results, null, 4));
  if (missing !== null) throw new DockerCliError(`Error: No such ${type ?? 'object'}: ${missing}`, 1);
}

function cmdVolume(root: string, args: string[]): void {
  const [sub, ...rest] = args;
  if (sub !== 'inspect') throw unsupported(`volume ${sub ?? ''}`);
  const { flags, rest: names } = parseFlags(rest, ['--format', '-f'], []);
  const format = flags.get('--format')?.[0] ?? flags.get('-f')?.[0];
  for (const name of names) {
    const dir = paths(root).volume(name);
    if (!existsSync(dir)) throw new DockerCliError(`Error response from daemon: get ${name}: no such volume`, 1);
    const obj = { Name: name, Driver: 'local', Mountpoint: dir, Scope: 'local' };
    out(format !== undefined ? renderTemplate(format, obj) : JSON.stringify([obj], null, 4));
  }
}

/** `docker run --rm [-i] [-v vol:/path[:ro]] [-e NAME] [--network host] IMAGE CMD...` */
async function cmdRun(root: string, args: string[]): Promise<number> {
  const { flags, rest } = parseFlags(
    args,
    ['-v', '--volume', '-e', '--env', '--network', '--net', '-w', '--workdir', '--name', '--user', '-u', '--entrypoint'],
    ['--rm', '-i', '--interactive', '-t'],
  );
  if (flags.has('--entrypoint') || flags.has('-t')) throw unsupported('docker run --entrypoint/-t');
  const [image, ...command] = rest;
  if (!image || command.length === 0) throw new DockerCliError('docker run: an image and a command are required', 125);
  ensureRunImage(root, image); // a reference docker would refuse is refused; a missing image is pulled
  const env: NodeJS.ProcessEnv = { ...process.env };
  const pgClient = postgresImageMajor(image);
  if (pgClient !== null) env.FLEETWAVE_LAB_PG_CLIENT_VERSION = pgClient; // the client programs of that image's major
  for (const e of [...(flags.get('-e') ?? []), ...(flags.get('--env') ?? [])]) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  // Mount points are rewritten to the host folders that back them.
  const mounts: [string, string][] = [];
  for (const v of [...(flags.get('-v') ?? []), ...(flags.get('--volume') ?? [])]) {
    const [src, dst] = v.split(':');
    if (!src || !dst || !dst.startsWith('/')) throw new DockerCliError(`invalid volume spec ${v}`, 125);
    const hostDir = isAbsolute(src) ? src : paths(root).volume(src);
    mkdirSync(hostDir, { recursive: true }); // docker creates a named volume on first use
    mounts.push([dst, hostDir]);
  }
  const rewrite = (s: string) =>
    mounts.reduce(
      (acc, [dst, hostDir]) => acc.replace(new RegExp(`(^|[\\s'"=])${dst.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[\\s/'"])`, 'g'), `$1${hostDir}`),
      s,
    );
  const cmd = command.map(rewrite);
  const faults = effectiveFaults(root);
  const words = cmd.join(' ').split(/\s+/);
  const isTar = words.includes('tar');
  const creates = isTar && words.some((w) => /^-[A-Za-z]*c[A-Za-z]*$/.test(w));
  const extracts = isTar && words.some((w) => /^-[A-Za-z]*x[A-Za-z]*$/.test(w));
  const cwd = flags.get('-w')?.[0] ?? flags.get('--workdir')?.[0];
  return runChild(cmd, env, cwd ? rewrite(cwd) : undefined, {
    truncateOutput: creates && faults.diskFullDuringBackup === true ? 'tar: -: Cannot write: No space left on device' : null,
    truncateInput: extracts && faults.restoreFails === true,
  });
}

/**
 * The PostgreSQL major of an official `postgres` image, from its tag (`17`, `17.2`, `17-bookworm`):
 * the client programs a container of it runs. The lab runs the machine's own binaries and lets
 * pg-wrap.ts answer as that major would. null: not a postgres image.
 */
function postgresImageMajor(image: string): string | null {
  const ref = parseImageReference(image);
  if (familiarRepository(ref.repository) !== 'postgres') return null;
  const m = /^(\d+)(?:[.-]|$)/.exec(ref.tag ?? '');
  if (!m) throw unsupported(`postgres image without a major version tag (${image})`);
  return m[1]!;
}

export interface ChildFaults {
  /** Write only part of the child's stdout, then fail with this message (disk full). */
  truncateOutput: string | null;
  /** Feed the child only half its stdin (a restore that breaks midway). */
  truncateInput: boolean;
}

/** Run a real command with stdio passed through, or bent by a fault. */
export function runChild(cmd: string[], env: NodeJS.ProcessEnv, cwd: string | undefined, f: ChildFaults): Promise<number> {
  return new Promise((resolveExit) => {
    const child = spawn(cmd[0]!, cmd.slice(1), {
      env,
      cwd,
      stdio: [f.truncateInput ? 'pipe' : 'inherit', f.truncateOutput ? 'pipe' : 'inherit', 'inherit'],
    });
    const chunks: Buffer[] = [];
    if (f.truncateOutput) child.stdout!.on('data', (c: Buffer) => chunks.push(c));
    if (f.truncateInput) {
      const input: Buffer[] = [];
      process.stdin.on('data', (c: Buffer) => input.push(c));
      process.stdin.on('end', () => {
        const all = Buffer.concat(input);
        child.stdin!.on('error', () => undefined);
        child.stdin!.end(all.subarray(0, Math.floor(all.length / 2)));
      });
    }
    child.on('error', (e) => {
      err(`docker: Error response from daemon: failed to create task: exec: "${cmd[0]}": ${e.message}`);
      resolveExit(127);
    });
    child.on('close', (code) => {
      if (f.truncateOutput) {
        const all = Buffer.concat(chunks);
        // Some bytes made it out before the disk filled up.
        process.stdout.write(all.subarray(0, Math.max(1, Math.floor(all.length / 2))), () => {
          err(f.truncateOutput!);
          resolveExit(1);
        });
        return;
      }
      if (f.truncateInput && code === 0) {
        err('tar: Unexpected EOF in archive');
        resolveExit(2);
        return;
      }
      resolveExit(code ?? 1);
    });
  });
}
// ------------------------------------------------------------ main

export async function main(argv: string[]): Promise<number> {
  const root = hostRoot();
  const info = readHostInfo(root);
  if (argv[0] === '__compose_v1') {
    if (info.composeFlavor !== 'v1') {
      err('docker-compose: command not found');
      return 127;
    }
    return compose(root, 'v1', argv.slice(1));
  }
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'compose':
      if (info.composeFlavor === 'v1') {
        err("docker: 'compose' is not a docker command.\nSee 'docker --help'");
        return 1;
      }
      return compose(root, 'v2', rest);
    case '--version':
    case 'version':
      out('Docker version 27.1.1, build 6312585 (fleetwave lab)');
      return 0;
    case 'pull':
      cmdPull(root, rest);
      return 0;
    case 'inspect':
      cmdInspect(root, rest);
      return 0;
    case 'image':
      if (rest[0] !== 'inspect') throw unsupported(`image ${rest[0] ?? ''}`);
      cmdInspect(root, rest.slice(1), 'image');
      return 0;
    case 'container':
      if (rest[0] !== 'inspect') throw unsupported(`container ${rest[0] ?? ''}`);
      cmdInspect(root, rest.slice(1), 'container');
      return 0;
    case 'volume':
      cmdVolume(root, rest);
      return 0;
    case 'run':
      return cmdRun(root, rest);
    default:
      throw unsupported(`command ${cmd ?? '(none)'}`);
  }
}

/** Record every call: the tests (and an operator) can see what a script ran. */
function audit(argv: string[]): void {
  const root = process.env.FLEETWAVE_HOST_ROOT;
  if (!root) return;
  try {
    mkdirSync(paths(root).state, { recursive: true });
    appendFileSync(join(paths(root).state, 'docker-calls.log'), `${JSON.stringify(argv)}\n`);
  } catch {
    /* auditing must never break a call */
  }
}

export function runCli(argv: string[]): void {
  audit(argv);
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof DockerCliError) {
        err(e.message);
        process.exitCode = e.exitCode;
      } else {
        err(`fleetwave lab docker: ${e instanceof Error ? e.message : String(e)}`);
        process.exitCode = 125;
      }
    },
  );
}
