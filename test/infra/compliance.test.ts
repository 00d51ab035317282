/**
 * The compliance part of the synthesized template: schedule and its role,
 * the state machine's shape and limits, the functions' IAM, the alarm, and
 * cdk-nag. Definitions are parsed, never string-matched.
 */
import aslValidator from 'asl-validator';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { TRANSIENT_ERRORS } from '../../state-machines/task-policy';
import { definitionOf, reachable, synthApp, type AslDefinition, type AslState, type Synthesized } from '../support/synth';

let s: Synthesized;
let def: AslDefinition;

beforeAll(() => {
  s = synthApp();
  def = definitionOf(s, 'ComplianceCheck');
}, 120_000);

type Res = { Type: string; Properties: Record<string, any> };
const resources = (type: string) => Object.entries(s.json.Resources).filter(([, r]) => r.Type === type) as [string, Res][];
const logicalIdOf = (prefix: string, type: string) => {
  const found = resources(type).filter(([id]) => id.startsWith(prefix));
  expect(found, `${prefix} ${type}`).toHaveLength(1);
  return found[0]![0];
};
/** Every Allow statement of the inline policies attached to `roleId`. */
const statementsOfRole = (roleId: string) =>
  resources('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);
const roleOfFunction = (prefix: string) => {
  const fnId = logicalIdOf(prefix, 'AWS::Lambda::Function');
  return (s.json.Resources[fnId]!.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
};
const actions = (st: Record<string, any>) => ([] as string[]).concat(st.Action);
const machineId = () => logicalIdOf('ComplianceCheck', 'AWS::StepFunctions::StateMachine');

/** All states, including those inside the Map's ItemProcessor. */
function allStates(d: AslDefinition): [string, AslState][] {
  return Object.entries(d.States).flatMap(([name, st]) => {
    const inner = (st.ItemProcessor ?? st.Iterator) as AslDefinition | undefined;
    return [[name, st] as [string, AslState], ...(inner ? allStates(inner) : [])];
  });
}

describe('ComplianceCheck schedule', () => {
  it('starts the compliance machine every hour by default with an empty input', () => {
    const [, schedule] = resources('AWS::Scheduler::Schedule')[0]!;
    expect(resources('AWS::Scheduler::Schedule')).toHaveLength(1);
    expect(schedule.Properties.ScheduleExpression).toBe('rate(1 hour)');
    expect(schedule.Properties.Target.Arn).toEqual({ Ref: machineId() });
    expect(JSON.parse(schedule.Properties.Target.Input)).toEqual({});
  });

  it('uses a role that may only start the compliance machine', () => {
    const [, schedule] = resources('AWS::Scheduler::Schedule')[0]!;
    const roleId = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
    const role = s.json.Resources[roleId]!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'scheduler.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = statementsOfRole(roleId);
    expect(statements).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machineId() } })]);
  });
});

describe('ComplianceCheck definition', () => {
  it('is valid Amazon States Language with every state reachable', () => {
    const { isValid, errors } = aslValidator(def as never);
    expect(errors ?? [], JSON.stringify(errors)).toEqual([]);
    expect(isValid).toBe(true);
    expect([...reachable(def)].sort()).toEqual(Object.keys(def.States).sort());
  });

  it('gives every Task a timeout, Retry on the transient errors with backoff, and a Catch', () => {
    const tasks = allStates(def).filter(([, st]) => st.Type === 'Task');
    expect(tasks.map(([n]) => n).sort()).toEqual(['CollectBatch', 'Finish', 'MarkFailed', 'Plan', 'SendBatch']);
    for (const [name, st] of tasks) {
      expect(st.TimeoutSeconds, name).toBeGreaterThan(0);
      const retry = st.Retry!.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'))!;
      expect(retry.ErrorEquals, name).toEqual(expect.arrayContaining([...TRANSIENT_ERRORS]));
      expect(retry.BackoffRate, name).toBeGreaterThan(1);
      expect(st.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), name).toBe(true);
    }
  });

  it('maps over batch indexes with a concurrency limit and discards the map result', () => {
    const map = def.States.Batches!;
    expect(map.Type).toBe('Map');
    expect(map.ItemsPath).toBe('$.plan.batches');
    expect(map.MaxConcurrency).toBeGreaterThan(0);
    expect(map.ResultPath).toBeNull();
    const inner = map.ItemProcessor as AslDefinition;
    expect(inner.StartAt).toBe('SendBatch');
    // the poll loop waits before every collect, and a failed batch ends only its iteration
    expect(inner.States.SendBatch!.Next).toBe('WaitInventory');
    expect(inner.States.WaitInventory!.Next).toBe('CollectBatch');
    expect(inner.States.SendBatch!.Catch![0]!.Next).toBe('BatchFailed');
    expect(inner.States.BatchFailed!.End).toBe(true);
  });

  it('marks the check failed when plan or finish fail', () => {
    expect(def.States.Plan!.Catch![0]!.Next).toBe('MarkFailed');
    expect(def.States.Finish!.Catch![0]!.Next).toBe('MarkFailed');
    expect(def.States.MarkFailed!.Next).toBe('CheckFailed');
    expect(def.States.CheckFailed!.Type).toBe('Fail');
  });
});

describe('compliance functions IAM', () => {
  it('sends only the Inventory document, and only to fleet-tagged instances', () => {
    const statements = statementsOfRole(roleOfFunction('ComplianceSend')).filter((st) => actions(st).includes('ssm:SendCommand'));
    expect(statements).toHaveLength(2);
    for (const st of statements) expect(actions(st)).toEqual(['ssm:SendCommand']);
    const doc = statements.find((st) => st.Sid === 'SendInventoryDocumentOnly')!;
    expect(JSON.stringify(doc.Resource)).toMatch(/:document\/Fleetwave-Inventory"/);
    const tagged = statements.find((st) => st.Sid === 'InventoryTaggedInstancesOnly')!;
    expect(tagged.Condition).toEqual({ StringLike: { 'ssm:resourceTag/fleetwave:fleet': '*' } });
  });

  it('lets no other compliance function send commands', () => {
    for (const fn of ['CompliancePlan', 'ComplianceCollect', 'ComplianceFinish']) {
      const all = statementsOfRole(roleOfFunction(fn)).flatMap(actions);
      expect(all.filter((a) => a === 'ssm:SendCommand' || a === 'ssm:*'), fn).toEqual([]);
    }
  });

  it('lets finish put compliance items and metrics only in the Fleetwave namespace', () => {
    const statements = statementsOfRole(roleOfFunction('ComplianceFinish'));
    expect(statements.some((st) => actions(st).includes('ssm:PutComplianceItems'))).toBe(true);
    const metric = statements.filter((st) => actions(st).includes('cloudwatch:PutMetricData'));
    expect(metric).toHaveLength(1);
    expect(metric[0]!.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'Fleetwave' } });
  });

  it('is denied deleting any backup object by the bucket policy', () => {
    const statements = resources('AWS::S3::BucketPolicy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);
    const deny = statements.find((st) => st.Sid === 'ComplianceCannotDeleteBackups')!;
    expect(deny.Effect).toBe('Deny');
    expect(actions(deny)).toEqual(expect.arrayContaining(['s3:DeleteObject', 's3:DeleteObjectVersion']));
    const denied = (deny.Condition.ArnEquals['aws:PrincipalArn'] as { 'Fn::GetAtt': string[] }[]).map((r) => r['Fn::GetAtt'][0]).sort();
    expect(denied).toEqual(['CompliancePlan', 'ComplianceSend', 'ComplianceCollect', 'ComplianceFinish'].map(roleOfFunction).sort());
    const sids = statements.map((st) => st.Sid).filter(Boolean);
    expect(new Set(sids).size).toBe(sids.length);
  });

  it('grants no compliance role any S3 delete', () => {
    for (const fn of ['CompliancePlan', 'ComplianceSend', 'ComplianceCollect', 'ComplianceFinish']) {
      const all = statementsOfRole(roleOfFunction(fn)).filter((st) => st.Effect === 'Allow').flatMap(actions);
      expect(all.filter((a) => /^s3:(Delete|\*)/.test(a)), fn).toEqual([]);
    }
  });
});

describe('drift alarm', () => {
  it('fires when NonCompliantHosts is above 0 and notifies the alert topic', () => {
    // the stack's other alarms (lib/monitoring.ts) watch executions, tasks and rollbacks
    const alarms = resources('AWS::CloudWatch::Alarm').filter(([, a]) => JSON.stringify(a.Properties.Metrics ?? []).includes('NonCompliantHosts'));
    expect(alarms).toHaveLength(1);
    const [, alarm] = alarms[0]!;
    const topicId = logicalIdOf('AlertsTopic', 'AWS::SNS::Topic');
    expect(alarm.Properties.ComparisonOperator).toBe('GreaterThanThreshold');
    expect(alarm.Properties.Threshold).toBe(0);
    expect(alarm.Properties.EvaluationPeriods).toBeGreaterThanOrEqual(1);
    expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    const query = (alarm.Properties.Metrics as { Expression?: string }[]).map((m) => m.Expression ?? '').join(' ');
    expect(query).toMatch(/MAX\(NonCompliantHosts\) FROM SCHEMA\("Fleetwave", Fleet\)/);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding on the compliance constructs', () => {
    const report = new AwsSolutionsChecks(s.app).validateScope(s.app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName}: ${(r as { constructPath?: string }).constructPath ?? ''}`),
    );
    expect(findings.filter((f) => f.includes('/Compliance'))).toEqual([]);
  });
});
