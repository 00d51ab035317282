import { Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
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

/**
 * How cdk-nag writes `arn:<partition>:<service>:<region>:<account>:` for this
 * stack: pseudo parameters stay `<AWS::Region>` only while the stack's env is
 * unresolved; `cdk synth` with a default region makes them literal.
 */
export function nagArn(scope: IConstruct, service: string): string {
  const stack = Stack.of(scope);
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return `arn:<AWS::Partition>:${service}:${region}:${account}:`;
}

/** The logical id of a construct's CloudFormation resource, as the template and cdk-nag name it. */
export function logicalIdOf(resource: IConstruct): string {
  return Stack.of(resource).getLogicalId(resource.node.defaultChild as CfnElement);
}

/** How cdk-nag writes a resource attribute of this stack: `<LogicalId.Arn>`. */
export const nagAttribute = (resource: IConstruct, attribute = 'Arn') => `<${logicalIdOf(resource)}.${attribute}>`;
