import { describe, expect, it } from 'vitest';
import { ComposeDir, Version } from '../../core/models';

describe('models', () => {
  it('refuses latest and accepts a pinned tag', () => {
    expect(Version.safeParse('latest').success).toBe(false);
    expect(Version.safeParse('1.6.0').success).toBe(true);
  });
  it('refuses path traversal in a compose dir', () => {
    expect(ComposeDir.safeParse('/opt/../etc').success).toBe(false);
    expect(ComposeDir.safeParse('/opt/semaphor').success).toBe(true);
  });
});
