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
  const parsed = ComposeModel.safeParse(doc.toJS());
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
