/**
 * What the lab's `docker` (docker-cli.ts) and `docker compose` /
 * `docker-compose` (compose-cli.ts) commands share: their error and exit
 * code, output, flag parsing, and images (pull, and the tag a container
 * really runs when a fault says so).
 */
import { type ServiceName } from '../../core/models';
import { CATALOG, compareVersions } from './catalog';
import { DockerCliError, err, out, unsupported } from './errors';
import { familiarRepository, hasDomain, localImage, parseImageReference, registryLookup, storePulled } from './images';
import { readFaults, repositoryOf, tagOf, type Container, type Faults } from './state';

export { DockerCliError, err, out, unsupported } from './errors';
export { parseImageReference, type ImageReference } from './images';

export function effectiveFaults(root: string): Faults {
  return readFaults(root);
}

function pullFailService(f: Faults): ServiceName | null {
  if (f.pullFails === true) return 'data-service';
  if (typeof f.pullFails === 'string') return f.pullFails;
  return null;
}

/** `docker pull IMAGE` of a Semaphor image: from the catalog, under any registry prefix, by tag or by digest. */
export function pullImage(root: string, image: string, quiet = false): void {
  const release = registryLookup(image);
  const failing = pullFailService(effectiveFaults(root));
  if (failing !== null && release.service === failing) {
    throw new DockerCliError(`Error response from daemon: manifest for ${image} not found: manifest unknown: manifest unknown`, 1);
  }
  const ref = parseImageReference(image);
  const { digest, fresh } = storePulled(root, image, release);
  if (!quiet) {
    const repo = familiarRepository(ref.repository);
    const name = ref.digest ? `${repo}@${ref.digest}` : `${repo}:${ref.tag ?? 'latest'}`;
    const full = hasDomain(repo) ? name : `docker.io/${repo.includes('/') ? '' : 'library/'}${name}`;
    out(`${ref.digest ?? ref.tag ?? 'latest'}: Pulling from ${hasDomain(repo) ? repo.slice(repo.indexOf('/') + 1) : repo}`);
    out(`Digest: ${digest}`);
    out(fresh ? `Status: Downloaded newer image for ${name}` : `Status: Image is up to date for ${name}`);
    out(full);
  }
}

/**
 * `docker run IMAGE`: an image not in the store is pulled first, as docker does (the lab models
 * no registry for helper images such as busybox or postgres: any well-formed reference is served).
 */
export function ensureRunImage(root: string, image: string): void {
  parseImageReference(image);
  if (localImage(root, image)) return;
  err(`Unable to find image '${image}' locally`);
  storePulled(root, image, null);
}

/** The release a container runs: the image it was created from, unless `mixedVersions` says otherwise. */
export function runningVersionOf(root: string, c: Container): string | null {
  const own = c.version ?? tagOf(c.image);
  const f = effectiveFaults(root);
  if (!f.mixedVersions || c.service !== 'data-service') return own;
  if (typeof f.mixedVersions === 'string') return f.mixedVersions;
  const tag = own ?? '';
  const others = CATALOG.map((r) => r.version).filter((v) => v !== tag);
  const older = tag ? others.filter((v) => compareVersions(v, tag) < 0) : [];
  return older[older.length - 1] ?? others[0]!;
}

/** The image reference a container shows (`.Config.Image`): its own, or under `mixedVersions` the other release's tag. */
export function runningImageOf(root: string, c: Container): string {
  const version = runningVersionOf(root, c);
  const own = c.version ?? tagOf(c.image);
  return version === own ? c.image : `${repositoryOf(c.image)}:${version}`;
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
