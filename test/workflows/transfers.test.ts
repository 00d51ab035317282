/**
 * Transfers (issue #11 items 2 and 3) in the lab: what SSM command history
 * keeps of a backup and a restore. ListCommands returns every parameter of
 * every command to anyone allowed ssm:ListCommands, so nothing there may
 * grant access to a backup or to the config archive (it holds semaphor.env
 * with DATABASE_URL): no presigned URL, no credential.
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommands.html
 * (Command.Parameters: "The parameter values to be inserted in the document when running the command.")
 */
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
beforeAll(async () => {
  t = await startTestLab();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

/** Every URL a parameter value holds, as is or base64url-decoded. */
function urlsIn(value: string): string[] {
  const decoded = Buffer.from(value, 'base64url').toString('utf8');
  return [value, decoded].flatMap((v) => v.match(/https?:\/\/[^\s"']+/g) ?? []);
}

describe('SSM command history of a backup and a restore', () => {
  it('holds no URL and no credential that reaches a backup or the config archive', async () => {
    const [host] = await t.addHosts('xfer', [{ id: 'xfer-1', tier: 'staging', mode: 'embedded', version: '1.4.0', faults: { schemaSyncFails: true } }]);
    await t.upgrade(host!.id, '1.5.0');
    const runs = await t.lab.store.listRuns({ hostId: host!.id });
    expect(runs.find((r) => r.kind === 'upgrade')).toMatchObject({ outcome: 'restored' });

    const ssm = new SSMClient({});
    const listed = await ssm.send(new ListCommandsCommand({ InstanceId: host!.instanceId }));
    const byDocument = new Map((listed.Commands ?? []).map((c) => [c.DocumentName, c.Parameters ?? {}]));
    expect([...byDocument.keys()]).toEqual(expect.arrayContaining(['Fleetwave-Backup', 'Fleetwave-Restore']));

    // the transfer documents' parameters (a health check's HealthUrl is no secret)
    const values = ['Fleetwave-Backup', 'Fleetwave-Restore'].flatMap((d) => Object.values(byDocument.get(d) ?? {}).flat());
    const urls = values.flatMap(urlsIn);
    // whatever still looks like a URL must not open anything in the bucket
    for (const url of urls) {
      const res = await fetch(url).catch(() => null);
      expect(res?.status ?? 0, `a ListCommands parameter fetches ${new URL(url).pathname}`).not.toBe(200);
    }
    expect(urls).toEqual([]);
    for (const v of values) {
      expect(v).not.toMatch(/X-Amz-(Signature|Credential|Security-Token)|AWSAccessKeyId|ASIA[A-Z0-9]{12,}|AKIA[A-Z0-9]{12,}/i);
    }
  }, 240_000);
});
