/** Publishing to the alert topic, which is encrypted with its own KMS key. */
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { acknowledge, wildcardAction } from '../nag';

export function grantAlertPublish(topic: ITopic, fn: IGrantable & IConstruct): void {
  topic.grantPublish(fn);
  acknowledge(
    fn,
    [wildcardAction('kms:GenerateDataKey*'), wildcardAction('kms:ReEncrypt*')],
    'Publishing to the KMS-encrypted alert topic needs data keys from that one key (CDK grantPublish).',
  );
}
