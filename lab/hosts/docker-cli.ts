/**
 * The lab's `docker` (and `docker-compose` v1) command: exactly the subset of
 * docker the host scripts use, backed by the host folder named by
 * FLEETWAVE_HOST_ROOT (see state.ts). Anything else fails loudly with exit
 * 125, so a script that starts relying on an unimplemented flag is noticed
 * in the lab rather than on a customer host.
 *
 * Bundled by bin.ts to one .mjs; each call is one short node process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICES, type ServiceName } from '../../core/models';
import { CATALOG, compareVersions, findRelease, IMAGE_REPOSITORY_PREFIX } from './catalog';
import { ComposeInvalidError, findComposeFile, loadCompose, publishedPort, type ComposeModel } from './compose-file';
import {
  appStatus,
  containerId,
  imageDigest,
  isAlive,
  paths,
  projectName,
  readApp,
  readContainers,
  readFaults,
  readHostInfo,
  readImages,
  repositoryOf,
  tagOf,
  volumeName,
  writeJsonAtomic,
  type Container,
  type ContainersState,
  type Faults,
} from './state';

class DockerCliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
const unsupported = (what: string) => new DockerCliError(`fleetwave lab docker: unsupported ${what}`, 125);

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);

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

// ------------------------------------------------------------ images

function effectiveFaults(root: string): Faults {
  return readFaults(root);
}

function pullFailService(f: Faults): ServiceName | null {
  if (f.pullFails === true) return 'data-service';
  if (typeof f.pullFails === 'string') return f.pullFails;
  return null;
}

function pullImage(root: string, image: string, quiet = false): void {
  const tag = tagOf(image);
  const repo = repositoryOf(image);
  const service = SERVICES.find((s) => repo === `${IMAGE_REPOSITORY_PREFIX}/${s}`);
  const failing = pullFailService(effectiveFaults(root));
  if (!service || !tag || !findRelease(tag) || (failing !== null && service === failing)) {
    throw new DockerCliError(
      `Error response from daemon: manifest for ${image} not found: manifest unknown: manifest unknown`,
      1,
    );
  }
  const images = readImages(root);
  const digest = imageDigest(image);
  if (!quiet) {
    out(`${tag}: Pulling from ${repo}`);
    out(`Digest: ${digest}`);
    out(images[image] ? `Status: Image is up to date for ${image}` : `Status: Downloaded newer image for ${image}`);
    out(`docker.io/${image}`);
  }
  images[image] = digest;
  writeJsonAtomic(paths(root).images, images);
}

/** The tag a service really runs: the container's, unless `mixedVersions` says otherwise. */
export function runningImageOf(root: string, c: Container): string {
  const f = effectiveFaults(root);
  if (!f.mixedVersions || c.service !== 'data-service') return c.image;
  if (typeof f.mixedVersions === 'string') return `${repositoryOf(c.image)}:${f.mixedVersions}`;
  const tag = tagOf(c.image) ?? '';
  const others = CATALOG.map((r) => r.version).filter((v) => v !== tag);
  const older = others.filter((v) => compareVersions(v, tag) < 0);
  return `${repositoryOf(c.image)}:${older[older.length - 1] ?? others[0]}`;
}

function containerObject(root: string, c: Container, project: string) {
  const st = appStatus(root);
  const image = runningImageOf(root, c);
  return {
    Id: c.id,
    Name: `/${project}-${c.service}-1`,
    Created: c.createdAt,
    Image: imageDigest(image),
    Config: { Image: image, Labels: { 'com.docker.compose.project': project, 'com.docker.compose.service': c.service } },
    State: { Status: st.status, Running: st.running, ExitCode: st.exitCode, Pid: st.pid },
  };
}

function imageObject(image: string, digest: string) {
  return { Id: digest, RepoTags: [image], RepoDigests: [`${repositoryOf(image)}@${digest}`] };
}

// ------------------------------------------------------------ docker <cmd>

interface Parsed {
  flags: Map<string, string[]>;
  rest: string[];
}

/** Parse leading flags; `valued` flags take an argument (`-f x` or `--format=x`). */
function parseFlags(args: string[], valued: string[], boolean: string[], stopAtPositional = true): Parsed {
  const flags = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
      if (valued.includes(name)) {
        const value = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : args[++i];
        if (value === undefined) throw new DockerCliError(`flag needs an argument: ${name}`, 125);
        flags.set(name, [...(flags.get(name) ?? []), value]);
      } else if (boolean.includes(a)) {
        flags.set(a, ['true']);
      } else {
        throw unsupported(`flag ${a}`);
      }
      continue;
    }
    if (stopAtPositional) {
      rest.push(...args.slice(i));
      break;
    }
    rest.push(a);
  }
  return { flags, rest };
}

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
  const images = readImages(root);
  const results: unknown[] = [];
  let missing: string | null = null;
  for (const ref of rest) {
    const c = type === 'image' ? undefined : cs?.containers.find((x) => x.id === ref || (ref.length >= 12 && x.id.startsWith(ref)));
    if (c && cs) {
      results.push(containerObject(root, c, cs.project));
      continue;
    }
    const img = type === 'container' ? undefined : Object.entries(images).find(([name, d]) => name === ref || d === ref);
    if (img) {
      results.push(imageObject(img[0], img[1]));
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
  const env: NodeJS.ProcessEnv = { ...process.env };
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

// ------------------------------------------------------------ compose

interface ComposeContext {
  root: string;
  flavor: 'v1' | 'v2';
  file: string;
  dir: string;
  project: string;
}

function composeContext(root: string, flavor: 'v1' | 'v2', g: Parsed): ComposeContext {
  const files = [...(g.flags.get('-f') ?? []), ...(g.flags.get('--file') ?? [])];
  if (files.length > 1) throw unsupported('more than one compose file');
  const projectDir = g.flags.get('--project-directory')?.[0];
  const dir = resolve(projectDir ?? (files[0] ? dirname(resolve(files[0])) : process.cwd()));
  const file = files[0] ? resolve(files[0]) : findComposeFile(dir);
  if (!file) throw new DockerCliError(`no configuration file provided: not found`, 14);
  const explicit = g.flags.get('-p')?.[0] ?? g.flags.get('--project-name')?.[0];
  return { root, flavor, file, dir, project: projectName(dir, explicit) };
}

function loadModel(ctx: ComposeContext): ComposeModel {
  try {
    return loadCompose(ctx.file);
  } catch (e) {
    if (e instanceof ComposeInvalidError) throw new DockerCliError(e.message, 15);
    throw e;
  }
}

function selectServices(model: ComposeModel, names: string[]): ServiceName[] {
  for (const n of names) if (!model.services[n]) throw new DockerCliError(`no such service: ${n}`, 1);
  const wanted = names.length > 0 ? names : Object.keys(model.services);
  return SERVICES.filter((s) => wanted.includes(s));
}

function containerLabel(ctx: ComposeContext, service: string): string {
  return ctx.flavor === 'v1' ? `${ctx.project}_${service}_1` : `${ctx.project}-${service}-1`;
}

function appBundle(): string {
  return process.env.FLEETWAVE_LAB_APP ?? join(dirname(fileURLToPath(import.meta.url)), 'app.mjs');
}

function startApp(ctx: ComposeContext, fresh: boolean): void {
  const p = paths(ctx.root);
  mkdirSync(p.logs, { recursive: true });
  if (fresh) for (const s of SERVICES) writeFileSync(p.log(s), ''); // a recreated container starts with empty logs
  const child = spawn(process.execPath, [appBundle(), ctx.root], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, FLEETWAVE_HOST_ROOT: ctx.root },
  });
  child.unref();
  writeJsonAtomic(p.app, { pid: child.pid, startedAt: new Date().toISOString(), stopRequested: false });
}

async function stopApp(root: string): Promise<boolean> {
  const app = readApp(root);
  if (!app || !isAlive(app.pid)) return false;
  writeJsonAtomic(paths(root).app, { ...app, stopRequested: true });
  try {
    process.kill(app.pid, 'SIGTERM');
  } catch {
    return false;
  }
  for (let i = 0; i < 100 && isAlive(app.pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(app.pid)) process.kill(app.pid, 'SIGKILL');
  return true;
}

function ensureVolume(ctx: ComposeContext, model: ComposeModel): void {
  if (model.volumes && 'semaphor-data' in model.volumes) mkdirSync(paths(ctx.root).volume(volumeName(ctx.project)), { recursive: true });
}

async function compose(root: string, flavor: 'v1' | 'v2', args: string[]): Promise<number> {
  const g = parseFlags(args, ['-f', '--file', '--project-directory', '-p', '--project-name', '--ansi'], ['--no-ansi']);
  const [sub, ...rest] = g.rest;
  if (sub === 'version') {
    const { flags } = parseFlags(rest, ['--format', '-f'], ['--short']);
    if (flavor === 'v1') out('docker-compose version 1.29.2, build 5becea4c');
    else out(flags.has('--short') ? '2.29.1' : 'Docker Compose version v2.29.1');
    return 0;
  }
  const ctx = composeContext(root, flavor, g);
  switch (sub) {
    case 'config': {
      const { flags } = parseFlags(rest, [], ['-q', '--quiet', '--images', '--services']);
      const model = loadModel(ctx);
      if (flags.has('--images')) for (const s of Object.values(model.services)) out(s.image ?? '');
      else if (flags.has('--services')) for (const s of Object.keys(model.services)) out(s);
      else if (!flags.has('-q') && !flags.has('--quiet')) out(readFileSync(ctx.file, 'utf8'));
      return 0;
    }
    case 'ps': {
      const { flags, rest: names } = parseFlags(rest, [], ['-q', '--quiet', '-a', '--all', '--services'], false);
      const model = loadModel(ctx);
      const services = selectServices(model, names);
      const cs = readContainers(root);
      const st = appStatus(root);
      const showAll = flavor === 'v1' || flags.has('-a') || flags.has('--all');
      const rows = (cs?.containers ?? []).filter((c) => services.includes(c.service) && (showAll || st.running));
      if (flags.has('--services')) for (const c of rows) out(c.service);
      else if (flags.has('-q') || flags.has('--quiet')) for (const c of rows) out(c.id);
      else {
        out('NAME\tIMAGE\tSERVICE\tSTATUS');
        for (const c of rows) out(`${containerLabel(ctx, c.service)}\t${runningImageOf(root, c)}\t${c.service}\t${st.running ? 'Up' : `Exited (${st.exitCode})`}`);
      }
      return 0;
    }
    case 'pull': {
      const { rest: names } = parseFlags(rest, [], ['-q', '--quiet'], false);
      const model = loadModel(ctx);
      for (const s of selectServices(model, names)) {
        const image = model.services[s]!.image!;
        err(` ${s} Pulling`);
        pullImage(root, image, true);
        err(` ${s} Pulled`);
      }
      return 0;
    }
    case 'up': {
      const { flags, rest: names } = parseFlags(rest, [], ['-d', '--detach', '--remove-orphans', '--no-build', '--quiet-pull'], false);
      if (!flags.has('-d') && !flags.has('--detach')) throw unsupported('attached `compose up` (use -d)');
      if (names.length > 0) throw unsupported('`compose up` of a subset of services');
      const model = loadModel(ctx);
      const images = readImages(root);
      for (const s of SERVICES) {
        const image = model.services[s]?.image;
        if (!image) throw new DockerCliError(`service ${s} missing from ${ctx.file}`, 1);
        if (!images[image]) pullImage(root, image, true);
      }
      ensureVolume(ctx, model);
      const cs = readContainers(root);
      const same = cs !== null && SERVICES.every((s) => cs.containers.find((c) => c.service === s)?.image === model.services[s]!.image);
      const st = appStatus(root);
      if (same && st.running) {
        for (const s of SERVICES) err(` Container ${containerLabel(ctx, s)}  Running`);
        return 0;
      }
      await stopApp(root);
      let state: ContainersState;
      if (same && cs) {
        state = cs;
      } else {
        const createdAt = new Date().toISOString();
        state = {
          project: ctx.project,
          hostPort: publishedPort(model, 'api-service'),
          containers: SERVICES.map((s) => ({ id: containerId(root, s, createdAt), service: s, image: model.services[s]!.image!, createdAt })),
        };
        writeJsonAtomic(paths(root).containers, state);
        for (const s of SERVICES) err(` Container ${containerLabel(ctx, s)}  Recreated`);
      }
      startApp(ctx, !same);
      for (const s of SERVICES) err(` Container ${containerLabel(ctx, s)}  Started`);
      return 0;
    }
    case 'start': {
      const cs = readContainers(root);
      if (!cs) throw new DockerCliError('service "api-service" has no container to start', 1);
      if (!appStatus(root).running) startApp(ctx, false);
      for (const s of SERVICES) err(` Container ${containerLabel(ctx, s)}  Started`);
      return 0;
    }
    case 'stop': {
      parseFlags(rest, ['-t', '--timeout'], []);
      await stopApp(root);
      for (const s of SERVICES) err(` Container ${containerLabel(ctx, s)}  Stopped`);
      return 0;
    }
    case 'restart': {
      await stopApp(root);
      if (readContainers(root)) startApp(ctx, false);
      return 0;
    }
    case 'down': {
      const { flags } = parseFlags(rest, [], ['--remove-orphans', '-v', '--volumes']);
      if (flags.has('-v') || flags.has('--volumes')) throw unsupported('down -v (would delete customer data)');
      await stopApp(root);
      rmSync(paths(root).containers, { force: true });
      rmSync(paths(root).app, { force: true });
      return 0;
    }
    case 'logs': {
      const { flags, rest: names } = parseFlags(rest, ['--tail', '-n', '--since'], ['--no-color', '-t', '--timestamps', '--no-log-prefix'], false);
      if (flags.has('--since')) throw unsupported('logs --since');
      const model = loadModel(ctx);
      const tail = flags.get('--tail')?.[0] ?? flags.get('-n')?.[0];
      for (const s of selectServices(model, names)) {
        const file = paths(root).log(s);
        let lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
        if (tail !== undefined && tail !== 'all') lines = lines.slice(-Number(tail));
        const prefix = flags.has('--no-log-prefix') ? '' : `${containerLabel(ctx, s)}  | `;
        for (const l of lines) out(`${prefix}${l}`);
      }
      return 0;
    }
    default:
      throw unsupported(`compose subcommand ${sub ?? '(none)'}`);
  }
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
