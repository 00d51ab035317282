/** Zod at the edge of every task: a bad event fails with a named error listing fields, never values. */
import type { z } from 'zod';

export class InvalidTaskInputError extends Error {
  override readonly name = 'InvalidTaskInputError';
  constructor(readonly fields: string[], detail: string) {
    super(`invalid task input: ${detail}`);
  }
}

export function parseTaskInput<S extends z.ZodType>(schema: S, event: unknown): z.output<S> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((i) => i.path.map(String).join('.') || '(event)');
  const detail = parsed.error.issues.map((i, n) => `${fields[n]}: ${i.message}`).join('; ');
  throw new InvalidTaskInputError(fields, detail);
}
