/**
 * loadCloudAssembly / resolveIntrinsics on a hand-written cloud assembly, so
 * each intrinsic and naming rule is checked without a CDK synth.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCloudAssembly, resolveIntrinsics, UnsupportedIntrinsicError, type IntrinsicContext } from '../../../lab/template';

const STACK = 'Fleetwave-Lab-Stack-With-A-Rather-Long-Name-For-Trimming-Checks';

const template = {
  Parameters: { Tier: { Type: 'String', Default: 'staging' } },
  Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Tier' }, 'production'] } },
  Resources: {
    Backups7A1B2C3D: { Type: 'AWS::S3::Bucket', Properties: {} },
    AlertsTopic01: { Type: 'AWS::SNS::Topic', Properties: {} },
    RegistrySecret9: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'fleetwave/registry' } },
    ProdOnlyQueue: { Type: 'AWS::SQS::Queue', Condition: 'IsProd', Properties: {} },
    Worker11F36D0F: {
      Type: 'AWS::Lambda::Function',
      Metadata: { 'aws:asset:path': 'asset.abc' },
      Properties: {
        Handler: 'index.handler',
        Timeout: 30,
        MemorySize: 512,
        Environment: {
          Variables: {
            BUCKET: { Ref: 'Backups7A1B2C3D' },
            WHERE: { 'Fn::Sub': '${AWS::Region}/${AWS::AccountId}/${AWS::Partition}/${AWS::URLSuffix}/${AWS::StackName}/${Backups7A1B2C3D}' },
            TOPIC_NAME: { 'Fn::GetAtt': ['AlertsTopic01', 'TopicName'] },
            SECRET_ARN: { Ref: 'RegistrySecret9' },
            SECOND: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] },
            TIER: { 'Fn::If': ['IsProd', 'prod', 'not-prod'] },
            LITERAL: { 'Fn::Sub': ['${!Keep}-${Var}', { Var: { Ref: 'Tier' } }] },
          },
        },
      },
    },
    Parent0A1B: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: 'HostUpgrade',
        RoleArn: { 'Fn::GetAtt': ['Worker11F36D0F', 'Arn'] },
        DefinitionString: {
          'Fn::Join': [
            '',
            [
              '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"',
              { 'Fn::GetAtt': ['Worker11F36D0F', 'Arn'] },
              '","Payload.$":"$"},"End":true}}}',
            ],
          ],
        },
      },
    },
    PreflightDoc: { Type: 'AWS::SSM::Document', Properties: { Name: 'Fleetwave-Preflight', DocumentType: 'Command', Content: { schemaVersion: '2.2' } } },
    Nightly: {
      Type: 'AWS::Scheduler::Schedule',
      Properties: { ScheduleExpression: 'rate(1 day)', Target: { Arn: { Ref: 'Parent0A1B' }, RoleArn: 'arn:aws:iam::000000000000:role/x', Input: '{}' } },
    },
  },
  Outputs: {
    BucketName: { Value: { Ref: 'Backups7A1B2C3D' } },
    MachineArn: { Value: { Ref: 'Parent0A1B' } },
    ProdQueue: { Condition: 'IsProd', Value: { Ref: 'ProdOnlyQueue' } },
  },
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fw-template-'));
  mkdirSync(join(dir, 'asset.abc'));
  writeFileSync(join(dir, 'asset.abc', 'index.js'), 'exports.handler = async () => 1;');
  writeFileSync(join(dir, `${STACK}.template.json`), JSON.stringify(template));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ artifacts: { [STACK]: { type: 'aws:cloudformation:stack', properties: { templateFile: `${STACK}.template.json` } } } }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadCloudAssembly', () => {
  it('gives deterministic local names and a valid, trimmed bucket name', () => {
    const lab = loadCloudAssembly(dir);
    const bucket = lab.buckets.Backups7A1B2C3D!;
    expect(bucket.bucketName.length).toBeLessThanOrEqual(63);
    expect(bucket.bucketName).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
    expect(bucket.bucketName.startsWith('fleetwave-lab-stack')).toBe(true);
    expect(loadCloudAssembly(dir).buckets.Backups7A1B2C3D!.bucketName).toBe(bucket.bucketName);
    const fn = lab.functions.Worker11F36D0F!;
    expect(fn.functionName.length).toBeLessThanOrEqual(64);
    expect(fn.arn).toBe(`arn:aws:lambda:us-east-1:000000000000:function:${fn.functionName}`);
    expect(fn.handlerFile).toBe(join(dir, 'asset.abc', 'index.js'));
    expect(fn).toMatchObject({ handlerExport: 'handler', timeoutSeconds: 30, memoryMb: 512 });
  });

  it('resolves Ref, Fn::Sub pseudo parameters, GetAtt, Select/Split, If and escaped Sub text in function environments', () => {
    const lab = loadCloudAssembly(dir);
    const env = lab.functions.Worker11F36D0F!.env;
    expect(env.BUCKET).toBe(lab.buckets.Backups7A1B2C3D!.bucketName);
    expect(env.WHERE).toBe(`us-east-1/000000000000/aws/amazonaws.com/${STACK}/${env.BUCKET}`);
    expect(env.TOPIC_NAME).toBe(lab.topics.AlertsTopic01!.topicName);
    expect(env.SECRET_ARN).toBe(lab.secrets.RegistrySecret9!.arn);
    expect(env.SECRET_ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:fleetwave\/registry-[A-Za-z]{6}$/);
    expect(env.SECOND).toBe('b');
    expect(env.TIER).toBe('not-prod');
    expect(env.LITERAL).toBe('${Keep}-staging');
  });

  it('parses the state machine definition with the function ARN joined in', () => {
    const lab = loadCloudAssembly(dir);
    const sm = lab.stateMachines.Parent0A1B!;
    expect(sm.arn).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:HostUpgrade');
    const a = (sm.definition.States as Record<string, { Parameters: { FunctionName: string } }>).A!;
    expect(a.Parameters.FunctionName).toBe(lab.functions.Worker11F36D0F!.arn);
    expect(lab.documents.PreflightDoc).toMatchObject({ name: 'Fleetwave-Preflight', content: { schemaVersion: '2.2' } });
    expect(lab.schedules.Nightly).toMatchObject({ scheduleExpression: 'rate(1 day)', targets: [{ arn: sm.arn }] });
    expect(lab.outputs).toEqual({ BucketName: lab.buckets.Backups7A1B2C3D!.bucketName, MachineArn: sm.arn });
  });

  it('lets the caller override a resource, and the override flows into references', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:lab-registry-AbCdEf';
    const lab = loadCloudAssembly(dir, { overrides: { RegistrySecret9: arn, Backups7A1B2C3D: 'lab-backups' } });
    expect(lab.secrets.RegistrySecret9!.arn).toBe(arn);
    expect(lab.functions.Worker11F36D0F!.env.SECRET_ARN).toBe(arn);
    expect(lab.buckets.Backups7A1B2C3D).toMatchObject({ bucketName: 'lab-backups', arn: 'arn:aws:s3:::lab-backups' });
  });
});

describe('resolveIntrinsics', () => {
  const ctx: IntrinsicContext = {
    stackName: 'S',
    region: 'us-east-1',
    account: '000000000000',
    resources: {},
    parameters: {},
    conditions: {},
    mappings: {},
  };

  it('refuses Fn::ImportValue, which needs a deployed exporting stack', () => {
    expect(() => resolveIntrinsics({ 'Fn::ImportValue': 'SharedVpcId' }, ctx)).toThrow(UnsupportedIntrinsicError);
  });

  it('drops properties set to AWS::NoValue', () => {
    expect(resolveIntrinsics({ a: { Ref: 'AWS::NoValue' }, b: 1 }, ctx)).toEqual({ b: 1 });
  });
});
