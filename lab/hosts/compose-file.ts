/**
 * Reading a compose file the way `docker compose config` does, for the lab:
 * real YAML parsing (the `yaml` package) and the few structural rules compose
 * enforces that matter here (services map, image strings, port strings).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';

export class ComposeInvalidError extends Error {
  override name = 'ComposeInvalidError';
}

const Port = z.union([z.string(), z.number()]);
const Service = z
  .object({
    image: z.string().min(1).optional(),
    build: z.unknown().optional(),
    ports: z.array(Port).optional(),
    env_file: z.union([z.string(), z.array(z.string())]).optional(),
    volumes: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).optional(),
  })
  .passthrough()
  .refine((s) => s.image !== undefined || s.build !== undefined, { message: 'has neither image nor build' });

const ComposeModel = z
  .object({
    version: z.union([z.string(), z.number()]).optional(),
    name: z.string().optional(),
    services: z.record(z.string(), Service),
    volumes: z.record(z.string(), z.unknown().nullable()).optional(),
    networks: z.record(z.string(), z.unknown().nullable()).optional(),
  })
  .catchall(z.unknown())
  .superRefine((m, ctx) => {
    for (const key of Object.keys(m)) {
      if (!['version', 'name', 'services', 'volumes', 'networks', 'configs', 'secrets'].includes(key) && !key.startsWith('x-')) {
        ctx.addIssue({ code: 'custom', message: `additional property ${key} is not allowed` });
      }
    }
  });
export type ComposeModel = z.infer<typeof ComposeModel>;

export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

export function findComposeFile(dir: string): string | null {
  // docker-compose.yml first: it is what Semaphor ships and what the scripts pin.
  for (const name of ['docker-compose.yml', 'docker-compose.yaml', 'compose.yaml', 'compose.yml']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

export function parseCompose(text: string, file: string): ComposeModel {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new ComposeInvalidError(`${file}: yaml: ${doc.errors[0]!.message}`);
  return validateCompose(doc.toJS(), file);
}

function validateCompose(value: unknown, file: string): ComposeModel {
  const parsed = ComposeModel.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ComposeInvalidError(`validating ${file}: ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  return parsed.data;
}

export function loadCompose(file: string): ComposeModel {
  if (!existsSync(file)) throw new ComposeInvalidError(`open ${file}: no such file or directory`);
  return parseCompose(readFileSync(file, 'utf8'), file);
}

/** Host port published for container port 3000 of a service ("18080:3000"). */
export function publishedPort(model: ComposeModel, service: string, containerPort = 3000): number | null {
  for (const p of model.services[service]?.ports ?? []) {
    const parts = String(p).split(':');
    if (parts.length >= 2 && Number(parts[parts.length - 1]) === containerPort) return Number(parts[parts.length - 2]);
  }
  return null;
}

// ------------------------------------------------------------ interpolation

/**
 * Compose's interpolation (Compose file reference, "Interpolation"): `$VAR`, `${VAR}`,
 * `${VAR:-default}` / `${VAR-default}`, `${VAR:?err}` / `${VAR?err}`, `${VAR:+alt}` / `${VAR+alt}`,
 * nested in defaults, `$$` for a literal `$`. An unset variable without a default becomes an
 * empty string with a warning (`warn`). Applied to every string value, never to keys.
 */
export function interpolateString(text: string, vars: Record<string, string>, warn: (name: string) => void): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      // find the matching brace (defaults may nest ${...})
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}') depth--;
      }
      if (depth !== 0) throw new ComposeInvalidError(`invalid interpolation format for ${JSON.stringify(text)}: a closing brace is missing`);
      const body = text.slice(i + 2, j - 1);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
      if (!m) throw new ComposeInvalidError(`invalid interpolation format for ${JSON.stringify(text)}: ${JSON.stringify(body)}; you may need to escape any $ with another $`);
      const [, name, op, arg = ''] = m as unknown as [string, string, string | undefined, string | undefined];
      const set = Object.prototype.hasOwnProperty.call(vars, name);
      const value = set ? vars[name]! : '';
      const present = op?.startsWith(':') ? set && value !== '' : set;
      const sub = () => interpolateString(arg, vars, warn);
      if (op === undefined) {
        if (!set) warn(name);
        out += value;
      } else if (op.endsWith('-')) out += present ? value : sub();
      else if (op.endsWith('+')) out += present ? sub() : '';
      else if (!present) throw new ComposeInvalidError(`required variable ${name} is missing a value${arg ? `: ${sub()}` : ''}`);
      else out += value;
      i = j;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (m) {
      if (!Object.prototype.hasOwnProperty.call(vars, m[0])) warn(m[0]);
      out += vars[m[0]] ?? '';
      i += 1 + m[0].length;
      continue;
    }
    out += '$';
    i++;
  }
  return out;
}

export function interpolateValue(v: unknown, vars: Record<string, string>, warn: (name: string) => void): unknown {
  if (typeof v === 'string') return interpolateString(v, vars, warn);
  if (Array.isArray(v)) return v.map((x) => interpolateValue(x, vars, warn));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateValue(x, vars, warn)]));
  return v;
}

/**
 * An env file as compose reads it (Compose docs, "Syntax for environment files"): `KEY=VAL`,
 * `export` allowed, `#` comments and blank lines skipped, single-quoted values literal, double-quoted
 * and unquoted values interpolated with what is known so far, an inline ` #` comment after an
 * unquoted value dropped. `outer` (the process environment) wins over the file.
 */
export function readComposeEnvFile(file: string, outer: Record<string, string>): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/\r$/, '');
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=(.*)$/.exec(line);
    if (!m || /^\s*#/.test(line)) continue;
    const key = m[1]!;
    let v = m[2]!.trim();
    const known = { ...vars, ...outer };
    if (v.startsWith("'")) v = v.slice(1, v.indexOf("'", 1) > 0 ? v.indexOf("'", 1) : undefined);
    else if (v.startsWith('"')) {
      const end = v.indexOf('"', 1);
      v = interpolateString(v.slice(1, end > 0 ? end : undefined).replace(/\\n/g, '\n').replace(/\\t/g, '\t'), known, () => undefined);
    } else v = interpolateString(v.replace(/\s+#.*$/, ''), known, () => undefined);
    vars[key] = v;
  }
  return vars;
}

/** The variables compose interpolates with: the env file (`.env` in the project dir, or `--env-file`), the process environment winning. */
export function interpolationVariables(envFile: string): Record<string, string> {
  const outer: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) outer[k] = v;
  return { ...readComposeEnvFile(envFile, outer), ...outer };
}

/** Parse, then interpolate (unless told not to), then validate, as compose loads a project. */
export function loadComposeInterpolated(file: string, vars: Record<string, string> | null, warn: (name: string) => void): ComposeModel {
  if (!existsSync(file)) throw new ComposeInvalidError(`open ${file}: no such file or directory`);
  const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new ComposeInvalidError(`${file}: yaml: ${doc.errors[0]!.message}`);
  const raw = doc.toJS();
  return validateCompose(vars ? interpolateValue(raw, vars, warn) : raw, file);
}
