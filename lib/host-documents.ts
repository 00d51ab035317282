import { Arn, Stack } from 'aws-cdk-lib';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { HOST_STEPS, type HostStep } from '../core/models';
import { documentName, loadDocument } from '../ssm-documents';

export interface HostDocumentsProps {
  /** Name prefix of every document; IAM scopes SendCommand to it. */
  readonly prefix: string;
}

/**
 * One SSM Command document per host step, deployed with the exact content the
 * lab's agents run (`ssm-documents/index.ts` composes it).
 */
export class HostDocuments extends Construct {
  readonly prefix: string;
  readonly documents: ReadonlyMap<HostStep, CfnDocument>;

  constructor(scope: Construct, id: string, props: HostDocumentsProps) {
    super(scope, id);
    this.prefix = props.prefix;
    const docs = new Map<HostStep, CfnDocument>();
    for (const step of HOST_STEPS) {
      docs.set(
        step,
        new CfnDocument(this, step, {
          name: documentName(step, props.prefix),
          documentType: 'Command',
          documentFormat: 'JSON',
          updateMethod: 'NewVersion',
          content: loadDocument(step),
          tags: [{ key: 'fleetwave:component', value: 'host-step' }],
        }),
      );
    }
    this.documents = docs;
  }

  /** ARNs of exactly fleetwave's documents (`document/<prefix>*`). */
  documentArnPattern(): string {
    return Arn.format({ service: 'ssm', resource: 'document', resourceName: `${this.prefix}*` }, Stack.of(this));
  }
}
