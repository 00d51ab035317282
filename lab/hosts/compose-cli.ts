/**
 * The lab's `docker compose` (v2) and `docker-compose` (v1): config, ps,
 * pull, up -d, start, stop, restart, down, logs, version, over the host
 * folder (state.ts). The "containers" are one simulated app process (app.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICES, type ServiceName } from '../../core/models';
import { ComposeInvalidError, findComposeFile, loadCompose, publishedPort, type ComposeModel } from './compose-file';
import { DockerCliError, err, out, parseFlags, pullImage, runningImageOf, unsupported, type Parsed } from './docker-shared';
import {
  appStatus,
  containerId,
  isAlive,
  paths,
  projectName,
  readApp,
  readContainers,
  readImages,
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

export async function compose(root: string, flavor: 'v1' | 'v2', args: string[]): Promise<number> {
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
