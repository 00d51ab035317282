/**
 * The order files start in. First the projects that do not need the run's
 * synthesized app (it is made in the background meanwhile, see
 * test/support/app-setup.ts), then the workflows. Within a project longest
 * first, so two workers finish together instead of one starting a long file
 * at the end: the last run's durations when vitest has them, else the size of
 * the test file plus the local files it imports (a fault matrix is a
 * seven-line file over a long shared suite).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const PROJECTS = ['infra', 'lab', 'integration', 'unit', 'workflows'];

function rank(spec: TestSpecification): number {
  const i = PROJECTS.indexOf(spec.project.name);
  return i < 0 ? PROJECTS.length : i;
}

/** Bytes of the file and of the sibling modules it imports (`./x`). */
function size(file: string): number {
  const text = readFileSync(file, 'utf8');
  const siblings = [...text.matchAll(/from '\.\/([\w.-]+)'/g)].map((m) => resolve(dirname(file), `${m[1]}.ts`));
  return siblings.reduce((n, f) => n + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), text.length);
}

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const duration = (s: TestSpecification) => this.ctx.cache.getFileTestResults(`${s.project.name}:${relative(root, s.moduleId)}`)?.duration;
    const sizes = new Map(files.map((s) => [s, size(s.moduleId)]));
    return [...files].sort((a, b) => {
      if (rank(a) !== rank(b)) return rank(a) - rank(b);
      const [da, db] = [duration(a), duration(b)];
      if (da !== undefined && db !== undefined) return db - da;
      return sizes.get(b)! - sizes.get(a)!;
    });
  }
}
