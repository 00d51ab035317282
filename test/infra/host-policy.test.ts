/**
 * The managed policy operators attach to their hosts' instance roles, as
 * synthesized: exactly what the Fleetwave-* documents need from the host's
 * own credentials (command output into the KMS-encrypted backup bucket), no
 * more, and an output naming it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { synthApp, type Synthesized } from '../support/synth';

let s: Synthesized;
beforeAll(() => {
  s = synthApp();
}, 120_000);

const ofType = (type: string) => Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);

describe('host instance policy', () => {
  it('lets a host write command output, and transfer backups it signs itself, encrypted with the bucket key, and nothing else', () => {
    const policies = ofType('AWS::IAM::ManagedPolicy').filter(([id]) => id.startsWith('HostInstancePolicy'));
    expect(policies).toHaveLength(1);
    const [id, policy] = policies[0]!;
    const statements = policy.Properties.PolicyDocument.Statement as { Sid: string; Effect: string; Action: string | string[]; Resource: unknown }[];
    expect(statements.map((st) => [st.Sid, st.Effect, [st.Action].flat().sort()])).toEqual([
      ['WriteCommandOutput', 'Allow', ['s3:PutObject']],
      ['ReadBucketEncryption', 'Allow', ['s3:GetEncryptionConfiguration']],
      ['EncryptCommandOutput', 'Allow', ['kms:Decrypt', 'kms:GenerateDataKey']],
      ['TransferBackups', 'Allow', ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject']],
      ['NeverReplaceABackup', 'Deny', ['s3:PutObject']],
    ]);
    expect(JSON.stringify(statements[3]!.Resource)).toContain('/backups/*');
    expect((statements[4] as unknown as { Condition: unknown }).Condition).toEqual({ StringNotEquals: { 's3:if-none-match': '*' }, Bool: { 's3:ObjectCreationOperation': 'true' } });
    const bucket = Object.keys(s.json.Resources).find((k) => k.startsWith('BackupsBucket') && s.json.Resources[k]!.Type === 'AWS::S3::Bucket')!;
    const key = Object.keys(s.json.Resources).find((k) => k.startsWith('BackupsKey') && s.json.Resources[k]!.Type === 'AWS::KMS::Key')!;
    expect(JSON.stringify(statements[0]!.Resource)).toContain(bucket);
    expect(JSON.stringify(statements[0]!.Resource)).toContain('/command-output/*');
    expect(statements[2]!.Resource).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    expect(s.json.Outputs.HostInstancePolicyArn?.Value).toEqual({ Ref: id });
  });
});
