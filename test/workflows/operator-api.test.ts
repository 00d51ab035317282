/**
 * The operator API in the lab: the bundled operator-api handler behind the
 * lab's API Gateway, signed requests only. Reads come from the registry,
 * actions start the same state machines as the authenticated caller, and
 * every action is audited with that caller (never a name it gives).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperatorApiClient } from '../../core/api/client';
import { LAB_S3_CREDENTIALS } from '../../lab/s3';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
let alice: OperatorApiClient;
let bob: OperatorApiClient;
const BOB = { accessKeyId: 'AKIALABBOB0000000000', secretAccessKey: 'bob-lab-secret', arn: 'arn:aws:sts::000000000000:assumed-role/Operators/bob' };

beforeAll(async () => {
  t = await startTestLab();
  await t.addHosts('api', [{ id: 'api-stg-1', tier: 'staging', mode: 'embedded', version: '1.4.0' }]);
  t.lab.api.addIdentity(BOB);
  alice = new OperatorApiClient({ baseUrl: `${t.lab.api.url}/api`, region: 'us-east-1', credentials: LAB_S3_CREDENTIALS });
  bob = new OperatorApiClient({ baseUrl: `${t.lab.api.url}/api`, region: 'us-east-1', credentials: BOB });
}, 240_000);
afterAll(async () => {
  await t?.close();
});

async function follow(client: OperatorApiClient, executionArn: string) {
  for (;;) {
    const r = await client.call<{ status: string; states: string[] }>('GET', `/executions/${encodeURIComponent(executionArn)}`);
    expect(r.status).toBe(200);
    if (r.body.status !== 'RUNNING') return r.body;
    await new Promise((res) => setTimeout(res, 250));
  }
}

describe('the operator API in the lab', () => {
  it('reads the fleet and its hosts, and answers who signed', async () => {
    const me = await bob.call('GET', '/me');
    expect(me.body).toEqual({ kind: 'iam', arn: BOB.arn, accountId: '000000000000', userId: 'bob' });
    const hosts = await alice.call<{ id: string; observedVersion: string | null; state: string }[]>('GET', '/hosts', undefined, { fleetId: 'api' });
    expect(hosts.status).toBe(200);
    // a host registered by fleet apply has no observed version until its first run reads it
    expect(hosts.body.map((h) => [h.id, h.observedVersion, h.state])).toEqual([['api-stg-1', null, 'ready']]);
    const doc = await alice.call<{ openapi: string; paths: Record<string, unknown> }>('GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toContain('/api/hosts/{hostId}/upgrade');
  });

  it('upgrades a host as the signer, audits it with the signer, and shows the run with its steps', async () => {
    const started = await bob.call<{ executionArn: string; created: boolean }>('POST', '/hosts/api-stg-1/upgrade', { version: '1.5.0' });
    expect(started.status).toBe(202);
    const done = await follow(bob, started.body.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.states).toContain('SendBackup');

    const audit = await alice.call<{ actor: string; action: string; details: Record<string, unknown> }[]>('GET', '/audit', undefined, { hostId: 'api-stg-1' });
    const requested = audit.body.find((a) => a.action === 'operator.host-upgrade');
    expect(requested).toMatchObject({ actor: BOB.arn, details: { version: '1.5.0', executionArn: started.body.executionArn, via: 'api' } });
    // the workflow's own entries name the same caller: requestedBy came from the API, not the request
    expect(audit.body.filter((a) => a.action !== 'operator.host-upgrade').some((a) => a.actor === BOB.arn)).toBe(true);

    const host = await alice.call<{ host: { observedVersion: string }; runs: { id: string; outcome: string }[]; backups: { status: string }[] }>('GET', '/hosts/api-stg-1');
    expect(host.body.host.observedVersion).toBe('1.5.0');
    expect(host.body.backups.map((b) => b.status)).toEqual(['verified']);
    const run = await alice.call<{ run: { outcome: string }; steps: { step: string; outputUri: string | null }[] }>('GET', `/runs/${host.body.runs[0]!.id}`);
    expect(run.body.run.outcome).toBe('succeeded');
    expect(run.body.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['preflight', 'backup', 'health-check']));
    expect(run.body.steps.every((s) => s.outputUri === null || s.outputUri.startsWith('s3://'))).toBe(true);
  });

  it('refuses an unsigned action, and the workflow never starts', async () => {
    const res = await fetch(`${t.lab.api.url}/api/hosts/api-stg-1/upgrade`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"version":"1.4.0"}' });
    expect(res.status).toBe(403);
    const audit = await alice.call<{ action: string }[]>('GET', '/audit', undefined, { hostId: 'api-stg-1' });
    expect(audit.body.filter((a) => a.action === 'operator.host-upgrade')).toHaveLength(1);
  });
});
