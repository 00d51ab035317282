import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReleasesFile, ReleasesFileError } from '../../core/release-file';

const good = `
releases:
  - { version: 1.4.0, notes: base schema }
  - { version: 1.6.0, destructive: true, link: "https://example.com/notes/1.6.0" }
  - { version: 2.0.0, requires: [1.6.0] }
  - { version: 1.6.1, withdrawn: { reason: schema sync fails on large tables } }
`;

const problems = (text: string): string[] => {
  try {
    parseReleasesFile(text);
  } catch (err) {
    if (err instanceof ReleasesFileError) return err.problems;
    throw err;
  }
  throw new Error('expected the releases file to be refused');
};

describe('releases file', () => {
  it('parses a catalog with defaults', () => {
    const f = parseReleasesFile(good);
    expect(f.releases[0]).toEqual({ version: '1.4.0', destructive: false, requires: [], notes: 'base schema' });
    expect(f.releases[3]!.withdrawn).toEqual({ reason: 'schema sync fails on large tables' });
  });

  it('reads JSON too: the vendor file the product ships is valid', () => {
    const shipped = parseReleasesFile(readFileSync(new URL('../../releases/semaphor.json', import.meta.url), 'utf8'));
    expect(shipped.releases.map((r) => r.version)).toContain('1.6.0');
  });

  it('names every bad field in words', () => {
    const p = problems(`
releases:
  - { version: latest }
  - { version: 1.5.0, destructive: yes please }
  - { version: 1.6.0, link: "ftp://x" , colour: blue }
`);
    expect([...p].sort()).toEqual([
      'releases[0].version: must be a version like 1.6.0 (or v1.6.0), never latest',
      'releases[1].destructive: must be true or false',
      'releases[2]: Unrecognized key: "colour"',
      'releases[2].link: must be an http or https link like https://example.com/releases/1.6.0',
    ].sort());
  });

  it('refuses one release twice, however spelled', () => {
    expect(problems('releases: [{ version: 1.5.0 }, { version: v1.5.0 }]')).toEqual([
      'releases[1].version: v1.5.0 is already releases[0] (1.5.0): v1.5.0 and 1.5.0 are one release',
    ]);
  });

  it('refuses a requirement that is not in the file or not older', () => {
    const p = problems('releases: [{ version: 1.5.0, requires: [1.4.0] }, { version: 1.6.0, requires: [1.7.0] }, { version: 1.7.0 }]');
    expect(p).toEqual(['releases[0].requires[0]: 1.4.0 is not a release in this file', 'releases[1].requires[0]: 1.6.0 can only require an older release, and 1.7.0 is not older']);
  });

  it('refuses a withdrawal without a reason', () => {
    expect(problems('releases: [{ version: 1.5.0, withdrawn: {} }]')[0]).toMatch(/^releases\[0\]\.withdrawn\.reason: /);
  });
});
