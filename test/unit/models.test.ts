import { describe, expect, it } from 'vitest';
import { canonicalVersion, ComposeDir, HealthUrl, HostId, InstanceId, sameVersion, Version } from '../../core/models';

const messageOf = (r: { success: boolean; error?: { issues: { message: string }[] } }) => r.error?.issues.map((i) => i.message).join('; ') ?? '';

describe('models', () => {
  it('refuses latest and accepts a pinned tag', () => {
    expect(Version.safeParse('latest').success).toBe(false);
    expect(Version.safeParse('1.6.0').success).toBe(true);
  });
  it('refuses path traversal in a compose dir', () => {
    expect(ComposeDir.safeParse('/opt/../etc').success).toBe(false);
    expect(ComposeDir.safeParse('/opt/semaphor').success).toBe(true);
  });
  it('says what a value must look like in words, never as a regular expression', () => {
    const cases: [string, { safeParse(v: unknown): { success: boolean } }, string, RegExp][] = [
      ['version', Version, '1.6', /a version like 1\.6\.0/],
      ['host id', HostId, 'Prod_1', /like acme-prod-1/],
      ['instance id', InstanceId, 'i-xyz', /like i-0123456789abcdef0/],
      ['compose dir', ComposeDir, 'opt/semaphor', /absolute path like \/opt\/semaphor/],
      ['health URL', HealthUrl, 'ftp://x', /URL like http:\/\/10\.0\.0\.5:3000\/api\/health/],
    ];
    for (const [what, schema, bad, words] of cases) {
      const message = messageOf(schema.safeParse(bad) as never);
      expect(message, what).toMatch(words);
      expect(message, what).not.toMatch(/\^|\$|\[0-9|\{1,/);
    }
  });
  it('v1.5.0 and 1.5.0 are the same release', () => {
    expect(canonicalVersion('v1.5.0')).toBe('1.5.0');
    expect(canonicalVersion('1.5.0')).toBe('1.5.0');
    expect(sameVersion('v1.5.0', '1.5.0')).toBe(true);
    expect(sameVersion('1.5.0', '1.5.1')).toBe(false);
  });
});
