/**
 * The stack's AwsCustomResources, made the way their provider function makes
 * them at deployment: the one SDK call each describes, against the lab's
 * endpoints, its response flattened (`Document.DefaultVersion`) and kept to
 * the `outputPaths` asked for. What the call answers becomes the resource's
 * attributes (`Fn::GetAtt`), so a Lambda environment built from them holds
 * what a deployment would have given it.
 *
 * The provider's own handler cannot run here: it answers CloudFormation by an
 * HTTPS PUT to a presigned S3 URL. The call it makes is the same.
 */
import { SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import * as ssm from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { loadCloudAssembly } from './assembly';
import { TemplateError } from './intrinsics';
import type { LabCustomResource, LabTemplate } from './resources';

/** aws-cdk-lib custom-resources `AwsSdkCall`, as the template carries it. */
const AwsSdkCall = z.object({
  service: z.string(),
  action: z.string(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  physicalResourceId: z.object({ id: z.string().optional(), responsePath: z.string().optional() }).optional(),
  outputPaths: z.array(z.string()).optional(),
  outputPath: z.string().optional(),
  region: z.string().optional(),
  assumedRoleArn: z.string().optional(),
  ignoreErrorCodesMatching: z.string().optional(),
});

/** The endpoints and credentials of the lab (its `env`). */
export type LabEndpoints = Record<string, string>;

/** The handler's flatten: nested objects become dotted keys; Buffers become text. */
function flatten(value: unknown, path: string[] = [], out: Record<string, string> = {}): Record<string, string> {
  if (value === null || value === undefined) return out;
  if (Buffer.isBuffer(value)) out[path.join('.')] = value.toString('utf8');
  else if (typeof value === 'object') for (const [k, v] of Object.entries(value as object)) flatten(v, [...path, k], out);
  else out[path.join('.')] = String(value);
  return out;
}

type Command = new (input: unknown) => Parameters<SSMClient['send']>[0];

/** The SDK clients the lab's custom resources may call, by the service name AwsCustomResource uses. */
function clientFor(service: string, env: LabEndpoints): { client: SSMClient; commands: Record<string, unknown> } {
  const config: SSMClientConfig = {
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
  };
  switch (service.toLowerCase().replace(/^@aws-sdk\/client-/, '')) {
    case 'ssm':
      return { client: new SSMClient({ ...config, endpoint: env.AWS_ENDPOINT_URL_SSM }), commands: ssm as Record<string, unknown> };
    default:
      throw new TemplateError(`custom resource calls ${service}, which the lab does not serve`);
  }
}

/** Makes one custom resource's call; its Ref (physical id) and attributes. */
async function make(resource: LabCustomResource, env: LabEndpoints): Promise<Record<string, string>> {
  const parsed = AwsSdkCall.safeParse(JSON.parse(resource.create));
  if (!parsed.success) throw new TemplateError(`${resource.logicalId}: not an AwsCustomResource call: ${parsed.error.message}`);
  const call = parsed.data;
  if (call.assumedRoleArn || call.region) throw new TemplateError(`${resource.logicalId}: the lab makes calls in its own region and account only`);
  const { client, commands } = clientFor(call.service, env);
  const action = call.action.charAt(0).toUpperCase() + call.action.slice(1);
  const CommandClass = commands[`${action}Command`] as Command | undefined;
  if (!CommandClass) throw new TemplateError(`${resource.logicalId}: ${call.service} has no action ${call.action}`);
  try {
    const response = flatten(await client.send(new CommandClass(call.parameters ?? {})));
    const paths = call.outputPaths ?? (call.outputPath ? [call.outputPath] : undefined);
    const attrs = paths ? Object.fromEntries(Object.entries(response).filter(([k]) => paths.some((p) => k.startsWith(p)))) : response;
    const id = call.physicalResourceId?.id ?? (call.physicalResourceId?.responsePath ? response[call.physicalResourceId.responsePath] : undefined);
    return { ...attrs, Ref: id ?? resource.logicalId };
  } catch (err) {
    if (call.ignoreErrorCodesMatching && new RegExp(call.ignoreErrorCodesMatching).test((err as Error).name)) return { Ref: resource.logicalId };
    throw new TemplateError(`${resource.logicalId} (${call.service} ${call.action}) failed in the lab: ${(err as Error).name}: ${(err as Error).message}`);
  } finally {
    client.destroy();
  }
}

/**
 * Deploys the template's custom resources against the lab (once the resources
 * they read exist there) and returns the template resolved with their
 * attributes; a template without any is returned as it is.
 */
export async function deployCustomResources(template: LabTemplate, env: LabEndpoints): Promise<LabTemplate> {
  const resources = Object.values(template.customResources);
  if (resources.length === 0) return template;
  const overrides: Record<string, Record<string, string>> = {};
  for (const resource of resources) overrides[resource.logicalId] = await make(resource, env);
  return loadCloudAssembly(template.assemblyDir, { overrides, stacks: template.stackNames });
}
