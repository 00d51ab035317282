/**
 * The resources the lab runs, as the loaded template describes them: Lambda
 * functions (handler file in the bundled asset, environment, limits), state
 * machines (definition with its substitutions applied), buckets, topics,
 * secrets, SSM documents and schedules, and the deterministic physical names
 * and ARNs every resource type gets in place of a deployment.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  asString,
  LAB_ACCOUNT,
  LAB_REGION,
  LAB_URL_SUFFIX,
  resolveIntrinsics,
  stableId,
  TemplateError,
  type IntrinsicContext,
  type ResourceValue,
} from './intrinsics';

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

/** An EventBridge rule on the default bus that matches events (EventPattern); schedule rules are `schedules`. */
export interface LabEventRule {
  logicalId: string;
  name: string;
  eventPattern: Record<string, unknown>;
  state: string | undefined;
  targets: Array<{ arn: string; input: string | undefined }>;
}

/**
 * A custom resource made with aws-cdk-lib's AwsCustomResource: one SDK call
 * (`{service, action, parameters, physicalResourceId, outputPaths}`, JSON)
 * that CloudFormation has its provider function make at deployment. The lab
 * makes the same call against its own endpoints (custom-resources.ts).
 */
export interface LabCustomResource {
  logicalId: string;
  type: string;
  /** The `Create` call as the template resolves it (JSON text). */
  create: string;
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
  eventRules: Record<string, LabEventRule>;
  customResources: Record<string, LabCustomResource>;
  outputs: Record<string, string>;
}

/** A template with no resources yet. */
export function emptyLabTemplate(assemblyDir: string, stackNames: string[]): LabTemplate {
  return {
    assemblyDir,
    stackNames,
    region: LAB_REGION,
    account: LAB_ACCOUNT,
    functions: {},
    stateMachines: {},
    buckets: {},
    topics: {},
    secrets: {},
    documents: {},
    schedules: {},
    eventRules: {},
    customResources: {},
    outputs: {},
  };
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
export function defaultValue(type: string, logicalId: string, props: Record<string, unknown>, stack: string, override?: string): ResourceValue {
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

/** One resource of a stack's template, with its properties still holding intrinsics. */
export interface TemplateResource {
  logicalId: string;
  type: string;
  properties: Record<string, unknown>;
  metadata: Record<string, unknown> | undefined;
  /** Its Ref and attributes (see `defaultValue`). */
  value: ResourceValue;
}

/**
 * Adds the resource to `lab` when the lab runs its type; other types only
 * contribute their Ref and attributes. `dir` is the assembly folder the stack
 * was read from.
 */
export function addResource(lab: LabTemplate, r: TemplateResource, ctx: IntrinsicContext, dir: string): void {
  const { logicalId, value } = r;
  const props = r.properties;
  const resolveProp = (k: string) => resolveIntrinsics(props[k], ctx);
  switch (r.type) {
    case 'AWS::Lambda::Function': {
      const env = stringMap((resolveProp('Environment') as { Variables?: unknown } | undefined)?.Variables);
      const handler = resolveProp('Handler');
      lab.functions[logicalId] = {
        logicalId,
        arn: value.attrs.Arn!,
        functionName: value.ref,
        ...handlerLocation(dir, assetFolder(dir, r.metadata, props.Code), typeof handler === 'string' ? handler : undefined),
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
      const targets = (resolveProp('Targets') as Array<{ Arn: string; RoleArn?: string; Input?: string }> | undefined) ?? [];
      const pattern = resolveProp('EventPattern') as Record<string, unknown> | undefined;
      if (pattern) {
        lab.eventRules[logicalId] = {
          logicalId,
          name: value.ref,
          eventPattern: pattern,
          state: resolveProp('State') as string | undefined,
          targets: targets.map((t) => ({ arn: t.Arn, input: t.Input })),
        };
      }
      if (!expr) break;
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
    default: {
      // AwsCustomResource: Create/Update hold the SDK call (other custom resources, like LogRetention, do nothing in the lab)
      const create = r.type.startsWith('Custom::') ? resolveProp('Create') : undefined;
      if (typeof create === 'string') lab.customResources[logicalId] = { logicalId, type: r.type, create };
      break;
    }
  }
}
