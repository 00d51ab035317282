import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** The topic operators subscribe to: rollback failures, halted rollouts, drift. */
export class AlertTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const key = new Key(this, 'Key', { enableKeyRotation: true, description: 'fleetwave alert topic' });
    this.topic = new Topic(this, 'Topic', {
      displayName: 'fleetwave alerts',
      masterKey: key,
      enforceSSL: true,
    });
  }
}
