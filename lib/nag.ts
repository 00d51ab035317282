import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledge cdk-nag findings on a construct and its children. cdk-nag 3
 * matches finding ids exactly (`AwsSolutions-IAM5[Resource::*]`), so each is
 * named, and every one carries the reason it is acceptable.
 */
export function acknowledge(scope: IConstruct, ids: string[], reason: string): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}

export const managedPolicy = (name: string) => `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;
export const wildcardResource = (resource: string) => `AwsSolutions-IAM5[Resource::${resource}]`;
export const wildcardAction = (action: string) => `AwsSolutions-IAM5[Action::${action}]`;
