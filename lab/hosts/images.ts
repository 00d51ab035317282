/**
 * The lab's images, as docker has them: a registry (the release catalog,
 * reachable under any registry prefix, as a mirror or a private registry
 * would serve the same content) and each host's local image store.
 *
 * Docker's model, reproduced: an image has an id (the digest of its config)
 * and, once pulled from a registry, a repository digest (the digest of the
 * manifest the registry served, `repo@sha256:…`), which is the same whatever
 * registry served it. `docker pull repo:tag` records the tag and the repo
 * digest; `docker pull repo@sha256:…` records the repo digest only. A
 * reference with both a tag and a digest is resolved by its digest, the tag
 * ignored (Docker Engine 20.10.20 release notes; distribution/reference).
 *
 * The store file maps each pulled name (`repo:tag` or `repo@digest`,
 * familiar form) to its image id; everything else is derived.
 */
import { createHash } from 'node:crypto';
import { SERVICES, type ServiceName } from '../../core/models';
import { CATALOG, findRelease, IMAGE_REPOSITORY_PREFIX } from './catalog';
import { DockerCliError } from './errors';
import { paths, readImages, writeJsonAtomic } from './state';

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

/** docker's familiar form of a repository: Docker Hub's `docker.io/` and `library/` left out. */
export function familiarRepository(repository: string): string {
  let r = repository.replace(/^(?:docker\.io|index\.docker\.io)\//, '');
  if (r !== repository || !r.includes('/')) r = r.replace(/^library\//, '');
  return r;
}

/** A repository's registry domain, as docker decides it: a first component with `.` or `:`, or `localhost`. */
export function hasDomain(repository: string): boolean {
  const first = repository.split('/')[0]!;
  return repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}

/** A Semaphor release image: which service and version. */
export interface ReleaseImage {
  service: ServiceName;
  version: string;
}

/** Semaphor's repository under any registry prefix: `…/semaphor/<service>`. */
export function serviceOfRepository(repository: string): ServiceName | null {
  const r = familiarRepository(repository);
  return SERVICES.find((s) => r === `${IMAGE_REPOSITORY_PREFIX}/${s}` || r.endsWith(`/${IMAGE_REPOSITORY_PREFIX}/${s}`)) ?? null;
}

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
/** Image id (config digest) of a release image: the same content whatever registry served it. */
export const releaseImageId = (i: ReleaseImage) => sha(`fleetwave-lab-image-config:${i.service}:${i.version}`);
/** Repository digest (manifest digest) of a release image. */
export const releaseRepoDigest = (i: ReleaseImage) => sha(`fleetwave-lab-image-manifest:${i.service}:${i.version}`);
/** Id of an image the lab does not model (busybox, postgres): stable per name. */
const otherImageId = (name: string) => sha(`fleetwave-lab-image:${name}`);

/** What the registry serves for a reference, or docker's "manifest unknown". */
export function registryLookup(image: string): ReleaseImage {
  const ref = parseImageReference(image);
  const service = serviceOfRepository(ref.repository);
  const unknown = () =>
    new DockerCliError(`Error response from daemon: manifest for ${image} not found: manifest unknown: manifest unknown`, 1);
  if (!service) throw unknown();
  if (ref.digest) {
    const release = CATALOG.find((r) => releaseRepoDigest({ service, version: r.version }) === ref.digest);
    if (!release) throw unknown();
    return { service, version: release.version };
  }
  const tag = ref.tag ?? 'latest';
  if (!findRelease(tag)) throw unknown();
  return { service, version: tag };
}

/** The name the store keeps for a pulled reference: by digest when it has one (the tag is ignored), else by tag. */
function storeName(image: string): string {
  const ref = parseImageReference(image);
  const repo = familiarRepository(ref.repository);
  return ref.digest ? `${repo}@${ref.digest}` : `${repo}:${ref.tag ?? 'latest'}`;
}

/** Record a pulled image in the host's store; returns its id and repo digest. */
export function storePulled(root: string, image: string, release: ReleaseImage | null): { id: string; digest: string; fresh: boolean } {
  const images = readImages(root);
  const name = storeName(image);
  const id = release ? releaseImageId(release) : otherImageId(name);
  const fresh = images[name] !== id;
  images[name] = id;
  writeJsonAtomic(paths(root).images, images);
  return { id, digest: release ? releaseRepoDigest(release) : id, fresh };
}

export interface LocalImage {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** The release this image is, when it is a Semaphor image. */
  release: ReleaseImage | null;
}

function releaseOfId(id: string): ReleaseImage | null {
  for (const service of SERVICES) {
    for (const r of CATALOG) if (releaseImageId({ service, version: r.version }) === id) return { service, version: r.version };
  }
  return null;
}

function imageById(images: Record<string, string>, id: string): LocalImage {
  const release = releaseOfId(id);
  const names = Object.entries(images).filter(([, v]) => v === id).map(([n]) => n);
  const repoOf = (n: string) => (n.includes('@') ? n.slice(0, n.indexOf('@')) : n.slice(0, n.lastIndexOf(':')));
  const repoTags = names.filter((n) => !n.includes('@'));
  const repoDigests = [...new Set(names.map((n) => `${repoOf(n)}@${release ? releaseRepoDigest(release) : n.includes('@') ? n.split('@')[1] : id}`))];
  return { Id: id, RepoTags: repoTags, RepoDigests: repoDigests, release };
}

/** An image in the host's store as docker finds it: by id (or its prefix), `repo:tag`, or `repo@digest` (a tag beside a digest ignored). */
export function localImage(root: string, ref: string): LocalImage | null {
  const images = readImages(root);
  const hex = ref.replace(/^sha256:/, '');
  if (/^[a-f0-9]{12,64}$/.test(hex)) {
    const id = Object.values(images).find((v) => v.replace(/^sha256:/, '').startsWith(hex));
    if (id) return imageById(images, id);
  }
  let parsed: ImageReference;
  try {
    parsed = parseImageReference(ref);
  } catch {
    return null;
  }
  const repo = familiarRepository(parsed.repository);
  if (parsed.digest) {
    for (const id of new Set(Object.values(images))) {
      const img = imageById(images, id);
      if (img.RepoDigests.includes(`${repo}@${parsed.digest}`)) return img;
    }
    return null;
  }
  const id = images[`${repo}:${parsed.tag ?? 'latest'}`];
  return id ? imageById(images, id) : null;
}

/** The store a host starts with: its release images, pulled by tag. */
export function initialImages(version: string): Record<string, string> {
  return Object.fromEntries(SERVICES.map((s) => [`${IMAGE_REPOSITORY_PREFIX}/${s}:${version}`, releaseImageId({ service: s, version })]));
}
