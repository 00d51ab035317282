/**
 * Lab fidelity for versions in SSM, through the real @aws-sdk/client-ssm:
 * each managed node's own SSM Agent version (DescribeInstanceInformation) and
 * what an agent older than 3.3.2746.0 does with `interpolationType: ENV_VAR`;
 * document versions (DescribeDocument, UpdateDocument,
 * UpdateDocumentDefaultVersion) and the DocumentVersion SendCommand runs;
 * the stack's AwsCustomResource calls made against the lab at deployment.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeDocumentCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  UpdateDocumentCommand,
  UpdateDocumentDefaultVersionCommand,
  type GetCommandInvocationCommandOutput,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { startSsm, type LabSsm } from '../../../lab/ssm';
import { deployCustomResources, loadCloudAssembly } from '../../../lab/template';

const NEW_AGENT = 'i-0aaaaaaaaaaaaaaa1';
const OLD_AGENT = 'i-0bbbbbbbbbbbbbbb2';

const echoDoc = (word: string) => ({
  schemaVersion: '2.2',
  description: 'prints its parameter',
  parameters: { Message: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^[a-z ]{1,40}$' } },
  mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand: [`echo "${word}=\${SSM_Message-unset}"`] } }],
});

let root: string;
let ssm: LabSsm;
let client: SSMClient;

async function run(instanceId: string, extra: Partial<ConstructorParameters<typeof SendCommandCommand>[0]> = {}): Promise<GetCommandInvocationCommandOutput & { sentVersion?: string }> {
  const out = await client.send(new SendCommandCommand({ DocumentName: 'Lab-Versioned', InstanceIds: [instanceId], Parameters: { Message: ['hello'] }, ...extra }));
  const commandId = out.Command!.CommandId!;
  for (let i = 0; i < 200; i++) {
    try {
      const inv = await client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      if (inv.Status === 'Success' || inv.Status === 'Failed') return { ...inv, sentVersion: out.Command!.DocumentVersion };
    } catch (err) {
      if ((err as Error).name !== 'InvocationDoesNotExist') throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the command did not finish');
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fw-lab-ssm-versions-'));
  ssm = await startSsm({ documents: new Map([['Lab-Versioned', echoDoc('first')]]), region: 'us-east-1', options: { invocationVisibilityDelayMs: 50 } });
  ssm.registerInstance({ instanceId: NEW_AGENT, hostRoot: mkdtempSync(join(root, 'new-')) });
  ssm.registerInstance({ instanceId: OLD_AGENT, hostRoot: mkdtempSync(join(root, 'old-')), agentVersion: '3.2.582.0' });
  client = new SSMClient({ region: 'us-east-1', endpoint: ssm.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
});

afterAll(async () => {
  client?.destroy();
  await ssm?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('SSM Agent versions', () => {
  it('answers each managed node with the agent version it runs', async () => {
    const info = await client.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [NEW_AGENT, OLD_AGENT] }] }));
    // InstanceInformation.AgentVersion is per node: "The version of SSM Agent running on your Linux managed node."
    const byId = Object.fromEntries((info.InstanceInformationList ?? []).map((i) => [i.InstanceId, [i.AgentVersion, i.IsLatestVersion]]));
    expect(byId).toEqual({ [NEW_AGENT]: ['3.3.2746.0', true], [OLD_AGENT]: ['3.2.582.0', false] });

    ssm.setAgentVersion(OLD_AGENT, '3.3.10000.0');
    const updated = await client.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [OLD_AGENT] }] }));
    expect(updated.InstanceInformationList?.[0]?.AgentVersion).toBe('3.3.10000.0');
    ssm.setAgentVersion(OLD_AGENT, '3.2.582.0');
  });

  it('runs an old agent\'s scripts without the SSM_<Name> variables of ENV_VAR parameters', async () => {
    // parameter-troubleshooting.html: "SSM Agent version doesn't support environment variable
    // interpolation" — ENV_VAR needs 3.3.2746.0 or later; an older agent ignores interpolationType.
    expect((await run(NEW_AGENT)).StandardOutputContent).toBe('first=hello\n');
    expect((await run(OLD_AGENT)).StandardOutputContent).toBe('first=unset\n');
  });
});

describe('document versions', () => {
  it('keeps each UpdateDocument as a new version; the default moves only with UpdateDocumentDefaultVersion', async () => {
    const before = await client.send(new DescribeDocumentCommand({ Name: 'Lab-Versioned' }));
    expect(before.Document).toMatchObject({ Name: 'Lab-Versioned', DocumentVersion: '1', LatestVersion: '1', DefaultVersion: '1', HashType: 'Sha256', Status: 'Active' });

    // UpdateDocument adds a version; "Currently, Systems Manager supports updating only the latest version"
    const updated = await client.send(new UpdateDocumentCommand({ Name: 'Lab-Versioned', Content: JSON.stringify(echoDoc('second')), DocumentVersion: '$LATEST' }));
    expect(updated.DocumentDescription).toMatchObject({ DocumentVersion: '2', LatestVersion: '2', DefaultVersion: '1' });
    expect(updated.DocumentDescription!.Hash).not.toBe(before.Document!.Hash);
    await expect(client.send(new UpdateDocumentCommand({ Name: 'Lab-Versioned', Content: JSON.stringify(echoDoc('third')), DocumentVersion: '1' }))).rejects.toMatchObject({
      name: 'InvalidDocumentVersion',
    });
    await expect(client.send(new UpdateDocumentCommand({ Name: 'Lab-Versioned', Content: JSON.stringify(echoDoc('second')) }))).rejects.toMatchObject({
      name: 'DuplicateDocumentContent',
    });

    // SendCommand without DocumentVersion runs $DEFAULT (still 1); $LATEST and a number run what they name
    expect((await run(NEW_AGENT)).StandardOutputContent).toBe('first=hello\n');
    expect((await run(NEW_AGENT, { DocumentVersion: '$LATEST' })).StandardOutputContent).toBe('second=hello\n');
    await client.send(new UpdateDocumentDefaultVersionCommand({ Name: 'Lab-Versioned', DocumentVersion: '2' }));
    expect((await client.send(new DescribeDocumentCommand({ Name: 'Lab-Versioned' }))).Document).toMatchObject({ DocumentVersion: '2', DefaultVersion: '2' });
    const pinned = await run(NEW_AGENT, { DocumentVersion: '1' });
    expect(pinned.StandardOutputContent).toBe('first=hello\n');
    // the Command is the request as received: the version asked for
    expect(pinned.sentVersion).toBe('1');
    expect((await run(NEW_AGENT)).sentVersion).toBe('$DEFAULT');
    const listed = await client.send(new ListCommandsCommand({ CommandId: pinned.CommandId! }));
    expect(listed.Commands?.[0]?.DocumentVersion).toBe('1');
  });

  it('refuses a version the document does not have with InvalidDocumentVersion, sending nothing', async () => {
    const sentBefore = ssm.sentCommands().length;
    for (const DocumentVersion of ['9', '0', 'latest']) {
      await expect(
        client.send(new SendCommandCommand({ DocumentName: 'Lab-Versioned', InstanceIds: [NEW_AGENT], Parameters: { Message: ['hello'] }, DocumentVersion })),
      ).rejects.toMatchObject({ name: 'InvalidDocumentVersion' });
    }
    await expect(client.send(new UpdateDocumentDefaultVersionCommand({ Name: 'Lab-Versioned', DocumentVersion: '9' }))).rejects.toMatchObject({ name: 'InvalidDocumentVersion' });
    await expect(client.send(new DescribeDocumentCommand({ Name: 'Lab-Nope' }))).rejects.toMatchObject({ name: 'InvalidDocument' });
    expect(ssm.sentCommands().length).toBe(sentBefore);
  });

  it('deploys a changed document as CloudFormation does with UpdateMethod NewVersion: a new version, made the default', async () => {
    ssm.registerDocument('Lab-Deployed', echoDoc('vone'));
    ssm.registerDocument('Lab-Deployed', echoDoc('vone')); // unchanged: no new version
    expect((await client.send(new DescribeDocumentCommand({ Name: 'Lab-Deployed' }))).Document).toMatchObject({ LatestVersion: '1', DefaultVersion: '1' });
    ssm.registerDocument('Lab-Deployed', echoDoc('vtwo'));
    expect((await client.send(new DescribeDocumentCommand({ Name: 'Lab-Deployed' }))).Document).toMatchObject({ LatestVersion: '2', DefaultVersion: '2' });
  });
});

describe("the stack's custom resources in the lab", () => {
  it('makes the AwsCustomResource call against the lab and resolves what reads its attributes', async () => {
    // a stack like fleetwave's: a document, its DefaultVersion read by an AwsCustomResource, a function environment from it
    const dir = mkdtempSync(join(root, 'assembly-'));
    const app = new App({ outdir: dir });
    const stack = new Stack(app, 'Versions');
    const doc = new CfnDocument(stack, 'Doc', { name: 'Lab-Versioned', documentType: 'Command', updateMethod: 'NewVersion', content: echoDoc('first') });
    const reader = new AwsCustomResource(stack, 'Reader', {
      onUpdate: {
        service: 'SSM',
        action: 'DescribeDocument',
        parameters: { Name: doc.ref },
        physicalResourceId: PhysicalResourceId.of('Lab-Versioned@abc'),
        outputPaths: ['Document.DefaultVersion'],
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    new CfnOutput(stack, 'Deployed', { value: stack.toJsonString({ 'Lab-Versioned': reader.getResponseField('Document.DefaultVersion') }) });
    app.synth();

    const loaded = loadCloudAssembly(dir);
    expect(Object.values(loaded.customResources).map((r) => JSON.parse(r.create).action)).toEqual(['DescribeDocument']);
    // the earlier tests left version 2 as Lab-Versioned's default
    const env = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'lab', AWS_SECRET_ACCESS_KEY: 'lab', AWS_ENDPOINT_URL_SSM: ssm.endpoint };
    const deployed = await deployCustomResources(loaded, env);
    expect(JSON.parse(deployed.outputs.Deployed!)).toEqual({ 'Lab-Versioned': '2' });

    const missing = new App({ outdir: mkdtempSync(join(root, 'assembly-')) });
    const other = new Stack(missing, 'Missing');
    new AwsCustomResource(other, 'Reader', {
      onUpdate: { service: 'SSM', action: 'DescribeDocument', parameters: { Name: 'Lab-Nope' }, physicalResourceId: PhysicalResourceId.of('x') },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    missing.synth();
    // a failing call fails the deployment, naming the resource and SSM's error
    await expect(deployCustomResources(loadCloudAssembly(missing.outdir), env)).rejects.toThrow(/Reader.*\(SSM DescribeDocument\) failed in the lab: InvalidDocument/);
  });
});
