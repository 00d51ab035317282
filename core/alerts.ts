/**
 * The alert port every workflow publishes through (rollback failures,
 * rollout outcomes, compliance drift) and its SNS adapter. One subject line
 * (SNS caps it at 100 characters) and a JSON body an operator can read.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';

export interface AlertSink {
  publish(subject: string, message: Record<string, unknown>): Promise<void>;
}

export class SnsAlertSink implements AlertSink {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(subject: string, message: Record<string, unknown>): Promise<void> {
    await this.sns.send(new PublishCommand({ TopicArn: this.topicArn, Subject: subject.slice(0, 99), Message: JSON.stringify(message, null, 2) }));
  }
}
