import { describe, expect, it } from 'vitest';
import { parseImageReference } from '../../../lab/hosts/docker-shared';
import { repositoryOf, tagOf } from '../../../lab/hosts/state';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe("the lab docker's image references", () => {
  it('accepts name, name:tag, name@digest and name:tag@digest as docker does', () => {
    expect(parseImageReference('busybox')).toEqual({ repository: 'busybox', tag: null, digest: null });
    expect(parseImageReference(`busybox:1.36@${DIGEST}`)).toEqual({ repository: 'busybox', tag: '1.36', digest: DIGEST });
    expect(parseImageReference(`ghcr.io/acme/data-service@${DIGEST}`)).toEqual({ repository: 'ghcr.io/acme/data-service', tag: null, digest: DIGEST });
    expect(parseImageReference('localhost:5000/pg:16')).toEqual({ repository: 'localhost:5000/pg', tag: '16', digest: null });
  });

  it('refuses what docker calls an invalid reference format', () => {
    for (const bad of ['busybox:1.36@sha256:abc', `busybox@sha256:${'A'.repeat(64)}`, 'Busybox:1', 'busybox:', '', `busybox:1.36@md5:${'0'.repeat(32)}`]) {
      expect(() => parseImageReference(bad), bad).toThrow(/invalid reference format/);
    }
  });

  it('reads the tag before the digest, not the digest as a tag', () => {
    expect(tagOf(`busybox:1.36@${DIGEST}`)).toBe('1.36');
    expect(repositoryOf(`busybox:1.36@${DIGEST}`)).toBe('busybox');
  });
});

describe("the lab registry's images", () => {
  it('serves a release under any registry prefix, by tag or by the digest it recorded, with the same content', async () => {
    const { registryLookup, releaseRepoDigest, serviceOfRepository, familiarRepository } = await import('../../../lab/hosts/images');
    expect(familiarRepository('docker.io/library/postgres')).toBe('postgres');
    expect(familiarRepository('docker.io/semaphor/api-service')).toBe('semaphor/api-service');
    expect(serviceOfRepository('registry.example.com:5000/semaphor/data-service')).toBe('data-service');
    expect(serviceOfRepository('semaphorx/data-service')).toBeNull();
    const d = releaseRepoDigest({ service: 'api-service', version: '1.5.0' });
    expect(registryLookup(`ghcr.io/acme/semaphor/api-service@${d}`)).toEqual({ service: 'api-service', version: '1.5.0' });
    // a tag beside a digest is ignored, as the engine does
    expect(registryLookup(`semaphor/api-service:1.4.0@${d}`)).toEqual({ service: 'api-service', version: '1.5.0' });
    expect(() => registryLookup(`semaphor/data-service@${d}`)).toThrow(/manifest unknown/);
    expect(() => registryLookup('semaphor/api-service:9.9.9')).toThrow(/manifest unknown/);
  });
});
