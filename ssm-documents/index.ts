/**
 * The host steps' SSM Command documents, composed from their sources:
 * `<step>.yml` (schema 2.2, parameters, one `aws:runShellScript` step named
 * `run`, no runCommand) + `scripts/common.sh` + `scripts/images.sh` (the
 * services' images as compose resolves them, the PostgreSQL client) +
 * `scripts/s3.sh` (backup and restore) + `scripts/<step>.sh`. CDK
 * deploys exactly `loadDocument(step)`; the lab's agents run exactly it.
 *
 * Reads files next to this module, so it runs under tsx/vitest and at CDK
 * synth time; it is never bundled into a Lambda.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { HOST_STEPS, type HostStep } from '../core/models';

export { HOST_STEPS };
export type { HostStep };

const here = fileURLToPath(new URL('.', import.meta.url));

export const DEFAULT_DOCUMENT_PREFIX = 'Fleetwave-';

/** `pull-images` → `PullImages`. */
export function pascalStep(step: HostStep): string {
  return step
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** SSM document name of a step, e.g. `Fleetwave-HealthCheck`. */
export function documentName(step: HostStep, prefix = DEFAULT_DOCUMENT_PREFIX): string {
  return `${prefix}${pascalStep(step)}`;
}

export const SsmParameter = z
  .object({
    type: z.enum(['String', 'StringList']),
    description: z.string().min(1),
    allowedPattern: z.string().min(2),
    interpolationType: z.literal('ENV_VAR'),
    default: z.string().optional(),
  })
  .strict();
export type SsmParameter = z.infer<typeof SsmParameter>;

const RunShellScriptStep = z
  .object({
    action: z.literal('aws:runShellScript'),
    name: z.literal('run'),
    precondition: z.object({ StringEquals: z.tuple([z.literal('platformType'), z.literal('Linux')]) }).strict().optional(),
    inputs: z
      .object({
        timeoutSeconds: z.number().int().positive().max(172_800),
        runCommand: z.array(z.string()).optional(),
      })
      .strict(),
  })
  .strict();

/** A document source as stored in `<step>.yml`: everything but runCommand. */
const DocumentSource = z
  .object({
    schemaVersion: z.literal('2.2'),
    description: z.string().min(1),
    parameters: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/), SsmParameter),
    mainSteps: z.tuple([RunShellScriptStep.refine((s) => s.inputs.runCommand === undefined, { message: 'runCommand comes from scripts/, not the YAML' })]),
  })
  .strict();

/** The deployable content of a Command document (schema 2.2). */
export interface SsmCommandDocument {
  schemaVersion: '2.2';
  description: string;
  parameters: Record<string, SsmParameter>;
  mainSteps: [
    {
      action: 'aws:runShellScript';
      name: 'run';
      precondition?: { StringEquals: ['platformType', 'Linux'] };
      inputs: { timeoutSeconds: number; runCommand: string[] };
    },
  ];
}

export class DocumentSourceError extends Error {
  override name = 'DocumentSourceError';
}

function lines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

function loadSource(step: HostStep) {
  const file = join(here, `${step}.yml`);
  const parsed = DocumentSource.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new DocumentSourceError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Path of a step's script (or `common`), for tests and tooling. */
export function scriptPath(step: HostStep | 'common' | 'images' | 's3'): string {
  return join(here, 'scripts', `${step}.sh`);
}

/** The steps that move data to or from the backup bucket: their documents include scripts/s3.sh. */
export const TRANSFER_STEPS: readonly HostStep[] = ['backup', 'restore'];

/** The full document content: the YAML source with runCommand = common.sh + images.sh + the step's script. */
export function loadDocument(step: HostStep): SsmCommandDocument {
  const source = loadSource(step);
  const [main] = source.mainSteps;
  return {
    schemaVersion: '2.2',
    description: source.description,
    parameters: source.parameters,
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'run',
        ...(main.precondition ? { precondition: { StringEquals: ['platformType', 'Linux'] as ['platformType', 'Linux'] } } : {}),
        inputs: {
          timeoutSeconds: main.inputs.timeoutSeconds,
          runCommand: [
            ...lines(scriptPath('common')),
            ...lines(scriptPath('images')),
            // host-signed S3 transfers (credentials of the node's own role)
            ...(TRANSFER_STEPS.includes(step) ? lines(scriptPath('s3')) : []),
            ...lines(scriptPath(step)),
          ],
        },
      },
    ],
  };
}

/** Every step's document, keyed by step id. */
export function loadAllDocuments(): Record<HostStep, SsmCommandDocument> {
  return Object.fromEntries(HOST_STEPS.map((s) => [s, loadDocument(s)])) as Record<HostStep, SsmCommandDocument>;
}

/** Every step's documents keyed by document name, as the lab's SSM endpoint registers them. */
export function documentsByName(prefix = DEFAULT_DOCUMENT_PREFIX): Map<string, SsmCommandDocument> {
  return new Map(HOST_STEPS.map((s) => [documentName(s, prefix), loadDocument(s)]));
}

/** Parameter metadata of a step (name → type, pattern, default). */
export function documentParameters(step: HostStep): Record<string, SsmParameter> {
  return loadSource(step).parameters;
}

/** Parameter metadata of every step. */
export const DOCUMENT_PARAMETERS: Readonly<Record<HostStep, Record<string, SsmParameter>>> = Object.fromEntries(
  HOST_STEPS.map((s) => [s, documentParameters(s)]),
) as Record<HostStep, Record<string, SsmParameter>>;

/** Execution timeout (seconds) of a step's shell script, as the document states it. */
export function stepTimeoutSeconds(step: HostStep): number {
  return loadSource(step).mainSteps[0].inputs.timeoutSeconds;
}

/** Check a parameter set against a step's document, as SendCommand does: names, patterns, defaults. */
export function validateParameters(step: HostStep, params: Record<string, string[]>): { ok: true } | { ok: false; reason: string } {
  const spec = DOCUMENT_PARAMETERS[step];
  for (const name of Object.keys(params)) if (!spec[name]) return { ok: false, reason: `unknown parameter ${name}` };
  for (const [name, p] of Object.entries(spec)) {
    const values = params[name] ?? (p.default !== undefined ? [p.default] : undefined);
    if (!values || values.length === 0) return { ok: false, reason: `missing parameter ${name}` };
    if (p.type === 'String' && values.length !== 1) return { ok: false, reason: `${name} takes one value` };
    const re = new RegExp(p.allowedPattern);
    for (const v of values) if (!re.test(v)) return { ok: false, reason: `${name} does not match ${p.allowedPattern}` };
  }
  return { ok: true };
}
