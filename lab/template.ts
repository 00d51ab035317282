/**
 * Reads the CDK cloud assembly (the output of `cdk synth` / `app.synth()`) and
 * resolves the CloudFormation template to the values the lab uses in place of
 * a deployment: deterministic names and ARNs in `us-east-1`, account
 * `000000000000`, state machine definitions parsed from their
 * `DefinitionString`, Lambda handlers located in their bundled asset folder.
 *
 * There is no second, hand-written description of the stack: everything the
 * lab runs comes from here. Any resource's value can be overridden (the lab
 * maps the registry secret to its own, for instance).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

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

export interface LabFunction {
  logicalId: string;
  arn: string;
  functionName: string;
  /** Absolute path of the bundled CommonJS file; undefined for inline or image code. */
  handlerFile: string | undefined;
  handlerExport: string;
  env: Record<string, string>;
  /** CloudFormation's default is 3 seconds. */
  timeoutSeconds: number;
  memoryMb: number;
  runtime: string | undefined;
}

export interface LabStateMachine {
  logicalId: string;
  arn: string;
  name: string;
  type: 'STANDARD' | 'EXPRESS';
  definition: Record<string, unknown>;
  /** The resolved definition text, as DescribeStateMachine returns it. */
  definitionString: string;
  roleArn: string | undefined;
}

export interface LabBucket {
  logicalId: string;
  bucketName: string;
  arn: string;
}

export interface LabTopic {
  logicalId: string;
  topicArn: string;
  topicName: string;
}

export interface LabSecret {
  logicalId: string;
  arn: string;
  name: string;
}

export interface LabDocument {
  logicalId: string;
  name: string;
  documentType: string | undefined;
  documentFormat: string | undefined;
  content: unknown;
}

export interface LabSchedule {
  logicalId: string;
  kind: 'scheduler' | 'events-rule';
  name: string;
  scheduleExpression: string | undefined;
  state: string | undefined;
  targets: Array<{ arn: string; roleArn: string | undefined; input: string | undefined }>;
}

export interface LabTemplate {
  /** The cloud assembly folder the template was read from. */
  assemblyDir: string;
  stackNames: string[];
  region: string;
  account: string;
  functions: Record<string, LabFunction>;
  stateMachines: Record<string, LabStateMachine>;
  buckets: Record<string, LabBucket>;
  topics: Record<string, LabTopic>;
  secrets: Record<string, LabSecret>;
  documents: Record<string, LabDocument>;
  schedules: Record<string, LabSchedule>;
  outputs: Record<string, string>;
}

/** A string replaces the resource's `Ref` (and derived name/ARN); a record sets attributes (`Ref` included). */
export type ResourceOverrides = Record<string, string | Record<string, string>>;

export interface LoadOptions {
  overrides?: ResourceOverrides;
  /** Only these stacks (artifact ids or stack names); default all. */
  stacks?: string[];
}

const CfnResource = z.object({
  Type: z.string(),
  Properties: z.record(z.string(), z.unknown()).optional(),
  Metadata: z.record(z.string(), z.unknown()).optional(),
  Condition: z.string().optional(),
});
const CfnTemplate = z.object({
  Resources: z.record(z.string(), CfnResource).default({}),
  Parameters: z.record(z.string(), z.object({ Default: z.unknown().optional() }).loose()).optional(),
  Conditions: z.record(z.string(), z.unknown()).optional(),
  Mappings: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))).optional(),
  Outputs: z
    .record(z.string(), z.object({ Value: z.unknown(), Condition: z.string().optional() }).loose())
    .optional(),
});
type CfnTemplate = z.infer<typeof CfnTemplate>;

const Manifest = z.object({
  artifacts: z
    .record(
      z.string(),
      z
        .object({
          type: z.string(),
          properties: z
            .object({
              templateFile: z.string().optional(),
              stackName: z.string().optional(),
              directoryName: z.string().optional(),
            })
            .loose()
            .optional(),
        })
        .loose(),
    )
    .default({}),
});

/** Values a resource contributes to intrinsic resolution. */
interface ResourceValue {
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
  mappings: NonNullable<CfnTemplate['Mappings']>;
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

function asString(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TemplateError(`${what} must resolve to a string, got ${JSON.stringify(v)}`);
}

function evalCondition(v: unknown, ctx: IntrinsicContext): boolean {
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
function stableId(seed: string, length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
  const bytes = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; out.length < length; i++) out += alphabet[bytes[i % bytes.length]! % alphabet.length];
  return out;
}

/** Lower-case, valid S3 bucket name of at most 63 characters. */
function bucketNameFor(stack: string, logicalId: string): string {
  const raw = `${stack}-${logicalId}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  let name = raw.slice(0, 63).replace(/[.-]+$/, '');
  if (!/^[a-z0-9]/.test(name)) name = `b${name}`.slice(0, 63);
  return name;
}

const arnOf = {
  lambda: (name: string) => `arn:aws:lambda:${LAB_REGION}:${LAB_ACCOUNT}:function:${name}`,
  stateMachine: (name: string) => `arn:aws:states:${LAB_REGION}:${LAB_ACCOUNT}:stateMachine:${name}`,
  bucket: (name: string) => `arn:aws:s3:::${name}`,
  topic: (name: string) => `arn:aws:sns:${LAB_REGION}:${LAB_ACCOUNT}:${name}`,
  secret: (name: string) =>
    `arn:aws:secretsmanager:${LAB_REGION}:${LAB_ACCOUNT}:secret:${name}-${stableId(name, 6, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz')}`,
  role: (name: string) => `arn:aws:iam::${LAB_ACCOUNT}:role/${name}`,
  document: (name: string) => `arn:aws:ssm:${LAB_REGION}:${LAB_ACCOUNT}:document/${name}`,
  schedule: (name: string) => `arn:aws:scheduler:${LAB_REGION}:${LAB_ACCOUNT}:schedule/default/${name}`,
};

const lastSegment = (arn: string, sep: string | RegExp) => arn.split(sep).pop() ?? arn;

/**
 * The default Ref/attribute values of one resource, by type. `name` is the
 * physical name (from the properties or generated); for types whose Ref is an
 * ARN the override string is an ARN and the name is derived from it.
 */
function defaultValue(type: string, logicalId: string, props: Record<string, unknown>, stack: string, override?: string): ResourceValue {
  const prop = (k: string) => (typeof props[k] === 'string' ? (props[k] as string) : undefined);
  const generated = `${stack}-${logicalId}`;
  switch (type) {
    case 'AWS::Lambda::Function': {
      const name = override ?? prop('FunctionName') ?? generated.slice(0, 64);
      const arn = name.startsWith('arn:') ? name : arnOf.lambda(name);
      return { ref: lastSegment(arn, ':function:'), attrs: { Arn: arn } };
    }
    case 'AWS::StepFunctions::StateMachine': {
      const arn = override ?? arnOf.stateMachine(prop('StateMachineName') ?? logicalId);
      return { ref: arn, attrs: { Arn: arn, Name: lastSegment(arn, ':stateMachine:') } };
    }
    case 'AWS::S3::Bucket': {
      const name = override ?? prop('BucketName') ?? bucketNameFor(stack, logicalId);
      return {
        ref: name,
        attrs: {
          Arn: arnOf.bucket(name),
          DomainName: `${name}.s3.${LAB_URL_SUFFIX}`,
          RegionalDomainName: `${name}.s3.${LAB_REGION}.${LAB_URL_SUFFIX}`,
          WebsiteURL: `http://${name}.s3-website-${LAB_REGION}.${LAB_URL_SUFFIX}`,
        },
      };
    }
    case 'AWS::SNS::Topic': {
      const arn = override ?? arnOf.topic(prop('TopicName') ?? generated.slice(0, 256));
      return { ref: arn, attrs: { TopicArn: arn, TopicName: lastSegment(arn, ':') } };
    }
    case 'AWS::SecretsManager::Secret': {
      const arn = override ?? arnOf.secret(prop('Name') ?? `${logicalId}-${stableId(generated, 12)}`);
      const name = override ? lastSegment(arn, ':secret:') : (prop('Name') ?? `${logicalId}-${stableId(generated, 12)}`);
      return { ref: arn, attrs: { Id: arn, Name: name } };
    }
    case 'AWS::SSM::Document': {
      const name = override ?? prop('Name') ?? generated;
      return { ref: name, attrs: { Arn: arnOf.document(name) } };
    }
    case 'AWS::IAM::Role': {
      const name = override ?? prop('RoleName') ?? generated.slice(0, 64);
      return { ref: name, attrs: { Arn: arnOf.role(name), RoleId: `AROA${stableId(name, 17).toUpperCase()}` } };
    }
    case 'AWS::Scheduler::Schedule': {
      const name = override ?? prop('Name') ?? generated.slice(0, 64);
      return { ref: name, attrs: { Arn: arnOf.schedule(name) } };
    }
    case 'AWS::Logs::LogGroup': {
      const name = override ?? prop('LogGroupName') ?? `${generated}`;
      return { ref: name, attrs: { Arn: `arn:aws:logs:${LAB_REGION}:${LAB_ACCOUNT}:log-group:${name}:*` } };
    }
    case 'AWS::KMS::Key': {
      const id = override ?? stableId(generated, 36);
      return { ref: id, attrs: { Arn: `arn:aws:kms:${LAB_REGION}:${LAB_ACCOUNT}:key/${id}`, KeyId: id } };
    }
    case 'AWS::SQS::Queue': {
      const name = prop('QueueName') ?? generated.slice(0, 80);
      const url = override ?? `https://sqs.${LAB_REGION}.${LAB_URL_SUFFIX}/${LAB_ACCOUNT}/${name}`;
      return { ref: url, attrs: { Arn: `arn:aws:sqs:${LAB_REGION}:${LAB_ACCOUNT}:${name}`, QueueName: name, QueueUrl: url } };
    }
    default: {
      // Unmodelled types still resolve deterministically, so a template that
      // uses them (VPCs, alarms, custom resources) loads.
      const service = type.split('::')[1]?.toLowerCase() ?? 'unknown';
      const ref = override ?? generated;
      return { ref, attrs: { Arn: `arn:aws:${service}:${LAB_REGION}:${LAB_ACCOUNT}:${type.split('::')[2]?.toLowerCase() ?? 'resource'}/${ref}` } };
    }
  }
}

interface StackFile {
  stackName: string;
  dir: string;
  template: CfnTemplate;
}

function readStacks(assemblyDir: string, only?: string[]): StackFile[] {
  const manifestPath = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new TemplateError(`${manifestPath} not found: synthesize the CDK app first`);
  const manifest = Manifest.parse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  const stacks: StackFile[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts)) {
    const props = artifact.properties ?? {};
    if (artifact.type === 'aws:cloudformation:stack') {
      const stackName = props.stackName ?? id;
      if (only && !only.includes(id) && !only.includes(stackName)) continue;
      const file = join(assemblyDir, props.templateFile ?? `${id}.template.json`);
      const template = CfnTemplate.parse(JSON.parse(readFileSync(file, 'utf8')));
      stacks.push({ stackName, dir: assemblyDir, template });
    } else if (artifact.type === 'cdk:cloud-assembly' && props.directoryName) {
      // Stages synthesize into nested assemblies.
      stacks.push(...readStacks(join(assemblyDir, props.directoryName), only));
    }
  }
  return stacks;
}

/**
 * The asset folder of a function: `Metadata["aws:asset:path"]` (written by the
 * CDK CLI), else `asset.<hash>` named by the code's S3 key (an `app.synth()`
 * without asset metadata).
 */
function assetFolder(dir: string, metadata: Record<string, unknown> | undefined, code: unknown): string | undefined {
  const assetPath = metadata?.['aws:asset:path'];
  if (typeof assetPath === 'string') return assetPath;
  const key = (code as { S3Key?: unknown } | undefined)?.S3Key;
  const hash = typeof key === 'string' ? /^([a-f0-9]{64})\.zip$/.exec(key)?.[1] : undefined;
  return hash && existsSync(join(dir, `asset.${hash}`)) ? `asset.${hash}` : undefined;
}

function handlerLocation(dir: string, assetPath: string | undefined, handler: string | undefined) {
  const fallbackExport = 'handler';
  if (!handler) return { handlerFile: undefined, handlerExport: fallbackExport };
  const dot = handler.lastIndexOf('.');
  const modulePath = dot > 0 ? handler.slice(0, dot) : handler;
  const handlerExport = dot > 0 ? handler.slice(dot + 1) : fallbackExport;
  if (assetPath === undefined) return { handlerFile: undefined, handlerExport };
  const base = resolve(dir, assetPath, modulePath);
  const handlerFile = ['.js', '.cjs', '.mjs'].map((ext) => base + ext).find((f) => existsSync(f)) ?? `${base}.js`;
  return { handlerFile, handlerExport };
}

const stringMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x !== undefined && x !== null) out[k] = typeof x === 'string' ? x : JSON.stringify(x);
    }
  }
  return out;
};

/**
 * Loads every stack of the cloud assembly in `dir` and resolves it to local
 * values. Logical ids are assumed unique across the loaded stacks (CDK apps
 * with one stack, or stages with distinct ids).
 */
export function loadCloudAssembly(dir: string, options: LoadOptions = {}): LabTemplate {
  const assemblyDir = resolve(dir);
  const stacks = readStacks(assemblyDir, options.stacks);
  if (stacks.length === 0) throw new TemplateError(`no CloudFormation stack in ${assemblyDir}`);
  const lab: LabTemplate = {
    assemblyDir,
    stackNames: stacks.map((s) => s.stackName),
    region: LAB_REGION,
    account: LAB_ACCOUNT,
    functions: {},
    stateMachines: {},
    buckets: {},
    topics: {},
    secrets: {},
    documents: {},
    schedules: {},
    outputs: {},
  };
  for (const stack of stacks) loadStack(stack, options.overrides ?? {}, lab);
  return lab;
}

function loadStack(stack: StackFile, overrides: ResourceOverrides, lab: LabTemplate): void {
  const { template, stackName } = stack;
  const parameters: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(template.Parameters ?? {})) parameters[k] = p.Default;

  const resources: Record<string, ResourceValue> = {};
  const ctx: IntrinsicContext = {
    stackName,
    region: LAB_REGION,
    account: LAB_ACCOUNT,
    resources,
    parameters,
    conditions: {},
    mappings: template.Mappings ?? {},
  };
  for (const [name, cond] of Object.entries(template.Conditions ?? {})) {
    ctx.conditions[name] = evalCondition(cond, ctx);
  }

  // Physical names may themselves be intrinsics (e.g. Fn::Join with the stack
  // name); resolve the naming props first with a context that holds no
  // resources yet, falling back to the generated name when they reference one.
  const nameProps = ['FunctionName', 'StateMachineName', 'BucketName', 'TopicName', 'Name', 'RoleName', 'LogGroupName', 'QueueName'];
  for (const [logicalId, res] of Object.entries(template.Resources)) {
    if (res.Condition && !ctx.conditions[res.Condition]) continue;
    const props: Record<string, unknown> = {};
    for (const k of nameProps) {
      if (res.Properties?.[k] === undefined) continue;
      try {
        props[k] = resolveIntrinsics(res.Properties[k], ctx);
      } catch {
        /* references another resource: keep the generated name */
      }
    }
    const override = overrides[logicalId];
    const value = defaultValue(res.Type, logicalId, props, stackName, typeof override === 'string' ? override : undefined);
    if (override && typeof override === 'object') {
      const { Ref, ...attrs } = override;
      if (Ref !== undefined) value.ref = Ref;
      Object.assign(value.attrs, attrs);
    }
    resources[logicalId] = value;
  }

  for (const [logicalId, res] of Object.entries(template.Resources)) {
    if (res.Condition && !ctx.conditions[res.Condition]) continue;
    const value = resources[logicalId]!;
    const props = (res.Properties ?? {}) as Record<string, unknown>;
    const resolveProp = (k: string) => resolveIntrinsics(props[k], ctx);
    switch (res.Type) {
      case 'AWS::Lambda::Function': {
        const env = stringMap((resolveProp('Environment') as { Variables?: unknown } | undefined)?.Variables);
        const handler = resolveProp('Handler');
        lab.functions[logicalId] = {
          logicalId,
          arn: value.attrs.Arn!,
          functionName: value.ref,
          ...handlerLocation(stack.dir, assetFolder(stack.dir, res.Metadata, props.Code), typeof handler === 'string' ? handler : undefined),
          env,
          timeoutSeconds: Number(resolveProp('Timeout') ?? 3),
          memoryMb: Number(resolveProp('MemorySize') ?? 128),
          runtime: resolveProp('Runtime') as string | undefined,
        };
        break;
      }
      case 'AWS::StepFunctions::StateMachine': {
        let text: string;
        if (props.DefinitionString !== undefined) {
          text = asString(resolveProp('DefinitionString'), `${logicalId}.DefinitionString`);
        } else if (props.Definition !== undefined) {
          text = JSON.stringify(resolveProp('Definition'));
        } else {
          throw new TemplateError(`${logicalId}: DefinitionS3Location is not supported by the lab`);
        }
        const subs = stringMap(resolveProp('DefinitionSubstitutions'));
        text = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, k: string) => (k in subs ? subs[k]! : whole));
        let definition: Record<string, unknown>;
        try {
          definition = JSON.parse(text) as Record<string, unknown>;
        } catch (err) {
          throw new TemplateError(`${logicalId}: definition is not JSON: ${(err as Error).message}`);
        }
        const type = resolveProp('StateMachineType');
        lab.stateMachines[logicalId] = {
          logicalId,
          arn: value.ref,
          name: value.attrs.Name!,
          type: type === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
          definition,
          definitionString: text,
          roleArn: resolveProp('RoleArn') as string | undefined,
        };
        break;
      }
      case 'AWS::S3::Bucket':
        lab.buckets[logicalId] = { logicalId, bucketName: value.ref, arn: value.attrs.Arn! };
        break;
      case 'AWS::SNS::Topic':
        lab.topics[logicalId] = { logicalId, topicArn: value.ref, topicName: value.attrs.TopicName! };
        break;
      case 'AWS::SecretsManager::Secret':
        lab.secrets[logicalId] = { logicalId, arn: value.ref, name: value.attrs.Name! };
        break;
      case 'AWS::SSM::Document':
        lab.documents[logicalId] = {
          logicalId,
          name: value.ref,
          documentType: resolveProp('DocumentType') as string | undefined,
          documentFormat: resolveProp('DocumentFormat') as string | undefined,
          content: resolveProp('Content'),
        };
        break;
      case 'AWS::Scheduler::Schedule': {
        const target = resolveProp('Target') as { Arn?: string; RoleArn?: string; Input?: string } | undefined;
        lab.schedules[logicalId] = {
          logicalId,
          kind: 'scheduler',
          name: value.ref,
          scheduleExpression: resolveProp('ScheduleExpression') as string | undefined,
          state: resolveProp('State') as string | undefined,
          targets: target?.Arn ? [{ arn: target.Arn, roleArn: target.RoleArn, input: target.Input }] : [],
        };
        break;
      }
      case 'AWS::Events::Rule': {
        const expr = resolveProp('ScheduleExpression') as string | undefined;
        if (!expr) break;
        const targets = (resolveProp('Targets') as Array<{ Arn: string; RoleArn?: string; Input?: string }> | undefined) ?? [];
        lab.schedules[logicalId] = {
          logicalId,
          kind: 'events-rule',
          name: value.ref,
          scheduleExpression: expr,
          state: resolveProp('State') as string | undefined,
          targets: targets.map((t) => ({ arn: t.Arn, roleArn: t.RoleArn, input: t.Input })),
        };
        break;
      }
    }
  }

  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition && !ctx.conditions[output.Condition]) continue;
    const v = resolveIntrinsics(output.Value, ctx);
    lab.outputs[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
}
