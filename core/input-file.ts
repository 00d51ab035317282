/**
 * Files an operator (or the vendor) writes and fleetwave reads: YAML (JSON is
 * YAML too), checked whole by a zod schema. Every problem names its field
 * (`hosts[1].tier: ...`), and a file with any problem is refused as a whole.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';

export class InputFileError extends Error {
  override name = 'InputFileError';
  constructor(
    readonly problems: string[],
    file: string,
  ) {
    super(`${file}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** `hosts[1].tier: ...` for each issue. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    return `${path || '(top level)'}: ${i.message}`;
  });
}

/** Parse YAML (or JSON) and check it against `schema`; throws `error(problems)` naming every bad field. */
export function parseInputFile<S extends z.ZodType>(schema: S, text: string, error: (problems: string[]) => InputFileError): z.output<S> {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const msg = err instanceof YAMLParseError ? err.message.split('\n')[0]! : String(err);
    throw error([`not valid YAML: ${msg}`]);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw error(describeIssues(r.error.issues));
  return r.data;
}
