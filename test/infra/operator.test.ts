/**
 * The operator API, the console and the monitoring as synthesized: every
 * route authenticated (IAM or the console's JWT authorizer, explicit methods,
 * no anonymous route), the function scoped to the five state machines, the
 * console private behind CloudFront, and an alarm on every failure the issue
 * names, each notifying the alert topic.
 */
import { STEP_EXECUTION_TIMEOUT_SECONDS } from '../../core/host-steps/parameters';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_SCOPE } from '../../core/api/auth';
import { synthApp, type Synthesized } from '../support/synth';

let s: Synthesized;
beforeAll(() => {
  s = synthApp();
}, 120_000);

const ofType = (type: string) => Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
const idOf = (type: string, prefix: string) => ofType(type).find(([id]) => id.startsWith(prefix))![0];

describe('operator API', () => {
  it('has only authenticated routes: IAM under /api, the console sign-in with its scope under /console/api', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['GET /api/{proxy+}', 'GET /console/api/{proxy+}', 'POST /api/{proxy+}', 'POST /console/api/{proxy+}']);
    for (const r of routes) {
      if (r.RouteKey.includes(' /api/')) expect(r.AuthorizationType).toBe('AWS_IAM');
      else {
        expect(r.AuthorizationType).toBe('JWT');
        expect(r.AuthorizationScopes).toEqual([CONSOLE_SCOPE]);
      }
    }
    const [, authorizer] = ofType('AWS::ApiGatewayV2::Authorizer')[0]!;
    expect(authorizer.Properties.JwtConfiguration.Audience).toEqual([{ Ref: idOf('AWS::Cognito::UserPoolClient', 'OperatorOperatorsConsole') }]);
  });

  it('lets only the console\'s origin make cross-origin calls, and logs every request', () => {
    const [, api] = ofType('AWS::ApiGatewayV2::Api')[0]!;
    const cors = api.Properties.CorsConfiguration;
    expect(cors.AllowOrigins).toHaveLength(1);
    expect(JSON.stringify(cors.AllowOrigins)).toContain(idOf('AWS::CloudFront::Distribution', 'OperatorConsoleDistribution'));
    expect(cors.AllowCredentials).toBeUndefined();
    const [, stage] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    expect(stage.Properties.AccessLogSettings.DestinationArn).toBeDefined();
  });

  it('may start exactly the five workflows and answer only FleetRollout\'s task tokens', () => {
    const role = (s.json.Resources[idOf('AWS::Lambda::Function', 'OperatorHandler')]!.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(role!))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);
    const start = statements.find((st) => st.Sid === 'StartFleetwaveWorkflows')!;
    const machines = ['HostUpgrade', 'HostRollback', 'FleetRollout', 'RolloutRollback', 'ComplianceCheck'].map((p) => idOf('AWS::StepFunctions::StateMachine', p));
    expect(start.Resource.map((r: { Ref: string }) => r.Ref).sort()).toEqual(machines.sort());
    const answer = statements.find((st) => ([] as string[]).concat(st.Action).includes('states:SendTaskSuccess'))!;
    expect(answer.Resource).toEqual({ Ref: idOf('AWS::StepFunctions::StateMachine', 'FleetRollout') });
    expect(statements.flatMap((st) => [].concat(st.Action))).not.toContain('states:*');
  });

  it('keeps the console bucket private, read by CloudFront through origin access control only', () => {
    const bucket = s.json.Resources[idOf('AWS::S3::Bucket', 'OperatorConsoleFiles')]!;
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(ofType('AWS::CloudFront::OriginAccessControl')).toHaveLength(1);
    const [, dist] = ofType('AWS::CloudFront::Distribution')[0]!;
    expect(dist.Properties.DistributionConfig.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    const [, policy] = ofType('AWS::CloudFront::ResponseHeadersPolicy')[0]!;
    const csp = JSON.stringify(policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('signs operators in with the authorization code grant only: no self sign-up, MFA required', () => {
    const [, pool] = ofType('AWS::Cognito::UserPool')[0]!;
    expect(pool.Properties.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(true);
    expect(pool.Properties.MfaConfiguration).toBe('ON');
    const [, client] = ofType('AWS::Cognito::UserPoolClient')[0]!;
    expect(client.Properties.AllowedOAuthFlows).toEqual(['code']);
    expect(client.Properties.GenerateSecret).toBe(false);
    expect(JSON.stringify(client.Properties.AllowedOAuthScopes)).toContain(CONSOLE_SCOPE.split('/')[1]);
  });
});

describe('monitoring', () => {
  /** The metric an alarm watches, whether set directly or as the one metric of its `Metrics`. */
  const metricOf = (a: Record<string, any>) => a.Properties.MetricName ? a.Properties : a.Properties.Metrics?.find((m: any) => m.MetricStat)?.MetricStat.Metric;
  const alarmsOn = (metricName: string) => ofType('AWS::CloudWatch::Alarm').filter(([, a]) => metricOf(a)?.MetricName === metricName);
  const dimensionOf = (a: Record<string, any>) => (metricOf(a).Dimensions[0].Value as { Ref: string }).Ref;

  it('alarms on failed, timed-out and aborted executions of every state machine', () => {
    const machines = ofType('AWS::StepFunctions::StateMachine').map(([id]) => id);
    expect(machines).toHaveLength(6);
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      const watched = alarmsOn(metric).map(([, a]) => dimensionOf(a)).sort();
      expect(watched, metric).toEqual([...machines].sort());
      for (const [, a] of alarmsOn(metric)) expect(a.Properties.Threshold).toBe(0);
    }
  });

  it('alarms on errors and throttles of every fleetwave function', () => {
    // CDK's own framework functions (log retention, bucket deployment, and the
    // AwsCustomResource singleton that reads document versions at deploy time,
    // whose logical id is the fixed UUID prefix CDK gives it) run only during
    // a deployment, where CloudFormation reports their failures.
    const framework = ['LogRetention', 'CustomCDKBucketDeployment', 'AWS679f53fac002430cb0da5b7982bd2287'];
    const ours = ofType('AWS::Lambda::Function').filter(([id]) => !framework.some((p) => id.startsWith(p))).map(([id]) => id);
    expect(ours.length).toBeGreaterThan(10);
    for (const metric of ['Errors', 'Throttles']) {
      const watched = alarmsOn(metric).map(([, a]) => dimensionOf(a)).sort();
      expect(watched, metric).toEqual([...ours].sort());
    }
  });

  it('counts rollbacks that failed from finish-run\'s log and alarms on the first', () => {
    const [, filter] = ofType('AWS::Logs::MetricFilter').find(([, f]) => f.Properties.MetricTransformations[0].MetricName === 'RollbacksFailed')!;
    expect(filter.Properties.FilterPattern).toBe('{ ($.message = "run finished") && ($.outcome = "rollback-failed") }');
    expect(JSON.stringify(filter.Properties.LogGroupName)).toContain('FinishRunLogs');
    const alarms = alarmsOn('RollbacksFailed');
    expect(alarms).toHaveLength(1);
    expect(metricOf(alarms[0]![1]).Namespace).toBe('Fleetwave');
    expect(alarms[0]![1].Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it('alarms while any fleet has a quarantined host, from the compliance check\'s QuarantinedHosts', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').filter(([, a]) => JSON.stringify(a.Properties.Metrics ?? []).includes('QuarantinedHosts'));
    expect(alarms).toHaveLength(1);
    const [, alarm] = alarms[0]!;
    expect(alarm.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm.Properties.Metrics[0].Expression).toBe('SELECT MAX(QuarantinedHosts) FROM SCHEMA("Fleetwave", Fleet)');
  });

  it("reads each verified backup's size and duration from complete-backup's log: fleet metrics, a per-host table, an alarm near the Backup step's timeout", () => {
    const filters = Object.fromEntries(ofType('AWS::Logs::MetricFilter').map(([, f]) => [f.Properties.MetricTransformations[0].MetricName, f.Properties]));
    for (const name of ['BackupBytes', 'BackupSeconds']) {
      expect(JSON.stringify(filters[name].LogGroupName), name).toContain('CompleteBackupLogs');
      expect(filters[name].FilterPattern, name).toContain('$.message = "backup verified"');
      // no per-host dimension: CloudWatch disables a filter that makes 1,000 name/value pairs in an hour
      expect(filters[name].MetricTransformations[0].Dimensions, name).toBeUndefined();
    }
    expect(filters.BackupBytes.MetricTransformations[0]).toMatchObject({ MetricValue: '$.bytes', Unit: 'Bytes' });
    expect(filters.BackupSeconds.MetricTransformations[0]).toMatchObject({ MetricValue: '$.durationSeconds', Unit: 'Seconds' });
    const [alarm] = alarmsOn('BackupSeconds');
    expect(alarm![1].Properties).toMatchObject({ Threshold: 0.8 * STEP_EXECUTION_TIMEOUT_SECONDS.backup, ComparisonOperator: 'GreaterThanThreshold' });
    expect(JSON.stringify(alarm![1].Properties)).toContain('"Maximum"');
    const [, dashboard] = ofType('AWS::CloudWatch::Dashboard')[0]!;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    // the per-host table: a Logs Insights query over complete-backup's log (booleans, not the whole body, on failure)
    expect(body.includes('SOURCE \'') && body.includes('backup verified'), 'a log query widget over the verified-backup lines').toBe(true);
    expect(body.includes('by hostId'), 'grouped by host').toBe(true);
  });

  it('notifies the alert topic from every alarm, and has one dashboard', () => {
    const topic = idOf('AWS::SNS::Topic', 'AlertsTopic');
    const alarms = ofType('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(40);
    for (const [id, a] of alarms) expect(a.Properties.AlarmActions, id).toEqual([{ Ref: topic }]);
    expect(ofType('AWS::CloudWatch::Dashboard')).toHaveLength(1);
  });
});
