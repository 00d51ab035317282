/**
 * CloudFormation intrinsic functions and pseudo parameters, resolved to plain
 * JSON the way a deployment in the lab's region and account would resolve
 * them: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If and
 * the condition functions, Fn::Base64, Fn::GetAZs, Fn::FindInMap.
 */
import { createHash } from 'node:crypto';

export const LAB_REGION = 'us-east-1';
export const LAB_ACCOUNT = '000000000000';
export const LAB_PARTITION = 'aws';
export const LAB_URL_SUFFIX = 'amazonaws.com';

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** `Fn::ImportValue` needs another deployed stack; the lab has none. */
export class UnsupportedIntrinsicError extends Error {
  override readonly name = 'UnsupportedIntrinsicError';
}

/** Values a resource contributes to intrinsic resolution. */
export interface ResourceValue {
  ref: string;
  attrs: Record<string, string>;
}

export interface IntrinsicContext {
  stackName: string;
  region: string;
  account: string;
  resources: Record<string, ResourceValue>;
  parameters: Record<string, unknown>;
  conditions: Record<string, boolean>;
  /** The template's `Mappings`: map → top-level key → second-level key → value. */
  mappings: Record<string, Record<string, Record<string, unknown>>>;
}

/** CloudFormation's `AWS::NoValue`: the property is removed. */
const NO_VALUE = Symbol('AWS::NoValue');

function pseudo(name: string, ctx: IntrinsicContext): string | typeof NO_VALUE | undefined {
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return ctx.account;
    case 'AWS::Partition':
      return LAB_PARTITION;
    case 'AWS::URLSuffix':
      return LAB_URL_SUFFIX;
    case 'AWS::StackName':
      return ctx.stackName;
    case 'AWS::StackId':
      return `arn:aws:cloudformation:${ctx.region}:${ctx.account}:stack/${ctx.stackName}/${stableId(ctx.stackName, 36)}`;
    case 'AWS::NoValue':
      return NO_VALUE;
    default:
      return undefined;
  }
}

function refValue(name: string, ctx: IntrinsicContext): unknown {
  const p = pseudo(name, ctx);
  if (p !== undefined) return p;
  if (name in ctx.parameters) return ctx.parameters[name];
  const r = ctx.resources[name];
  if (!r) throw new TemplateError(`Ref to unknown resource or parameter "${name}"`);
  return r.ref;
}

function getAtt(logicalId: string, attr: string, ctx: IntrinsicContext): string {
  const r = ctx.resources[logicalId];
  if (!r) throw new TemplateError(`Fn::GetAtt on unknown resource "${logicalId}"`);
  const v = r.attrs[attr];
  // Attributes the lab does not model still resolve, to a recognisable value,
  // so an unused output cannot break loading.
  return v ?? `${logicalId}.${attr}`;
}

export function asString(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TemplateError(`${what} must resolve to a string, got ${JSON.stringify(v)}`);
}

export function evalCondition(v: unknown, ctx: IntrinsicContext): boolean {
  if (typeof v === 'boolean') return v;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const [key, arg] = Object.entries(v as Record<string, unknown>)[0] ?? [];
    const args = Array.isArray(arg) ? arg : [arg];
    switch (key) {
      case 'Condition':
        return ctx.conditions[asString(arg, 'Condition')] ?? false;
      case 'Fn::Equals':
        return JSON.stringify(resolveIntrinsics(args[0], ctx)) === JSON.stringify(resolveIntrinsics(args[1], ctx));
      case 'Fn::Not':
        return !evalCondition(args[0], ctx);
      case 'Fn::And':
        return args.every((a) => evalCondition(a, ctx));
      case 'Fn::Or':
        return args.some((a) => evalCondition(a, ctx));
    }
  }
  throw new TemplateError(`unsupported condition ${JSON.stringify(v)}`);
}

function substitute(text: string, vars: Record<string, unknown>, ctx: IntrinsicContext): string {
  return text.replace(/\$\{([^}]*)\}/g, (whole, expr: string) => {
    if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
    const name = expr.trim();
    if (name in vars) return asString(resolveIntrinsics(vars[name], ctx), `Fn::Sub variable ${name}`);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(name.slice(0, dot), name.slice(dot + 1), ctx);
    const v = refValue(name, ctx);
    if (v === NO_VALUE) throw new TemplateError(`Fn::Sub cannot use AWS::NoValue`);
    return asString(v, `Fn::Sub \${${name}}`);
  });
}

/**
 * Resolves CloudFormation intrinsic functions in `value` to plain JSON.
 * `Fn::ImportValue` throws `UnsupportedIntrinsicError`.
 */
export function resolveIntrinsics(value: unknown, ctx: IntrinsicContext): unknown {
  const out = resolveInner(value, ctx);
  return out === NO_VALUE ? undefined : out;
}

function resolveInner(value: unknown, ctx: IntrinsicContext): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => resolveInner(v, ctx)).filter((v) => v !== NO_VALUE);
  }
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const key = keys[0]!;
    const arg = obj[key];
    switch (key) {
      case 'Ref':
        return refValue(asString(arg, 'Ref'), ctx);
      case 'Fn::GetAtt': {
        const [id, attr] = typeof arg === 'string' ? splitOnce(arg, '.') : (arg as unknown[]);
        return getAtt(asString(id, 'Fn::GetAtt resource'), asString(resolveInner(attr, ctx), 'Fn::GetAtt attribute'), ctx);
      }
      case 'Fn::Join': {
        const [delim, list] = arg as [string, unknown];
        const items = resolveInner(list, ctx);
        if (!Array.isArray(items)) throw new TemplateError('Fn::Join needs a list');
        return items.map((i) => asString(i, 'Fn::Join item')).join(delim);
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return substitute(arg, {}, ctx);
        const [text, vars] = arg as [string, Record<string, unknown>];
        return substitute(text, vars ?? {}, ctx);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = resolveInner(list, ctx);
        const i = Number(resolveInner(index, ctx));
        if (!Array.isArray(items) || !Number.isInteger(i) || i < 0 || i >= items.length) {
          throw new TemplateError(`Fn::Select index ${i} out of range`);
        }
        return items[i];
      }
      case 'Fn::Split': {
        const [delim, text] = arg as [string, unknown];
        return asString(resolveInner(text, ctx), 'Fn::Split source').split(delim);
      }
      case 'Fn::If': {
        const [cond, yes, no] = arg as [string, unknown, unknown];
        return resolveInner(ctx.conditions[cond] ? yes : no, ctx);
      }
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Condition':
        return evalCondition(obj, ctx);
      case 'Fn::Base64':
        return Buffer.from(asString(resolveInner(arg, ctx), 'Fn::Base64'), 'utf8').toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((s) => `${ctx.region}${s}`);
      case 'Fn::FindInMap': {
        const [map, top, second] = (arg as unknown[]).map((a) => asString(resolveInner(a, ctx), 'Fn::FindInMap key'));
        const v = ctx.mappings[map!]?.[top!]?.[second!];
        if (v === undefined) throw new TemplateError(`Fn::FindInMap ${map}.${top}.${second} not found`);
        return v;
      }
      case 'Fn::ImportValue':
        throw new UnsupportedIntrinsicError(
          `Fn::ImportValue ${JSON.stringify(arg)}: cross-stack imports need a deployed exporting stack, which the lab does not have`,
        );
    }
    if (key.startsWith('Fn::')) throw new TemplateError(`unsupported intrinsic ${key}`);
  }
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const r = resolveInner(v, ctx);
    if (r !== NO_VALUE) result[k] = r;
  }
  return result;
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

/** Deterministic pseudo-random id so names and ARNs are stable across runs. */
export function stableId(seed: string, length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
  const bytes = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; out.length < length; i++) out += alphabet[bytes[i % bytes.length]! % alphabet.length];
  return out;
}
