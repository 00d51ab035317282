/**
 * The lab's `docker compose` (v2) and `docker-compose` (v1): config, ps,
 * pull, up -d, start, stop, restart, down, logs, version, over the host
 * folder (state.ts). The "containers" are one simulated app process (app.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { fileURLToPath } from 'node:url';
import { SERVICES, type ServiceName } from '../../core/models';
import {
  ComposeInvalidError,
  findComposeFile,
  interpolationVariables,
  loadComposeInterpolated,
  publishedPort,
  readComposeEnvFile,
  type ComposeModel,
} from './compose-file';
import { DockerCliError, err, out, parseFlags, parseImageReference, pullImage, runningImageOf, unsupported, type Parsed } from './docker-shared';
import { localImage } from './images';
import {
  appStatus,
  containerId,
  isAlive,
  paths,
  projectName,
  readApp,
  readContainers,
  volumeName,
  writeJsonAtomic,
  type ContainersState,
} from './state';

interface ComposeContext {
  root: string;
  flavor: 'v1' | 'v2';
  file: string;
  dir: string;
  project: string;
  /** The env file interpolation reads: `--env-file`, else `.env` in the project directory. */
  envFile: string;
}

function composeContext(root: string, flavor: 'v1' | 'v2', g: Parsed): ComposeContext {
  const files = [...(g.flags.get('-f') ?? []), ...(g.flags.get('--file') ?? [])];
  if (files.length > 1) throw unsupported('more than one compose file');
  const projectDir = g.flags.get('--project-directory')?.[0];
  const dir = resolve(projectDir ?? (files[0] ? dirname(resolve(files[0])) : process.cwd()));
  const file = files[0] ? resolve(files[0]) : findComposeFile(dir);
  if (!file) throw new DockerCliError(`no configuration file provided: not found`, 14);
  const explicit = g.flags.get('-p')?.[0] ?? g.flags.get('--project-name')?.[0];
  const envFile = g.flags.get('--env-file')?.[0];
  return { root, flavor, file, dir, project: projectName(dir, explicit), envFile: envFile ? resolve(envFile) : join(dir, '.env') };
}

/** The project as compose loads it: interpolated from the env file and the environment (unless told not to). */
function loadModel(ctx: ComposeContext, interpolate = true): ComposeModel {
  const warned = new Set<string>();
  const warn = (name: string) => {
    if (warned.has(name)) return;
    warned.add(name);
    // compose v2 logs through logrus (its plain form off a terminal); v1 prints a WARNING line
    if (ctx.flavor === 'v1') err(`WARNING: The ${name} variable is not set. Defaulting to a blank string.`);
    else err(`time="${new Date().toISOString()}" level=warning msg="The \\"${name}\\" variable is not set. Defaulting to a blank string."`);
  };
  try {
    return loadComposeInterpolated(ctx.file, interpolate ? interpolationVariables(ctx.envFile) : null, warn);
  } catch (e) {
    if (e instanceof ComposeInvalidError) throw new DockerCliError(e.message, 15);
    throw e;
  }
}

/** A service's image, as compose would hand it to the engine: a reference docker accepts. */
function serviceImage(model: ComposeModel, s: string): string {
  const image = model.services[s]?.image;
  if (!image) throw new DockerCliError(`service ${s} has no image`, 1);
  parseImageReference(image);
  return image;
}

/**
 * `config`'s canonical output: services sorted, ports in long form, volumes named; v2 resolves
 * each service's env_file into its environment (values included, so the output can carry secrets)
 * and names the project; every `$` of an interpolated model is written `$$` (both flavours).
 */
function canonicalModel(ctx: ComposeContext, model: ComposeModel, services: string[], interpolated: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of [...services].sort()) {
    const svc: Record<string, unknown> = { ...model.services[name]! };
    if (svc.ports) {
      svc.ports = (svc.ports as (string | number)[]).map((p) => {
        const parts = String(p).split(':');
        const target = Number(parts[parts.length - 1]);
        const published = parts.length > 1 ? parts[parts.length - 2] : undefined;
        return ctx.flavor === 'v1'
          ? { ...(published ? { published: Number(published) } : {}), target }
          : { mode: 'ingress', target, ...(published ? { published } : {}), protocol: 'tcp' };
      });
    }
    if (ctx.flavor === 'v2' && svc.env_file && interpolated) {
      const files = Array.isArray(svc.env_file) ? (svc.env_file as string[]) : [svc.env_file as string];
      const env: Record<string, unknown> = {};
      for (const f of files) Object.assign(env, readComposeEnvFile(resolve(ctx.dir, f), {}));
      svc.environment = { ...env, ...((svc.environment as Record<string, unknown>) ?? {}) };
      delete svc.env_file;
    } else if (svc.env_file) {
      const files = Array.isArray(svc.env_file) ? (svc.env_file as string[]) : [svc.env_file as string];
      svc.env_file = files.map((f) => resolve(ctx.dir, f));
    }
    out[name] = Object.fromEntries(Object.entries(svc).sort(([a], [b]) => a.localeCompare(b)));
  }
  const volumes = Object.fromEntries(Object.keys(model.volumes ?? {}).map((v) => [v, ctx.flavor === 'v1' ? {} : { name: `${ctx.project}_${v}` }]));
  const doc: Record<string, unknown> = ctx.flavor === 'v1' ? { services: out, version: String(model.version ?? '3.9'), volumes } : { name: ctx.project, services: out, volumes };
  return interpolated ? (JSON.parse(JSON.stringify(doc).replace(/\$/g, '$$$$')) as Record<string, unknown>) : doc;
}

/** `config`, as each flavour has it (v1: `config [options]`, YAML only; v2: `config [OPTIONS] [SERVICE...]`). */
function config(ctx: ComposeContext, rest: string[]): number {
  const v2only = ['--images', '--format'];
  const { flags, rest: names } = parseFlags(
    rest,
    ctx.flavor === 'v2' ? ['--format'] : [],
    ['-q', '--quiet', '--services', '--volumes', '--no-interpolate', ...(ctx.flavor === 'v2' ? ['--images'] : [])],
    false,
  );
  for (const f of v2only) if (ctx.flavor === 'v1' && flags.has(f)) throw new DockerCliError(`No such option: ${f}`, 1);
  if (ctx.flavor === 'v1' && names.length > 0) throw new DockerCliError('Usage: config [options]', 1);
  const interpolated = !flags.has('--no-interpolate');
  const model = loadModel(ctx, interpolated);
  const services = selectServiceNames(model, names);
  if (flags.has('-q') || flags.has('--quiet')) return 0;
  if (flags.has('--services')) for (const s of services) out(s);
  else if (flags.has('--volumes')) for (const v of Object.keys(model.volumes ?? {})) out(v);
  else if (flags.has('--images')) for (const s of services) out(model.services[s]!.image ?? `${ctx.project}-${s}`);
  else {
    const doc = canonicalModel(ctx, model, services, interpolated);
    const format = flags.get('--format')?.[0] ?? 'yaml';
    if (format === 'json') out(JSON.stringify(doc, null, 2));
    else if (format === 'yaml') process.stdout.write(stringify(doc, { indent: 2, indentSeq: ctx.flavor === 'v2', lineWidth: 0 }));
    else throw new DockerCliError(`unsupported format "${format}"`, 1);
  }
  return 0;
}

function selectServiceNames(model: ComposeModel, names: string[]): string[] {
  for (const n of names) if (!model.services[n]) throw new DockerCliError(`no such service: ${n}`, 1);
  return names.length > 0 ? names : Object.keys(model.services);
}

function selectServices(model: ComposeModel, names: string[]): ServiceName[] {
  const wanted = selectServiceNames(model, names);
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

export async function compose(root: string, flavor: 'v1' | 'v2', args: string[]): Promise<number> {
  const g = parseFlags(args, ['-f', '--file', '--project-directory', '-p', '--project-name', '--ansi', '--env-file'], ['--no-ansi']);
  const [sub, ...rest] = g.rest;
  if (sub === 'version') {
    const { flags } = parseFlags(rest, ['--format', '-f'], ['--short']);
    if (flavor === 'v1') out('docker-compose version 1.29.2, build 5becea4c');
    else out(flags.has('--short') ? '2.29.1' : 'Docker Compose version v2.29.1');
    return 0;
  }
  const ctx = composeContext(root, flavor, g);
  switch (sub) {
    case 'config':
      return config(ctx, rest);
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
        const image = serviceImage(model, s);
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
      const versions = {} as Record<ServiceName, string | undefined>;
      for (const s of SERVICES) {
        if (!model.services[s]) throw new DockerCliError(`service ${s} missing from ${ctx.file}`, 1);
        const image = serviceImage(model, s);
        if (!localImage(root, image)) pullImage(root, image, true);
        versions[s] = localImage(root, image)?.release?.version;
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
          containers: SERVICES.map((s) => ({ id: containerId(root, s, createdAt), service: s, image: model.services[s]!.image!, version: versions[s], createdAt })),
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
