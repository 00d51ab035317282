/** The shared IAM statements refuse what no fleetwave role may ever hold. */
import { Stack } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { objectAccess } from '../../lib/iam';

describe('objectAccess', () => {
  const bucket = new Bucket(new Stack(), 'Backups');

  it('grants the actions on the objects under the prefix only', () => {
    const json = new Stack().resolve(objectAccess('ReadBackups', ['s3:GetObject'], bucket, 'backups').toStatementJson());
    expect(json).toMatchObject({ Sid: 'ReadBackups', Effect: 'Allow', Action: 's3:GetObject' });
    expect(JSON.stringify(json.Resource)).toMatch(/"\/backups\/\*"\]/);
  });

  it.each([['s3:DeleteObject'], ['s3:DeleteObjectVersion'], ['s3:*']])('refuses %s, naming the statement and the action', (action) => {
    expect(() => objectAccess('Careless', ['s3:GetObject', action], bucket, 'backups')).toThrow(`Careless: backup bucket access never includes ${action}`);
  });
});
