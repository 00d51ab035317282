/**
 * Field schemas and input checking shared by every registry port and adapter.
 * Each adapter (PostgreSQL or in-memory) checks its inputs with the port's
 * schemas through `parse`, so both refuse the same values with the same error.
 */
import { z } from 'zod';
import { InvalidRegistryInputError } from './errors';

/** Who did something: an execution ARN, `cli:<user>`, `lab`, … Never a secret. */
export const Actor = z.string().min(1).max(2048);
/** Actor recorded for writes the orchestrator makes on its own behalf. */
export const SYSTEM_ACTOR = 'fleetwave';
export const ExecutionArn = z.string().min(1).max(2048);
export const JsonObject = z.record(z.string(), z.unknown());
export const Text = z.string().max(4000);
export const FreeText = z.string().min(1).max(4000);
export const Uuid = z.string().uuid();
export const Limit = z.number().int().min(1).max(1000);
/** S3 object keys the orchestrator writes (contracts.md: backups/<hostId>/<backupId>/…). */
export const ObjectKey = z.string().regex(/^[A-Za-z0-9!_.*'()\/-]{1,1024}$/, { message: 'object key has unexpected characters' });

/** Check `value` against `schema`; the error names every bad field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(value)'}: ${i.message}`).join('; ');
  throw new InvalidRegistryInputError(`invalid ${what}: ${issues}`);
}

/** What a jsonb column gives back: the value after a JSON round trip (undefined dropped, Dates as strings). */
export const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
