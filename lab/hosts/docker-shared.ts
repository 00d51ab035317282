/**
 * What the lab's `docker` (docker-cli.ts) and `docker compose` /
 * `docker-compose` (compose-cli.ts) commands share: their error and exit
 * code, output, flag parsing, and images (pull, and the tag a container
 * really runs when a fault says so).
 */
import { SERVICES, type ServiceName } from '../../core/models';
import { CATALOG, compareVersions, findRelease, IMAGE_REPOSITORY_PREFIX } from './catalog';
import { imageDigest, paths, readFaults, readImages, repositoryOf, tagOf, writeJsonAtomic, type Container, type Faults } from './state';

export class DockerCliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
export const unsupported = (what: string) => new DockerCliError(`fleetwave lab docker: unsupported ${what}`, 125);

export const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
export const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);

// ------------------------------------------------------------ images

// docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@algorithm:hex]
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?';
const PATH = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH}(?:/${PATH})*)(?::(\\w[\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}))?$`);

export interface ImageReference {
  repository: string;
  tag: string | null;
  digest: string | null;
}

/** An image as `docker run`/`pull` read it; what docker refuses, refused with docker's words. */
export function parseImageReference(image: string): ImageReference {
  const m = REFERENCE.exec(image);
  if (!m) throw new DockerCliError(`docker: invalid reference format: ${JSON.stringify(image)}.`, 125);
  return { repository: m[1]!, tag: m[2] ?? null, digest: m[3] ?? null };
}

export function effectiveFaults(root: string): Faults {
  return readFaults(root);
}

function pullFailService(f: Faults): ServiceName | null {
  if (f.pullFails === true) return 'data-service';
  if (typeof f.pullFails === 'string') return f.pullFails;
  return null;
}

export function pullImage(root: string, image: string, quiet = false): void {
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

// ------------------------------------------------------------ flags

export interface Parsed {
  flags: Map<string, string[]>;
  rest: string[];
}

/** Parse leading flags; `valued` flags take an argument (`-f x` or `--format=x`). */
export function parseFlags(args: string[], valued: string[], boolean: string[], stopAtPositional = true): Parsed {
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
