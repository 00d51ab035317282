import type { PolicyStatement } from 'aws-cdk-lib/aws-iam';

/** A Lambda function (or anything else) whose role takes statements. */
export interface RolePolicyHolder {
  addToRolePolicy(statement: PolicyStatement): void;
}
