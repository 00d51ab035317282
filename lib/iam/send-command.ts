/**
 * Who may run what on a host: SendCommand of named documents only, and only
 * to instances that carry the fleet tag. The two must hold together: IAM
 * grants SendCommand on the document and on the instance separately.
 */
import { Arn, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { acknowledge, nagArn, wildcardResource } from '../nag';
import type { RolePolicyHolder } from './role-policy';

export interface SendCommandGrant {
  /** ARNs (or an ARN pattern) of the documents the role may send. */
  readonly documentArns: string[];
  /** Tag key every managed host carries. */
  readonly fleetTagKey: string;
  /** Statement ids, unique within the role's policy. */
  readonly documentsSid: string;
  readonly instancesSid: string;
}

export function grantSendCommand(fn: RolePolicyHolder & IConstruct, grant: SendCommandGrant): void {
  const stack = Stack.of(fn);
  fn.addToRolePolicy(new PolicyStatement({ sid: grant.documentsSid, actions: ['ssm:SendCommand'], resources: grant.documentArns }));
  fn.addToRolePolicy(
    new PolicyStatement({
      sid: grant.instancesSid,
      actions: ['ssm:SendCommand'],
      resources: [
        Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack),
        Arn.format({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }, stack),
      ],
      conditions: { StringLike: { [`ssm:resourceTag/${grant.fleetTagKey}`]: '*' } },
    }),
  );
  acknowledge(
    fn,
    [wildcardResource(`${nagArn(fn, 'ec2')}instance/*`), wildcardResource(`${nagArn(fn, 'ssm')}managed-instance/*`)],
    'SendCommand reaches only instances whose fleet tag is set (ssm:resourceTag condition); instances join and leave fleets, so they cannot be listed.',
  );
}

/**
 * CancelCommand for a command past its deadline. It cannot be scoped like
 * SendCommand: the Service Authorization Reference lists no resource type and
 * no condition key for it (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html),
 * so a statement naming documents or instances would never match and the
 * cancel would be refused. It gets a statement of its own on `*`, and only
 * the roles that watch deadlines hold it.
 */
export function grantCancelCommand(fn: RolePolicyHolder, sid: string): void {
  fn.addToRolePolicy(new PolicyStatement({ sid, actions: ['ssm:CancelCommand'], resources: ['*'] }));
}
