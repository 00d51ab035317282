/**
 * Assertions on the synthesized template: the properties that keep backups
 * safe and the workflows honest. Definitions are parsed, never string-matched.
 */
import { Match } from 'aws-cdk-lib/assertions';
import aslValidator from 'asl-validator';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHILD_EXECUTION_ERRORS, TRANSIENT_ERRORS } from '../../state-machines/task-policy';
import { definitionOf, reachable, synthApp, type AslDefinition, type AslState, type Synthesized } from '../support/synth';

let s: Synthesized;
let upgrade: AslDefinition;
let rollback: AslDefinition;
const rollouts: Record<string, AslDefinition> = {};

beforeAll(() => {
  s = synthApp();
  upgrade = definitionOf(s, 'HostUpgrade');
  rollback = definitionOf(s, 'HostRollback');
  for (const name of ['FleetRollout', 'RolloutBatch', 'RolloutRollback']) rollouts[name] = definitionOf(s, name);
}, 120_000);

const resourcesOfType = (type: string) => Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
const tasks = (def: AslDefinition) => Object.entries(def.States).filter(([, st]) => st.Type === 'Task');

describe('backup bucket', () => {
  it('is versioned, KMS-encrypted, fully private and logs access', () => {
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
    });
  });

  it('expires incomplete uploads and old versions but keeps current backups', () => {
    const [, bucket] = resourcesOfType('AWS::S3::Bucket').find(([, r]) => r.Properties.VersioningConfiguration)!;
    const rules = bucket.Properties.LifecycleConfiguration.Rules as Record<string, any>[];
    expect(rules.find((r) => r.Id === 'abort-incomplete-uploads')?.AbortIncompleteMultipartUpload).toEqual({ DaysAfterInitiation: 1 });
    const backups = rules.find((r) => r.Id === 'backups')!;
    expect(backups.NoncurrentVersionExpiration.NoncurrentDays).toBeGreaterThanOrEqual(30);
    expect(backups.ExpirationInDays).toBeUndefined();
  });

  it('refuses plain HTTP and any delete by the orchestrator roles', () => {
    const policies = resourcesOfType('AWS::S3::BucketPolicy').map(([, r]) => r.Properties.PolicyDocument.Statement as Record<string, any>[]);
    const statements = policies.flat();
    expect(statements.some((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(true);
    const denyDeletes = statements.find((st) => st.Sid === 'BackupsCannotBeDeletedByTheOrchestrator')!;
    expect(denyDeletes.Effect).toBe('Deny');
    expect(denyDeletes.Action).toEqual(expect.arrayContaining(['s3:DeleteObject', 's3:DeleteObjectVersion']));
    // prepare-backup, complete-backup: send-step has no S3 access (hosts sign their own transfers)
    expect(denyDeletes.Condition.ArnEquals['aws:PrincipalArn']).toHaveLength(2);
    // run-events reads command output from the same bucket: denied the same
    const runEvents = statements.find((st) => st.Sid === 'BackupsCannotBeDeletedByRunEvents')!;
    expect(runEvents.Effect).toBe('Deny');
    expect(runEvents.Condition.ArnEquals['aws:PrincipalArn']).toHaveLength(1);
  });

  it('refuses to let the orchestrator roles overwrite a backup object: only conditional creates pass', () => {
    const statements = resourcesOfType('AWS::S3::BucketPolicy').flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Record<string, any>[]);
    const deny = statements.find((st) => st.Sid === 'BackupsCannotBeOverwrittenByTheOrchestrator');
    expect(deny, 'no overwrite deny in the bucket policy').toBeDefined();
    expect(deny!.Effect).toBe('Deny');
    expect(deny!.Action).toBe('s3:PutObject');
    expect(JSON.stringify(deny!.Resource)).toContain('/backups/*');
    // an upload without If-None-Match: * is refused; CreateMultipartUpload/UploadPart carry no
    // conditional header, so only object-creating requests (PutObject, CompleteMultipartUpload) are held to it
    expect(deny!.Condition.StringNotEquals).toEqual({ 's3:if-none-match': '*' });
    expect(deny!.Condition.Bool).toEqual({ 's3:ObjectCreationOperation': 'true' });
    expect(deny!.Condition.ArnEquals['aws:PrincipalArn']).toHaveLength(2);
    expect(statements.find((st) => st.Sid === 'BackupsCannotBeOverwrittenByRunEvents')?.Effect).toBe('Deny');
  });

  it('gives send-step no S3 or KMS access: backup and restore commands name keys, the host signs with its own role', () => {
    const sendStepPolicies = resourcesOfType('AWS::IAM::Policy').filter(([id]) => id.startsWith('TasksSendStep'));
    expect(sendStepPolicies.length).toBeGreaterThan(0);
    const actions = sendStepPolicies.flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as Record<string, any>[]).flatMap((st) => ([] as string[]).concat(st.Action)));
    expect(actions.filter((a) => /^(s3|kms):/.test(a))).toEqual([]);
  });

  it('grants no task role any S3 delete', () => {
    // CDK's BucketDeployment singleton (the console's files) prunes the console bucket, and only that one
    const deployment = (p: Record<string, any>) => JSON.stringify(p.Properties.Roles).includes('CustomCDKBucketDeployment');
    for (const [, p] of resourcesOfType('AWS::IAM::Policy')) {
      for (const st of p.Properties.PolicyDocument.Statement as Record<string, any>[]) {
        const actions = ([] as string[]).concat(st.Action);
        if (st.Effect !== 'Allow' || actions.every((a) => !/^s3:(Delete|\*)/.test(a))) continue;
        if (deployment(p)) expect(JSON.stringify(st.Resource)).not.toMatch(/BackupsBucket/);
        else expect(actions.filter((a) => /^s3:(Delete|\*)/.test(a))).toEqual([]);
      }
    }
  });
});

describe('IAM scope of SendCommand', () => {
  const sendCommandStatements = () =>
    resourcesOfType('AWS::IAM::Policy')
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, any>[])
      .filter((st) => ([] as string[]).concat(st.Action).some((a) => a === 'ssm:SendCommand' || a === 'ssm:*'));

  it('allows only fleetwave documents and tagged instances', () => {
    const statements = sendCommandStatements();
    // send-step (every host document) and the compliance check (Inventory only): documents + tagged instances each
    expect(statements.length).toBe(4);
    for (const st of statements) {
      expect(([] as string[]).concat(st.Action)).toEqual(['ssm:SendCommand']);
      expect(st.Resource).not.toBe('*');
      const resources = JSON.stringify(st.Resource);
      if (resources.includes(':instance/') || resources.includes(':managed-instance/')) {
        expect(st.Condition?.StringLike?.['ssm:resourceTag/fleetwave:fleet']).toBe('*');
      } else {
        expect(resources).toMatch(/:document\/Fleetwave-/);
      }
    }
    const docs = statements.find((st) => st.Sid === 'SendFleetwaveDocuments')!;
    expect(JSON.stringify(docs.Resource)).toContain(':document/Fleetwave-*');
    const instances = statements.find((st) => st.Sid === 'SendToTaggedInstancesOnly')!;
    expect(instances.Condition).toEqual({ StringLike: { 'ssm:resourceTag/fleetwave:fleet': '*' } });
  });

  it('grants CancelCommand alone, only to the two roles that watch commands run out their deadline (run-events for host steps)', () => {
    const cancelling = resourcesOfType('AWS::IAM::Policy').flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Record<string, any>[])
        .filter((st) => ([] as string[]).concat(st.Action).includes('ssm:CancelCommand'))
        .map((st) => ({ roles: JSON.stringify(p.Properties.Roles), st })),
    );
    expect(cancelling.map(({ roles }) => roles.match(/(RunEvents|Collect)[A-Za-z]*Role/)?.[1]).sort()).toEqual(['Collect', 'RunEvents']);
    for (const { st } of cancelling) {
      // the Service Authorization Reference lists no resource type for CancelCommand: '*' is the only
      // resource it can match, so it gets a statement of its own and grants nothing else with it
      expect(st.Action).toBe('ssm:CancelCommand');
      expect(st.Resource).toBe('*');
    }
  });

  it('never refers to AWS-RunShellScript', () => {
    expect(JSON.stringify(s.json)).not.toMatch(/AWS-RunShellScript/);
  });
});

/** The logical id prefix of the SingletonFunction behind every AwsCustomResource. */
const AWS_CUSTOM_RESOURCE_PROVIDER = 'AWS679f53fac002430cb0da5b7982bd2287';

describe('deployed document versions', () => {
  const documents = () => resourcesOfType('AWS::SSM::Document');
  const versionReaders = () => resourcesOfType('Custom::DeployedDocumentVersion');
  /** The AwsCustomResource call, with `Ref`s written as `<LogicalId>`. */
  const callOf = (r: { Properties: Record<string, any> }) =>
    JSON.parse(
      (r.Properties.Create['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : `<${(p as { Ref: string }).Ref}>`)).join(''),
    ) as { service: string; action: string; parameters: Record<string, string>; physicalResourceId: { id: string }; outputPaths: string[] };

  it('reads DescribeDocument DefaultVersion of each document after it, again whenever its content changes', () => {
    expect(documents().length).toBe(9);
    for (const [, doc] of documents()) expect(doc.Properties.UpdateMethod).toBe('NewVersion');
    const readers = versionReaders();
    expect(readers.length).toBe(documents().length);
    const read = new Set<string>();
    for (const [, r] of readers) {
      const call = callOf(r);
      expect(call).toMatchObject({ service: 'SSM', action: 'DescribeDocument', outputPaths: ['Document.DefaultVersion'] });
      expect(Object.keys(call.parameters)).toEqual(['Name']); // no DocumentVersion, no VersionName
      read.add(call.parameters.Name!);
      // the content's hash in the physical id: a changed document updates its reader (after it, as it refers to it)
      expect(call.physicalResourceId.id).toMatch(/^Fleetwave-[A-Za-z]+@[0-9a-f]{32}$/);
      expect(r.Properties.Update).toEqual(r.Properties.Create);
      expect(r.Properties.InstallLatestAwsSdk).toBe(false);
    }
    expect([...read].sort()).toEqual(documents().map(([id]) => `<${id}>`).sort());
  });

  it('lets the reader only DescribeDocument, each on its one document', () => {
    const policies = resourcesOfType('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(AWS_CUSTOM_RESOURCE_PROVIDER));
    expect(policies.length).toBe(documents().length);
    const docs = new Set<string>();
    for (const [, p] of policies) {
      const statements = p.Properties.PolicyDocument.Statement as Record<string, any>[];
      expect(statements.map((st) => [st.Effect, st.Action])).toEqual([['Allow', 'ssm:DescribeDocument']]);
      const parts = statements[0]!.Resource['Fn::Join'][1] as unknown[];
      expect(JSON.stringify(parts)).not.toContain('*');
      expect(parts.at(-2)).toBe(':document/');
      docs.add((parts.at(-1) as { Ref: string }).Ref);
    }
    expect([...docs].sort()).toEqual(documents().map(([id]) => id).sort());
    const [[, role]] = resourcesOfType('AWS::IAM::Role').filter(([id]) => id.startsWith(AWS_CUSTOM_RESOURCE_PROVIDER)) as [[string, any]];
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('service-role/AWSLambdaBasicExecutionRole');
    expect(role.Properties.Policies).toBeUndefined();
  });

  const environmentOf = (prefix: string) =>
    resourcesOfType('AWS::Lambda::Function').find(([id]) => id.startsWith(prefix))![1].Properties.Environment.Variables as Record<string, any>;
  /** DOCUMENT_VERSIONS as `{"<document>": "<reader logical id>.<attribute>"}`. */
  const versionsOf = (prefix: string) =>
    JSON.parse(
      (environmentOf(prefix).DOCUMENT_VERSIONS['Fn::Join'][1] as unknown[])
        .map((p) => (typeof p === 'string' ? p : (p as { 'Fn::GetAtt': string[] })['Fn::GetAtt'].join('.')))
        .join(''),
    ) as Record<string, string>;

  it('hands send-step every document\'s deployed version and compliance-send the inventory\'s', () => {
    const readerOf = new Map(versionReaders().map(([id, r]) => [callOf(r).physicalResourceId.id.split('@')[0]!, id]));
    const sendStep = versionsOf('TasksSendStep');
    expect(Object.keys(sendStep).sort()).toEqual([...readerOf.keys()].sort());
    for (const [name, value] of Object.entries(sendStep)) expect(value).toBe(`${readerOf.get(name)}.Document.DefaultVersion`);
    expect(versionsOf('ComplianceSend')).toEqual({ 'Fleetwave-Inventory': `${readerOf.get('Fleetwave-Inventory')}.Document.DefaultVersion` });
  });

  it('lets send-step read agent versions: DescribeInstanceInformation alone, which takes no resource ARN', () => {
    const statements = resourcesOfType('AWS::IAM::Policy')
      .filter(([id]) => id.startsWith('TasksSendStep'))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);
    const agent = statements.find((st) => ([] as string[]).concat(st.Action).includes('ssm:DescribeInstanceInformation'));
    expect(agent).toMatchObject({ Sid: 'ReadAgentVersion', Effect: 'Allow', Action: 'ssm:DescribeInstanceInformation', Resource: '*' });
  });
});

describe('task functions', () => {
  it('run on nodejs22.x or newer with tracing', () => {
    // ours: bundled handlers (CDK's own singletons, LogRetention, BucketDeployment and the AwsCustomResource provider, are not)
    const fns = resourcesOfType('AWS::Lambda::Function').filter(([id]) => !id.startsWith('LogRetention') && !id.startsWith('CustomCDKBucketDeployment') && !id.startsWith(AWS_CUSTOM_RESOURCE_PROVIDER));
    expect(fns.length).toBeGreaterThanOrEqual(8);
    for (const [, fn] of fns) {
      expect(fn.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });
});

describe('registry secret rotation', () => {
  // A rotation function must reach both the database and the Secrets Manager endpoint
  // (a NAT gateway or an interface VPC endpoint); the isolated database subnets reach
  // neither the internet nor an endpoint (Secrets Manager user guide, "Set up automatic
  // rotation using the AWS CLI": "make sure that the Lambda function can access both
  // Secrets Manager and your database or service through the network").
  it('runs the rotation function in the subnets with a NAT route, and lets it reach the database', () => {
    const [, rotation] = resourcesOfType('AWS::Serverless::Application').find(([id]) => id.includes('Rotation'))!;
    const subnetRefs = JSON.stringify(rotation.Properties.Parameters.vpcSubnetIds).match(/"Ref":"([^"]+)"/g)!.map((r) => r.slice(7, -1));
    expect(subnetRefs.length).toBe(2);
    for (const subnet of subnetRefs) {
      const routes = resourcesOfType('AWS::EC2::Route').filter(([, r]) => {
        const table = s.json.Resources[r.Properties.RouteTableId.Ref];
        const association = resourcesOfType('AWS::EC2::SubnetRouteTableAssociation').find(([, a]) => a.Properties.SubnetId.Ref === subnet);
        return table && association && association[1].Properties.RouteTableId.Ref === r.Properties.RouteTableId.Ref;
      });
      expect(routes.some(([, r]) => r.Properties.DestinationCidrBlock === '0.0.0.0/0' && r.Properties.NatGatewayId), subnet).toBe(true);
    }
    const rotationSg = rotation.Properties.Parameters.vpcSecurityGroupIds['Fn::GetAtt'][0];
    const ingress = resourcesOfType('AWS::EC2::SecurityGroupIngress').filter(([, r]) => r.Properties.SourceSecurityGroupId?.['Fn::GetAtt']?.[0] === rotationSg);
    // the cluster's port (a token: the cluster endpoint's Port attribute), on the database's group
    expect(ingress.map(([, r]) => [r.Properties.GroupId['Fn::GetAtt'][0], r.Properties.FromPort['Fn::GetAtt']])).toEqual([
      [expect.stringMatching(/^RegistryDatabaseSg/), [expect.stringMatching(/^RegistryCluster/), 'Endpoint.Port']],
    ]);
  });
});

describe('host documents', () => {
  it('deploys one Command document per host step with ENV_VAR parameters', () => {
    const docs = resourcesOfType('AWS::SSM::Document');
    expect(docs.map(([, d]) => d.Properties.Name).sort()).toEqual(
      ['Backup', 'HealthCheck', 'Inventory', 'PinTags', 'Preflight', 'PullImages', 'Restart', 'Restore', 'WatchSchema'].map((n) => `Fleetwave-${n}`).sort(),
    );
    for (const [, d] of docs) {
      expect(d.Properties.DocumentType).toBe('Command');
      for (const p of Object.values(d.Properties.Content.parameters as Record<string, any>)) {
        expect(p.interpolationType).toBe('ENV_VAR');
        expect(typeof p.allowedPattern).toBe('string');
      }
    }
  });
});

describe.each([
  ['HostUpgrade', () => upgrade],
  ['HostRollback', () => rollback],
])('%s definition', (name, def) => {
  it('is valid Amazon States Language', () => {
    const { isValid, errorsText } = aslValidator(def() as never);
    expect(isValid, errorsText?.()).toBe(true);
  });

  it('has every state reachable and every transition pointing at a real state', () => {
    expect([...reachable(def())].sort()).toEqual(Object.keys(def().States).sort());
  });

  it('gives every Task a timeout and a Catch', () => {
    for (const [stateName, st] of tasks(def())) {
      expect(st.TimeoutSeconds, `${stateName} TimeoutSeconds`).toBeGreaterThan(0);
      expect(st.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), `${stateName} Catch`).toBe(true);
    }
  });

  it('retries every Lambda task on throttling and transient errors with backoff', () => {
    const lambdaTasks = tasks(def()).filter(([, st]) => st.Resource?.includes('lambda') || st.Resource?.includes('Function'));
    expect(lambdaTasks.length).toBeGreaterThan(5);
    for (const [stateName, st] of lambdaTasks) {
      const retry = st.Retry?.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
      expect(retry, `${stateName} Retry`).toBeDefined();
      expect(retry!.ErrorEquals).toEqual(expect.arrayContaining([...TRANSIENT_ERRORS]));
      expect(retry!.BackoffRate).toBeGreaterThan(1);
      expect(retry!.MaxAttempts).toBeGreaterThanOrEqual(3);
    }
  });

  it('waits for each host step as one .waitForTaskToken task with a heartbeat, never a poll loop', () => {
    const waits = Object.values(def().States).filter((st) => st.Type === 'Wait');
    expect(waits).toEqual([]);
    const steps = Object.entries(def().States).filter(([n, st]) => n.startsWith('Send') && st.Type === 'Task');
    expect(steps.length).toBeGreaterThan(0);
    for (const [stateName, st] of steps) {
      expect(st.Resource, stateName).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
      expect((st.Parameters as { Payload: Record<string, unknown> }).Payload['taskToken.$'], stateName).toBe('$$.Task.Token');
      expect(st.HeartbeatSeconds, `${stateName} HeartbeatSeconds`).toBeGreaterThan(0);
    }
  });
});

/** The definition and every Map's ItemProcessor inside it (RolloutBatch runs its hosts in one). */
const scopesOf = (def: AslDefinition): AslDefinition[] => [
  def,
  ...Object.values(def.States).flatMap((st) => {
    const inner = (st.ItemProcessor ?? st.Iterator) as AslDefinition | undefined;
    return inner ? scopesOf(inner) : [];
  }),
];
const allStates = (def: AslDefinition): [string, AslState][] => scopesOf(def).flatMap((d) => Object.entries(d.States));
const isChildExecution = (st: AslState) => /^arn:aws:states:::states:startExecution\.sync/.test(st.Resource ?? '');

describe.each(['FleetRollout', 'RolloutBatch', 'RolloutRollback'])('%s definition', (name) => {
  const def = () => rollouts[name]!;

  it('is valid Amazon States Language', () => {
    const { isValid, errorsText } = aslValidator(def() as never);
    expect(isValid, errorsText?.()).toBe(true);
  });

  it('has every state reachable, inside each Map too, and every transition pointing at a real state', () => {
    for (const scope of scopesOf(def())) expect([...reachable(scope)].sort()).toEqual(Object.keys(scope.States).sort());
  });

  it('gives every Task a timeout, a Retry on transient errors with backoff, and a Catch', () => {
    const taskStates = allStates(def()).filter(([, st]) => st.Type === 'Task');
    expect(taskStates.length).toBeGreaterThan(2);
    for (const [stateName, st] of taskStates) {
      expect(st.TimeoutSeconds, `${stateName} TimeoutSeconds`).toBeGreaterThan(0);
      expect(st.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), `${stateName} Catch`).toBe(true);
      // a child execution is retried on the Step Functions service errors, a Lambda on the house list
      const transient = isChildExecution(st) ? ['StepFunctions.ExecutionLimitExceeded', 'StepFunctions.SdkClientException'] : [...TRANSIENT_ERRORS];
      const retry = st.Retry?.find((r) => transient.every((e) => r.ErrorEquals.includes(e)));
      expect(retry, `${stateName} Retry on ${transient.join(', ')}`).toBeDefined();
      expect(retry!.BackoffRate, `${stateName} BackoffRate`).toBeGreaterThan(1);
      expect(retry!.MaxAttempts, `${stateName} MaxAttempts`).toBeGreaterThanOrEqual(3);
    }
  });

  it('polls nothing itself: child executions are .sync, and any Poll state follows its Wait', () => {
    for (const [stateName, st] of allStates(def())) {
      if (st.Resource?.includes(':states:::states:startExecution')) expect(isChildExecution(st), `${stateName} waits for its child`).toBe(true);
    }
    for (const scope of scopesOf(def())) {
      for (const stateName of Object.keys(scope.States).filter((n) => n.startsWith('Poll'))) {
        expect(scope.States[`Wait${stateName.slice(4)}`]?.Next, `Wait before ${stateName}`).toBe(stateName);
      }
    }
  });
});

describe('FleetRollout approval and bake', () => {
  const rollout = () => rollouts.FleetRollout!;

  it('waits for an approval token at most seven days, then finishes failed; a stop finishes stopped', () => {
    const approval = rollout().States.AwaitApproval!;
    expect(approval.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(approval.TimeoutSeconds).toBe(7 * 24 * 3600);
    expect(approval.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['RolloutStopped'], 'FinishStopped'],
      [['States.ALL'], 'FinishFailed'],
    ]);
    // the timeout of the whole rollout leaves room for the approval wait
    expect(rollout().TimeoutSeconds).toBeGreaterThan(approval.TimeoutSeconds!);
    expect(approval.Next).toBe('NextBatch');
  });

  it('asks for the approval only before the first production wave', () => {
    const nextWave = rollout().States.NextWave!;
    const toApproval = (nextWave.Choices as { Next: string; And?: { Variable: string; BooleanEquals?: boolean; NumericEqualsPath?: string }[] }[]).find(
      (c) => c.Next === 'AwaitApproval',
    )!;
    expect(toApproval.And).toEqual([
      { Variable: '$.rollout.approvalBeforeProduction', BooleanEquals: true },
      { Variable: '$.pos.wave', NumericEqualsPath: '$.rollout.firstProductionWave' },
    ]);
  });

  it('bakes the fleet\'s bake time after a good wave and before the next one', () => {
    const waveOk = rollout().States.WaveOk!;
    expect(waveOk.Choices).toEqual([{ Variable: '$.waveResult.ok', BooleanEquals: true, Next: 'Bake' }]);
    expect(waveOk.Default).toBe('FailurePolicy');
    const bake = rollout().States.Bake!;
    expect(bake).toMatchObject({ Type: 'Wait', SecondsPath: '$.rollout.bakeSeconds', Next: 'Advance' });
    expect(rollout().States.Advance!.Next).toBe('NextWave');
  });
});

describe('HostUpgrade flow', () => {
  /**
   * The success path, walked through the parsed definition: a verdict Choice takes the branch whose
   * only condition is `$.verdict.ok == true`. Any other Choice shape stops the walk loudly.
   */
  const successPath = (def: AslDefinition): string[] => {
    const order: string[] = [];
    const seen = new Set<string>();
    let cur: string | undefined = def.StartAt;
    while (cur && !seen.has(cur)) {
      const st: AslState | undefined = def.States[cur];
      if (!st) throw new Error(`success path reaches missing state ${cur}`);
      seen.add(cur);
      order.push(cur);
      if (st.Type !== 'Choice') {
        cur = st.Next;
        continue;
      }
      const choices = st.Choices as { Next: string; Variable?: string; BooleanEquals?: boolean; StringEquals?: string }[];
      const ok = choices.find((c) => c.Variable === '$.verdict.ok' && c.BooleanEquals === true);
      if (ok) cur = ok.Next;
      else if (choices.every((c) => c.StringEquals === 'Pending')) cur = st.Default;
      else throw new Error(`${cur}: no success branch in ${JSON.stringify(choices)}`);
    }
    return order;
  };

  it('pulls before the backup, backs up and verifies right before pinning, and watches the schema before the health check', () => {
    const milestones = [
      'SendPreflight',
      'SendPullImages',
      'SendBackup',
      'CompleteBackup',
      'RecordVerification',
      'SendPinTags',
      'SendRestart',
      'SendWatchSchema',
      'SendHealthCheck',
      'FinishSucceeded',
    ];
    const order = successPath(upgrade);
    // exactly these, in this order: a missing, repeated or swapped milestone fails
    expect(order.filter((n) => milestones.includes(n))).toEqual(milestones);
    expect(upgrade.States[order.at(-1)!]!.Type).toBe('Succeed');
  });

  it('starts the services an embedded backup stopped again before any run that ends between backup and restart', () => {
    expect(upgrade.States.BackupVerified!.Default).toBe('MarkBackupUnverified');
    expect(upgrade.States.MarkBackupUnverified).toMatchObject({ Parameters: { markUnverified: true, 'target.$': '$.backup' } });
    // where each failure between the backup and the restart goes, and the finish it must reach
    const ends: [string, string][] = [
      // an unverified backup is tagged unverified in S3 first (MarkBackupUnverified), then the same gate
      [upgrade.States[upgrade.States.BackupVerified!.Default as string]!.Next as string, 'FinishBackupUnverified'],
      [upgrade.States.Pinned!.Default as string, 'FinishPinFailed'],
      [upgrade.States.AbortBackup!.Next as string, 'FinishBackupFailed'],
    ];
    for (const [entry, finish] of ends) {
      const gate = upgrade.States[entry]!;
      // no backup result (the backup step itself failed and started them): straight to the finish
      expect(gate.Choices, entry).toEqual([{ Variable: '$.steps.backup.result.servicesStopped', IsPresent: true, Next: expect.any(String) }]);
      expect(gate.Default, entry).toBe(finish);
      const needed = upgrade.States[(gate.Choices as { Next: string }[])[0]!.Next]!;
      const [rule] = needed.Choices as { Variable: string; BooleanEquals: boolean; Next: string }[];
      expect(rule).toMatchObject({ Variable: '$.steps.backup.result.servicesStopped', BooleanEquals: true });
      expect(needed.Default, entry).toBe(finish);
      // the restart document on the unchanged configuration, whose verdict is kept aside
      const send = upgrade.States[rule!.Next]!;
      expect(send.Parameters).toMatchObject({ Payload: { step: 'restart' } }); // a token wait: the payload is Parameters.Payload
      const label = rule!.Next.replace(/^Send/, '');
      expect(upgrade.States[`Record${label}`]).toMatchObject({ ResultPath: '$.startedAgain', Next: finish });
    }
  });

  it('restores through HostRollback as a child execution', () => {
    const restore = upgrade.States.Restore!;
    expect(restore.Resource).toMatch(/:states:::states:startExecution\.sync:2$/);
    expect(JSON.stringify(restore.Parameters)).toContain('HostRollback');
    expect(restore.Catch?.[0]?.Next).toBe('FinishRollbackFailed');
  });

  it('never restores for failures before anything changed', () => {
    const targets = (state: string) => {
      const st = upgrade.States[state]!;
      return [st.Default, ...(st.Choices ?? []).map((c) => c.Next)];
    };
    for (const choice of ['PreflightVerdict', 'BackupVerified', 'Pulled', 'Pinned']) {
      expect(targets(choice).some((t) => t?.startsWith('RestoreAfter')), choice).toBe(false);
    }
    for (const choice of ['SchemaSynced', 'Healthy']) {
      expect(targets(choice).some((t) => t?.startsWith('RestoreAfter')), choice).toBe(true);
    }
  });
});

describe('child executions', () => {
  /** Every state of a definition, with the states inside Map and Parallel states. */
  const allStates = (def: AslDefinition): [string, AslState][] =>
    Object.entries(def.States).flatMap(([name, st]) => [
      [name, st] as [string, AslState],
      ...[st.ItemProcessor, st.Iterator, ...((st.Branches as AslDefinition[] | undefined) ?? [])]
        .filter((inner): inner is AslDefinition => Boolean(inner))
        .flatMap(allStates),
    ]);

  it('retry the same errors, with the same backoff, in every state machine', () => {
    const machines = ['HostUpgrade', 'RolloutBatch', 'RolloutRollback', 'FleetRollout'];
    const children = machines.flatMap((m) =>
      allStates(definitionOf(s, m))
        .filter(([, st]) => st.Resource?.endsWith(':states:::states:startExecution.sync:2'))
        .map(([name, st]) => [`${m}.${name}`, st] as const),
    );
    expect(children.map(([name]) => name).sort()).toEqual(
      ['FleetRollout.RollbackAll', 'FleetRollout.RollbackWave', 'FleetRollout.RunBatch', 'HostUpgrade.Restore', 'RolloutBatch.RollbackHost', 'RolloutBatch.UpgradeHost', 'RolloutRollback.RunBatch'],
    );
    for (const [name, st] of children) {
      expect(st.Retry, name).toEqual([{ ErrorEquals: [...CHILD_EXECUTION_ERRORS], IntervalSeconds: 5, MaxAttempts: 4, BackoffRate: 2 }]);
      expect(st.Catch?.map((c) => c.ErrorEquals), name).toEqual([['States.ALL']]);
      expect(st.TimeoutSeconds, name).toBeGreaterThan(0);
    }
  });
});

describe('workflow logging', () => {
  it('logs every state machine without execution data (no payloads in logs)', () => {
    for (const [, sm] of resourcesOfType('AWS::StepFunctions::StateMachine')) {
      expect(sm.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
      expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks(s.app).validateScope(s.app);
    const findings = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => (r as { constructPath?: string }).constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a reason', () => {
    const acks = s.app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.entries(m.data as Record<string, unknown>))
      .map(([rule, reason]) => [rule.replace(/^annotation::/i, ''), reason] as const)
      .filter(([rule]) => rule.startsWith('AwsSolutions-'));
    expect(acks.length).toBeGreaterThan(0);
    for (const [rule, reason] of acks) expect(String(reason).length, rule).toBeGreaterThan(30);
  });
});

describe('cdk-nag with a concrete region (what `cdk synth` sees with a default region)', () => {
  it('still reports no unacknowledged finding', () => {
    const prev = process.env.CDK_DEFAULT_REGION;
    process.env.CDK_DEFAULT_REGION = 'eu-west-1';
    try {
      const regional = synthApp();
      const report = new AwsSolutionsChecks(regional.app).validateScope(regional.app);
      expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => (r as { constructPath?: string }).constructPath).join(',')}`)).toEqual([]);
    } finally {
      if (prev === undefined) delete process.env.CDK_DEFAULT_REGION;
      else process.env.CDK_DEFAULT_REGION = prev;
    }
  }, 180_000);
});
