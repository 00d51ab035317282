/**
 * The host scripts' own regular expressions stay cheap in bash. Bash hands
 * `[[ =~ ]]` to the C library's regcomp, which expands a bounded repetition
 * into that many copies of its automaton: `[A-Za-z0-9/+=]{0,8192}` took
 * about 9 s and 2.8 GB per match on the lab's machine, and `{0,1023}` a
 * quarter of a second. s3.sh checked the session token with the first
 * before every S3 request, so each part of every backup paid it (hosts'
 * bash processes of a gigabyte, and steps that ran out their timeouts under
 * load). Lengths past BOUND are checked with ${#value} instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPTS = new URL('../../../ssm-documents/scripts/', import.meta.url).pathname;
/** The largest repetition bound a script may write (a host name's 253 is the longest the scripts need). */
const BOUND = 255;

function boundsOver(text: string): string[] {
  const found: string[] = [];
  for (const [lineNo, line] of text.split('\n').entries()) {
    if (/^\s*#/.test(line)) continue;
    for (const m of line.matchAll(/\{(\d+)(?:,(\d+))?\}/g)) {
      const upper = Number(m[2] ?? m[1]);
      if (upper > BOUND) found.push(`line ${lineNo + 1}: ${m[0]}`);
    }
  }
  return found;
}

describe('the host scripts', () => {
  const files = readdirSync(SCRIPTS).filter((f) => f.endsWith('.sh'));

  it('are all read', () => {
    expect(files).toEqual(expect.arrayContaining(['common.sh', 's3.sh', 'backup.sh', 'restore.sh']));
  });

  it.each(files)('%s writes no repetition bound above 255', (file) => {
    expect(boundsOver(readFileSync(join(SCRIPTS, file), 'utf8'))).toEqual([]);
  });

  it('the check finds the bounds that made s3.sh slow', () => {
    expect(boundsOver('[[ "$t" =~ ^[A-Za-z0-9/+=]{0,8192}$ ]]\nFW_RE=\'^[a-z]{0,1023}$\'\n# {0,9999} in a comment\nx{1,128}')).toEqual(['line 1: {0,8192}', 'line 2: {0,1023}']);
  });
});
