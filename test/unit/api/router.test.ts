/**
 * The operator API's router over in-memory stores and a recorded Step
 * Functions port: who the caller is comes only from the authenticated
 * context, actions from another site are refused, bad input names its field,
 * nothing a schema leaves out (the approval task token) is ever answered, and
 * every action is audited with the authenticated caller.
 */
import Ajv2020 from 'ajv/dist/2020';
import { beforeEach, describe, expect, it } from 'vitest';
import { handleApiRequest, openApiDocument, ROUTES, type ApiDeps, type ApiRequest, type StateMachineArns, type Workflows } from '../../../core/api';
import type { RegistryStore } from '../../../core/registry/store';
import { memoryRegistry, type MemoryRegistry } from '../../support/memory-registry';

const ARN = (name: string) => `arn:aws:states:eu-west-1:111122223333:stateMachine:${name}`;
const stateMachines: StateMachineArns = {
  hostUpgrade: ARN('HostUpgrade'),
  hostRollback: ARN('HostRollback'),
  fleetRollout: ARN('FleetRollout'),
  rolloutRollback: ARN('RolloutRollback'),
  complianceCheck: ARN('ComplianceCheck'),
};
const ALICE = { iam: { userArn: 'arn:aws:sts::111122223333:assumed-role/Operators/alice', accountId: '111122223333', userId: 'AROAEXAMPLE:alice', accessKey: 'ASIAEXAMPLE' } };
const CONSOLE = 'https://d111111abcdef8.cloudfront.net';

interface Recorded extends Workflows {
  calls: { op: string; args: unknown[] }[];
}
function recordedWorkflows(): Recorded {
  const calls: Recorded['calls'] = [];
  return {
    calls,
    start: async (machine, name, input) => {
      calls.push({ op: 'start', args: [machine, name, input] });
      return { executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${name}`, created: true };
    },
    describe: async (executionArn) => ({ executionArn, status: 'RUNNING', startedAt: 1, stoppedAt: null, output: null, error: null, cause: null, states: ['BeginRun'] }),
    sendTaskSuccess: async (...args) => void calls.push({ op: 'sendTaskSuccess', args }),
    sendTaskFailure: async (...args) => void calls.push({ op: 'sendTaskFailure', args }),
  };
}

let store: MemoryRegistry;
let workflows: Recorded;
let deps: ApiDeps;

const request = (method: string, path: string, extra: Partial<ApiRequest> = {}): ApiRequest => ({
  method,
  path,
  query: {},
  headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
  body: null,
  authorizer: ALICE,
  ...extra,
});
const call = async (req: ApiRequest) => {
  const res = await handleApiRequest(req, ROUTES, deps);
  return { status: res.status, body: JSON.parse(res.body) as any, headers: res.headers };
};

beforeEach(async () => {
  store = memoryRegistry();
  workflows = recordedWorkflows();
  deps = { store: store as unknown as RegistryStore, workflows, stateMachines, allowedOrigins: [CONSOLE] };
  await store.upsertFleet({ id: 'acme' });
  await store.upsertRelease({ version: '1.5.0', destructive: false });
  await store.upsertHost({ id: 'stg-1', fleetId: 'acme', instanceId: 'i-0123456789abcdef0', tier: 'staging', databaseMode: 'embedded', composeDir: '/opt/semaphor', healthUrl: 'http://10.0.0.5:3000/api/health' });
});

describe('the operator API router', () => {
  it('refuses a request whose context names no authenticated caller', async () => {
    const res = await call(request('GET', '/fleets', { authorizer: null }));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });

  it('answers who the caller is from the IAM context and from a console token, never from a header', async () => {
    const iam = await call(request('GET', '/me', { headers: { 'x-requested-by': 'mallory' } }));
    expect(iam.body).toEqual({ kind: 'iam', arn: ALICE.iam.userArn, accountId: '111122223333', userId: 'AROAEXAMPLE:alice' });
    const user = await call(request('GET', '/me', { authorizer: { jwt: { claims: { sub: 'b1c2', username: 'bob', iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X', 'cognito:groups': ['operators'] }, scopes: ['fleetwave/operate'] } } }));
    expect(user.body).toMatchObject({ kind: 'user', username: 'bob', subject: 'b1c2', groups: ['operators'] });
  });

  it('starts HostUpgrade as the authenticated caller and audits the action with it', async () => {
    const res = await call(request('POST', '/hosts/stg-1/upgrade', { body: JSON.stringify({ version: '1.5.0', requestedBy: 'mallory' }) }));
    // a self-declared name is not a field of the request: refused, nothing started
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual(['requestedBy']);
    expect(workflows.calls).toEqual([]);

    const ok = await call(request('POST', '/hosts/stg-1/upgrade', { body: JSON.stringify({ version: '1.5.0' }) }));
    expect(ok.status).toBe(202);
    const [start] = workflows.calls;
    expect(start!.args[0]).toBe(stateMachines.hostUpgrade);
    expect(start!.args[2]).toEqual({ hostId: 'stg-1', version: '1.5.0', allowDestructive: false, requestedBy: ALICE.iam.userArn });
    const [entry] = await store.listAudit({ hostId: 'stg-1' });
    expect(entry).toMatchObject({ actor: ALICE.iam.userArn, action: 'operator.host-upgrade', details: { executionArn: ok.body.executionArn, via: 'api' } });
  });

  it('refuses an action posted from another site, and one that is not JSON, before anything starts', async () => {
    const foreign = await call(request('POST', '/hosts/stg-1/upgrade', { headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: '{"version":"1.5.0"}' }));
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.message).toContain('https://evil.example');
    const form = await call(request('POST', '/hosts/stg-1/upgrade', { headers: { 'content-type': 'text/plain', origin: CONSOLE }, body: '{"version":"1.5.0"}' }));
    expect(form.status).toBe(415);
    const fromConsole = await call(request('POST', '/hosts/stg-1/upgrade', { headers: { 'content-type': 'application/json', origin: CONSOLE }, body: '{"version":"1.5.0"}' }));
    expect(fromConsole.status).toBe(202);
    expect(workflows.calls).toHaveLength(1);
  });

  it('names the field of bad input and the thing that is missing', async () => {
    const bad = await call(request('POST', '/hosts/stg-1/upgrade', { body: JSON.stringify({ version: 'latest' }) }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual(['version']);
    const unknownRelease = await call(request('POST', '/hosts/stg-1/upgrade', { body: JSON.stringify({ version: '9.9.9' }) }));
    expect(unknownRelease.body.error).toMatchObject({ code: 'invalid-input', fields: ['version'] });
    expect(unknownRelease.body.error.message).toMatch(/^version 9\.9\.9 is not in the release catalog/);
    const missing = await call(request('POST', '/hosts/nope/upgrade', { body: JSON.stringify({ version: '1.5.0' }) }));
    expect(missing.status).toBe(404);
    const badPath = await call(request('GET', '/rollouts/Not_An_Id'));
    expect(badPath.status).toBe(400);
    expect(badPath.body.error.fields).toEqual(['rolloutId']);
  });

  it('refuses to upgrade a quarantined host, naming why', async () => {
    await store.lockHost('stg-1', 'restore failed: disk full');
    const res = await call(request('POST', '/hosts/stg-1/upgrade', { body: JSON.stringify({ version: '1.5.0' }) }));
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('restore failed: disk full');
    expect(workflows.calls).toEqual([]);
  });

  it('approves a waiting rollout with its task token, which it never answers to anyone', async () => {
    const plan = { index: 0, name: 'staging', tier: 'staging' as const, hostIds: ['stg-1'], maxFailures: 0 };
    await store.startRollout({ id: 'acme-1-5-0', fleetId: 'acme', targetVersion: '1.5.0', failurePolicy: 'halt', allowDestructive: false, concurrency: 1, executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:FleetRollout:acme-1-5-0--a1', waves: [plan] });
    await store.requestApproval('acme-1-5-0', 'TASK-TOKEN-SECRET');

    const read = await call(request('GET', '/rollouts/acme-1-5-0'));
    expect(read.body.rollout.awaitingApproval).toBe(true);
    expect(JSON.stringify(read.body)).not.toContain('TASK-TOKEN-SECRET');
    expect(read.body.waves[0].hosts).toEqual([{ rolloutId: 'acme-1-5-0', hostId: 'stg-1', wave: 0, result: 'pending', outcome: null, message: null }]);

    const approved = await call(request('POST', '/rollouts/acme-1-5-0/approve', { body: '{}' }));
    expect(approved.status).toBe(200);
    expect(workflows.calls).toEqual([{ op: 'sendTaskSuccess', args: ['TASK-TOKEN-SECRET', { approvedBy: ALICE.iam.userArn }] }]);
    expect((await store.getRollout('acme-1-5-0')).approvedBy).toBe(ALICE.iam.userArn);
    const again = await call(request('POST', '/rollouts/acme-1-5-0/approve', { body: '{}' }));
    expect(again.status).toBe(409);
  });

  it('describes only executions of its own state machines', async () => {
    const own = await call(request('GET', `/executions/${encodeURIComponent(`${stateMachines.hostUpgrade.replace(':stateMachine:', ':execution:')}:x`)}`));
    expect(own.status).toBe(200);
    const other = await call(request('GET', `/executions/${encodeURIComponent('arn:aws:states:eu-west-1:111122223333:execution:Payroll:x')}`));
    expect(other.status).toBe(404);
  });
});

describe('the OpenAPI document', () => {
  const doc = openApiDocument(ROUTES) as { openapi: string; paths: Record<string, Record<string, any>>; components: any };

  it('has every route under both prefixes, with its security', () => {
    for (const r of ROUTES) {
      expect(doc.paths[`/api${r.path}`]?.[r.method.toLowerCase()]?.security).toEqual([{ sigv4: [] }]);
      expect(doc.paths[`/console/api${r.path}`]?.[r.method.toLowerCase()]?.security).toEqual([{ console: ['fleetwave/operate'] }]);
    }
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes requests and responses with the routes\' own schemas, which accept what the API answers', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const upgrade = doc.paths['/api/hosts/{hostId}/upgrade']!.post;
    const validateBody = ajv.compile(upgrade.requestBody.content['application/json'].schema);
    expect(validateBody({ version: '1.5.0' })).toBe(true);
    expect(validateBody({ version: 'latest' })).toBe(false);
    expect(upgrade.parameters).toEqual([expect.objectContaining({ name: 'hostId', in: 'path', required: true })]);

    const hosts = doc.paths['/api/hosts']!.get;
    const validateHosts = ajv.compile(hosts.responses['200'].content['application/json'].schema);
    const answered = await call(request('GET', '/fleets/acme'));
    expect(answered.status).toBe(200);
    const fleetSchema = ajv.compile(doc.paths['/api/fleets/{fleetId}']!.get.responses['200'].content['application/json'].schema);
    expect(fleetSchema(answered.body)).toBe(true);
    expect(validateHosts([{ nope: true }])).toBe(false);
  });
});
