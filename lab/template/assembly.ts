/**
 * Reads the CDK cloud assembly (the output of `cdk synth` / `app.synth()`) and
 * resolves the CloudFormation template to the values the lab uses in place of
 * a deployment: deterministic names and ARNs in `us-east-1`, account
 * `000000000000`, state machine definitions parsed from their
 * `DefinitionString`, Lambda handlers located in their bundled asset folder.
 *
 * There is no second, hand-written description of the stack: everything the
 * lab runs comes from here. Any resource's value can be overridden (the lab
 * maps the registry secret to its own, for instance). Intrinsics are
 * intrinsics.ts; what each resource type becomes is resources.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { evalCondition, LAB_ACCOUNT, LAB_REGION, resolveIntrinsics, TemplateError, type IntrinsicContext, type ResourceValue } from './intrinsics';
import { addResource, defaultValue, emptyLabTemplate, type LabTemplate } from './resources';

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
 * Loads every stack of the cloud assembly in `dir` and resolves it to local
 * values. Logical ids are assumed unique across the loaded stacks (CDK apps
 * with one stack, or stages with distinct ids).
 */
export function loadCloudAssembly(dir: string, options: LoadOptions = {}): LabTemplate {
  const assemblyDir = resolve(dir);
  const stacks = readStacks(assemblyDir, options.stacks);
  if (stacks.length === 0) throw new TemplateError(`no CloudFormation stack in ${assemblyDir}`);
  const lab = emptyLabTemplate(assemblyDir, stacks.map((s) => s.stackName));
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
    const resource = { logicalId, type: res.Type, properties: res.Properties ?? {}, metadata: res.Metadata, value: resources[logicalId]! };
    addResource(lab, resource, ctx, stack.dir);
  }

  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition && !ctx.conditions[output.Condition]) continue;
    const v = resolveIntrinsics(output.Value, ctx);
    lab.outputs[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
}
