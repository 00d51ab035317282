/**
 * SSM Command documents (schema 2.2) as the lab's SSM endpoint and agents see
 * them: parsing, the service-side parameter validation SendCommand performs
 * before anything is delivered, and the agent-side rendering of a step
 * (`{{ name }}` substitution, `SSM_<name>` environment variables).
 *
 * Pure functions only; the service and the agent call them.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Thrown by {@link resolveParameters}; the service maps it to `InvalidParameters`. */
export class InvalidParametersError extends Error {
  override readonly name = 'InvalidParameters';
}

/** Thrown when a registered document cannot be run by the lab at all. */
export class InvalidDocumentContentError extends Error {
  override readonly name = 'InvalidDocumentContent';
}

const ParameterDefinition = z.object({
  type: z.enum(['String', 'StringList', 'Integer', 'Boolean', 'StringMap', 'MapList']),
  description: z.string().optional(),
  default: z.unknown().optional(),
  allowedPattern: z.string().optional(),
  allowedValues: z.array(z.string()).optional(),
  interpolationType: z.enum(['ENV_VAR']).optional(),
  minChars: z.number().int().optional(),
  maxChars: z.number().int().optional(),
  minItems: z.number().int().optional(),
  maxItems: z.number().int().optional(),
  displayType: z.string().optional(),
});
export type ParameterDefinition = z.infer<typeof ParameterDefinition>;

const Step = z.object({
  // The lab's agents are Linux hosts; other plugins are refused at registration.
  action: z.literal('aws:runShellScript'),
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'step name must be 1-128 of [A-Za-z0-9_.:-]'),
  precondition: z.unknown().optional(),
  onFailure: z.string().optional(),
  inputs: z.object({
    runCommand: z.union([z.array(z.string()), z.string()]),
    timeoutSeconds: z.union([z.number(), z.string()]).optional(),
    workingDirectory: z.string().optional(),
  }),
});
export type Step = z.infer<typeof Step>;

export const CommandDocument = z.object({
  schemaVersion: z.literal('2.2'),
  description: z.string().optional(),
  parameters: z.record(z.string(), ParameterDefinition).default({}),
  mainSteps: z.array(Step).min(1),
});
export type CommandDocument = z.infer<typeof CommandDocument>;

/** SSM parameter names: what the agent accepts in `{{ name }}` and `SSM_<name>`. */
const PARAMETER_NAME = /^[a-zA-Z0-9_]+$/;

/**
 * Parses and checks a document the way CreateDocument would: schema, step
 * names unique, parameter names valid, defaults satisfying their own
 * constraints (so a default can never smuggle in what a caller could not).
 */
export function parseCommandDocument(name: string, content: string | object): CommandDocument {
  let raw: unknown = content;
  if (typeof content === 'string') {
    try {
      raw = JSON.parse(content);
    } catch {
      raw = parseYaml(content);
    }
  }
  const parsed = CommandDocument.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidDocumentContentError(`document ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const doc = parsed.data;
  const names = new Set<string>();
  for (const step of doc.mainSteps) {
    if (names.has(step.name)) throw new InvalidDocumentContentError(`document ${name}: duplicate step name ${step.name}`);
    names.add(step.name);
  }
  for (const [param, def] of Object.entries(doc.parameters)) {
    if (!PARAMETER_NAME.test(param)) throw new InvalidDocumentContentError(`document ${name}: invalid parameter name ${param}`);
    if (def.allowedPattern !== undefined) compilePattern(def.allowedPattern);
    if (def.default !== undefined) {
      try {
        checkValues(param, def, defaultAsList(def.default));
      } catch (err) {
        throw new InvalidDocumentContentError(`document ${name}: default of ${param} is invalid: ${(err as Error).message}`);
      }
    }
  }
  return doc;
}

function defaultAsList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return [String(value)];
}

/**
 * SSM evaluates allowedPattern as a Java regular expression against the whole
 * value; the lab uses the JS engine, which agrees on every construct our
 * documents use (anchors, classes, bounded repetition, groups).
 */
function compilePattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new InvalidDocumentContentError(`allowedPattern ${pattern} does not compile: ${(err as Error).message}`);
  }
}

function checkValues(name: string, def: ParameterDefinition, values: string[]): void {
  if (def.type !== 'StringList' && def.type !== 'MapList' && values.length !== 1) {
    throw new InvalidParametersError(`Parameter "${name}" is of type ${def.type} and takes exactly one value, got ${values.length}.`);
  }
  if (def.minItems !== undefined && values.length < def.minItems) {
    throw new InvalidParametersError(`Parameter "${name}" needs at least ${def.minItems} items.`);
  }
  if (def.maxItems !== undefined && values.length > def.maxItems) {
    throw new InvalidParametersError(`Parameter "${name}" takes at most ${def.maxItems} items.`);
  }
  const pattern = def.allowedPattern === undefined ? undefined : compilePattern(def.allowedPattern);
  for (const value of values) {
    // Wording follows the service's InvalidParameters message.
    if (pattern && !pattern.test(value)) {
      throw new InvalidParametersError(
        `Parameter "${name}" "${value.length > 80 ? `${value.slice(0, 80)}...` : value}" failed to satisfy constraint: allowedPattern: ${def.allowedPattern}`,
      );
    }
    if (def.allowedValues && !def.allowedValues.includes(value)) {
      throw new InvalidParametersError(`Parameter "${name}" "${value}" failed to satisfy constraint: allowedValues: ${def.allowedValues.join(', ')}`);
    }
    if (def.minChars !== undefined && value.length < def.minChars) {
      throw new InvalidParametersError(`Parameter "${name}" is shorter than minChars ${def.minChars}.`);
    }
    if (def.maxChars !== undefined && value.length > def.maxChars) {
      throw new InvalidParametersError(`Parameter "${name}" is longer than maxChars ${def.maxChars}.`);
    }
    if (def.type === 'Integer' && !/^-?[0-9]+$/.test(value)) {
      throw new InvalidParametersError(`Parameter "${name}" "${value}" is not an Integer.`);
    }
    if (def.type === 'Boolean' && value !== 'true' && value !== 'false') {
      throw new InvalidParametersError(`Parameter "${name}" "${value}" is not a Boolean.`);
    }
  }
}

/**
 * SendCommand's service-side check: every supplied parameter is declared and
 * valid, every parameter without a default is supplied. Returns the full set
 * of values (defaults applied) that travels to the agent. Throws
 * {@link InvalidParametersError}; nothing is delivered in that case.
 */
export function resolveParameters(doc: CommandDocument, supplied: Record<string, string[]> | undefined): Record<string, string[]> {
  const input = supplied ?? {};
  for (const name of Object.keys(input)) {
    if (!(name in doc.parameters)) throw new InvalidParametersError(`Parameter "${name}" is not defined in the document.`);
    const values = input[name];
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      throw new InvalidParametersError(`Parameter "${name}" must be a list of strings.`);
    }
  }
  const resolved: Record<string, string[]> = {};
  for (const [name, def] of Object.entries(doc.parameters)) {
    const values = input[name] ?? (def.default !== undefined ? defaultAsList(def.default) : undefined);
    if (values === undefined) throw new InvalidParametersError(`Parameter "${name}" is required and has no default value.`);
    checkValues(name, def, values);
    resolved[name] = values;
  }
  return resolved;
}

/** What the agent runs for one `aws:runShellScript` step. */
export interface RenderedStep {
  name: string;
  lines: string[];
  /** Execution timeout in seconds (the plugin's default is 3600). */
  timeoutSeconds: number;
  /** Absolute workingDirectory from the document, or undefined (agent's own cwd). */
  workingDirectory: string | undefined;
  /** `SSM_<name>` for every ENV_VAR parameter. */
  env: Record<string, string>;
}

export const DEFAULT_EXECUTION_TIMEOUT_SECONDS = 3600;
/** pluginutil.ValidateExecutionTimeout accepts 5 s to 48 h; anything else means the default. */
export const MIN_EXECUTION_TIMEOUT_SECONDS = 5;
export const MAX_EXECUTION_TIMEOUT_SECONDS = 172_800;

/**
 * The agent's parameter substitution (agent/framework/docparser/parameters):
 * a string that is exactly `{{ name }}` becomes the value itself (a
 * StringList expands into several runCommand lines); `{{ name }}` inside a
 * longer string becomes the value, with StringLists JSON-encoded.
 */
function substitute(input: string, values: Record<string, string[]>, types: Record<string, ParameterDefinition['type']>): string | string[] {
  for (const [name, value] of Object.entries(values)) {
    if (new RegExp(`^{{\\s*${name}\\s*}}$`).test(input)) return types[name] === 'StringList' ? value : (value[0] ?? '');
  }
  return input.replace(/{{\s*([a-zA-Z0-9_]+)\s*}}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) return whole;
    return types[name] === 'StringList' ? JSON.stringify(value) : (value[0] ?? '');
  });
}

export function renderSteps(doc: CommandDocument, values: Record<string, string[]>): RenderedStep[] {
  const types = Object.fromEntries(Object.entries(doc.parameters).map(([n, d]) => [n, d.type]));
  const env: Record<string, string> = {};
  for (const [name, def] of Object.entries(doc.parameters)) {
    // StringList values are joined with commas, the way the agent flattens a
    // list into one environment variable.
    if (def.interpolationType === 'ENV_VAR') env[`SSM_${name}`] = (values[name] ?? []).join(',');
  }
  return doc.mainSteps.map((step) => {
    const raw = Array.isArray(step.inputs.runCommand) ? step.inputs.runCommand : [step.inputs.runCommand];
    const lines = raw.flatMap((line) => substitute(line, values, types));
    const timeoutRaw = step.inputs.timeoutSeconds === undefined ? undefined : String(substitute(String(step.inputs.timeoutSeconds), values, types));
    const workingRaw = step.inputs.workingDirectory === undefined ? undefined : String(substitute(step.inputs.workingDirectory, values, types));
    return {
      name: step.name,
      lines,
      timeoutSeconds: executionTimeout(timeoutRaw),
      workingDirectory: workingRaw && workingRaw.startsWith('/') ? workingRaw : undefined,
      env: { ...env },
    };
  });
}

/** pluginutil.ValidateExecutionTimeout: invalid or out-of-range values fall back to the default. */
function executionTimeout(raw: string | undefined): number {
  if (raw === undefined || !/^[0-9]+(\.[0-9]+)?$/.test(raw.trim())) return DEFAULT_EXECUTION_TIMEOUT_SECONDS;
  const value = Math.trunc(Number(raw));
  if (value < MIN_EXECUTION_TIMEOUT_SECONDS || value > MAX_EXECUTION_TIMEOUT_SECONDS) return DEFAULT_EXECUTION_TIMEOUT_SECONDS;
  return value;
}
