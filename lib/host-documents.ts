import { createHash } from 'node:crypto';
import { Arn, Stack } from 'aws-cdk-lib';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { HOST_STEPS, type HostStep } from '../core/models';
import { documentName, loadDocument } from '../ssm-documents';
import { acknowledge, managedPolicy } from './nag';

export interface HostDocumentsProps {
  /** Name prefix of every document; IAM scopes SendCommand to it. */
  readonly prefix: string;
}

/**
 * One SSM Command document per host step, deployed with the exact content the
 * lab's agents run (`ssm-documents/index.ts` composes it), and the version of
 * each that this deployment made, which every SendCommand names.
 *
 * `UpdateMethod: NewVersion`: a changed document gets a new version, and
 * "the default version of the document is changed to the newly created
 * version" (CloudFormation, AWS::SSM::Document UpdateMethod). AWS::SSM::Document
 * returns no version attribute, so a custom resource reads DescribeDocument's
 * DefaultVersion right after the document: it references the document (so it
 * runs after it) and carries the content's hash in its physical id (so it runs
 * again exactly when the content changed). After a stack rollback it reads the
 * version the rollback left as the default, the rolled-back content's.
 * VersionName is not used: names are unique per document, so a rollback to
 * earlier content could not reuse one. SendCommand then runs that number, not
 * `$DEFAULT`, which anyone allowed UpdateDocumentDefaultVersion could point at
 * other content (run-command-version.html).
 */
export class HostDocuments extends Construct {
  readonly prefix: string;
  readonly documents: ReadonlyMap<HostStep, CfnDocument>;
  /** The deployed version of each step's document (a token resolved at deployment). */
  readonly versions: ReadonlyMap<HostStep, string>;

  constructor(scope: Construct, id: string, props: HostDocumentsProps) {
    super(scope, id);
    this.prefix = props.prefix;
    const docs = new Map<HostStep, CfnDocument>();
    const versions = new Map<HostStep, string>();
    for (const step of HOST_STEPS) {
      const name = documentName(step, props.prefix);
      const content = loadDocument(step);
      const doc = new CfnDocument(this, step, {
        name,
        documentType: 'Command',
        documentFormat: 'JSON',
        updateMethod: 'NewVersion',
        content,
        tags: [{ key: 'fleetwave:component', value: 'host-step' }],
      });
      docs.set(step, doc);
      const hash = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 32);
      const deployed = new AwsCustomResource(this, `${step}-version`, {
        resourceType: 'Custom::DeployedDocumentVersion',
        onUpdate: {
          service: 'SSM',
          action: 'DescribeDocument',
          parameters: { Name: doc.ref },
          physicalResourceId: PhysicalResourceId.of(`${name}@${hash}`),
          // the custom resource response is limited to 4 KiB: only the one field
          outputPaths: ['Document.DefaultVersion'],
        },
        // ssm:DescribeDocument on this one document (document ARNs are resource-level, list_awssystemsmanager.html)
        policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [this.documentArn(doc.ref)] }),
        installLatestAwsSdk: false,
      });
      versions.set(step, deployed.getResponseField('Document.DefaultVersion'));
    }
    this.documents = docs;
    this.versions = versions;
    // the provider function CDK shares between every AwsCustomResource of the stack
    const provider = Stack.of(this).node.tryFindChild(PROVIDER_ID);
    if (provider) {
      acknowledge(
        provider,
        [managedPolicy('service-role/AWSLambdaBasicExecutionRole')],
        'The AwsCustomResource provider that reads the deployed document versions writes its logs with the AWS-maintained minimum; its only other permission is ssm:DescribeDocument on each fleetwave document.',
      );
    }
  }

  private documentArn(name: string): string {
    return Arn.format({ service: 'ssm', resource: 'document', resourceName: name }, Stack.of(this));
  }

  /** ARNs of exactly fleetwave's documents (`document/<prefix>*`). */
  documentArnPattern(): string {
    return this.documentArn(`${this.prefix}*`);
  }

  /** DOCUMENT_VERSIONS for a task that sends these steps' documents: `{"<document name>": "<deployed version>", …}`. */
  versionsEnvironment(steps: readonly HostStep[] = HOST_STEPS): string {
    return Stack.of(this).toJsonString(Object.fromEntries(steps.map((step) => [documentName(step, this.prefix), this.versions.get(step)!])));
  }
}

/** The construct id of the SingletonFunction behind every AwsCustomResource (aws-cdk-lib custom-resources). */
const PROVIDER_ID = 'AWS679f53fac002430cb0da5b7982bd2287';
