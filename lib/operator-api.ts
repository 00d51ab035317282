import { Arn, ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CorsHttpMethod, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import {
  AccountRecovery,
  Mfa,
  OAuthScope,
  ResourceServerScope,
  UserPool,
  UserPoolClient,
  UserPoolResourceServer,
  type UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { API_PREFIX, CONSOLE_API_PREFIX, CONSOLE_RESOURCE_SERVER, CONSOLE_SCOPE, consoleConfig } from '../core/api/auth';
import { STATE_MACHINES, type StateMachineKey } from '../core/api/workflows';
import { OperatorApiEnv } from '../lambdas/shared/env';
import { ConsoleSite } from './console-site';
import { FleetwaveFunction } from './fleetwave-function';
import { acknowledge, nagArn, wildcardResource } from './nag';
import type { RegistryDatabase } from './registry-database';

export interface OperatorApiProps {
  readonly registry: RegistryDatabase;
  /** The state machines the API's actions start (HostUpgrade, HostRollback, FleetRollout, RolloutRollback, ComplianceCheck). */
  readonly stateMachines: Record<StateMachineKey, StateMachine>;
  /** Prefix of the console's Cognito domain (`<prefix>.auth.<region>.amazoncognito.com`); globally unique. */
  readonly consoleDomainPrefix?: string;
}

/**
 * The operators' API and console:
 * - an HTTP API whose every route is authenticated: `GET|POST /api/{proxy+}`
 *   with IAM authorization (SigV4; the CLI and operators' tooling) and
 *   `GET|POST /console/api/{proxy+}` with a JWT authorizer over the console's
 *   Cognito user pool (access tokens with scope fleetwave/operate). Explicit
 *   methods, no ANY route, so CORS preflights are answered by API Gateway and
 *   never need a credential. Access logs on the default stage.
 * - the operator-api function (lambdas/operator-api), in the registry's
 *   network like the other registry tasks, allowed to start exactly the five
 *   state machines, read their executions and answer FleetRollout's approval.
 * - the console: static files behind CloudFront (lib/console-site.ts), a
 *   user pool with no self sign-up and MFA required, an app client using the
 *   authorization code grant with PKCE.
 * Decision and AWS facts: docs/decisions/console-auth.md.
 */
export class OperatorApi extends Construct {
  readonly api: HttpApi;
  readonly handler: FleetwaveFunction;
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly domain: UserPoolDomain;
  readonly site: ConsoleSite;

  constructor(scope: Construct, id: string, props: OperatorApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { registry, stateMachines } = props;
    this.site = new ConsoleSite(this, 'Console');

    // ── who may use the console: operators an administrator adds (no self sign-up), with MFA
    this.userPool = new UserPool(this, 'Operators', {
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: { minLength: 14, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.userPool,
      ['AwsSolutions-COG3', 'AwsSolutions-COG8'],
      'Operators are created by an administrator (no self sign-up) and must use TOTP MFA; threat protection (the Plus feature plan) can be enabled per account.',
    );
    const operate = new ResourceServerScope({ scopeName: CONSOLE_SCOPE.split('/')[1]!, scopeDescription: 'operate the fleet through the console' });
    const server = new UserPoolResourceServer(this, 'ApiScopes', { userPool: this.userPool, identifier: CONSOLE_RESOURCE_SERVER, scopes: [operate] });
    this.client = this.userPool.addClient('Console', {
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.resourceServer(server, operate)],
        callbackUrls: [`${this.site.url}/`],
        logoutUrls: [`${this.site.url}/`],
      },
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(8),
      preventUserExistenceErrors: true,
    });
    this.domain = this.userPool.addDomain('SignIn', {
      cognitoDomain: { domainPrefix: props.consoleDomainPrefix ?? `fleetwave-console-${stack.account}` },
    });

    // ── the function
    const arn = (key: StateMachineKey) => stateMachines[key].stateMachineArn;
    this.handler = new FleetwaveFunction(this, 'Handler', {
      handlerDir: 'operator-api',
      description: 'fleetwave: the operator API (reads, and actions that start the state machines as the caller)',
      environmentSchema: OperatorApiEnv,
      environment: {
        ...registry.clientEnvironment(),
        HOST_UPGRADE_ARN: arn('hostUpgrade'),
        HOST_ROLLBACK_ARN: arn('hostRollback'),
        FLEET_ROLLOUT_ARN: arn('fleetRollout'),
        ROLLOUT_ROLLBACK_ARN: arn('rolloutRollback'),
        COMPLIANCE_CHECK_ARN: arn('complianceCheck'),
        CONSOLE_ORIGINS: this.site.url,
      },
      // API Gateway waits at most 30 s for an integration (HTTP API quotas)
      timeout: Duration.seconds(29),
      ...registry.clientNetwork(),
    });
    registry.grantConnect(this.handler);
    this.handler.addToRolePolicy(
      new PolicyStatement({ sid: 'StartFleetwaveWorkflows', actions: ['states:StartExecution'], resources: STATE_MACHINES.map(arn) }),
    );
    this.handler.addToRolePolicy(
      new PolicyStatement({
        sid: 'FollowFleetwaveExecutions',
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: STATE_MACHINES.map((k) =>
          Arn.format({ service: 'states', resource: 'execution', resourceName: `${stateMachines[k].stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack),
        ),
      }),
    );
    // approve / stop answer the task token FleetRollout waits on
    stateMachines.fleetRollout.grantTaskResponse(this.handler);
    acknowledge(
      this.handler,
      STATE_MACHINES.map((k) => wildcardResource(`${nagArn(this, 'states')}execution:<${Stack.of(this).getLogicalId(stateMachines[k].node.defaultChild as never)}.Name>:*`)),
      'Executions are named at run time; the statement is limited to the executions of the five fleetwave state machines.',
    );

    // ── the API: every route authenticated, explicit methods only
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    this.api = new HttpApi(this, 'Api', {
      description: 'fleetwave operator API',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [this.site.url],
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST],
        allowHeaders: ['authorization', 'content-type'],
        maxAge: Duration.minutes(10),
      },
    });
    new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
    const integration = new HttpLambdaIntegration('Operator', this.handler);
    const routes: [string, IHttpRouteAuthorizer, string[] | undefined][] = [
      [API_PREFIX, new HttpIamAuthorizer(), undefined],
      [CONSOLE_API_PREFIX, new HttpUserPoolAuthorizer('ConsoleSignIn', this.userPool, { userPoolClients: [this.client] }), [CONSOLE_SCOPE]],
    ];
    for (const [prefix, authorizer, authorizationScopes] of routes) {
      this.api.addRoutes({ path: `${prefix}/{proxy+}`, methods: [HttpMethod.GET, HttpMethod.POST], integration, authorizer, authorizationScopes });
    }

    const apiUrl = `https://${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    this.site.deploy(consoleConfig(apiUrl, this.domain.baseUrl(), this.client.userPoolClientId, stack.stackName));

    new CfnOutput(stack, 'OperatorApiUrl', { value: `${apiUrl}${API_PREFIX}`, description: 'FLEETWAVE_CONFIG apiUrl (IAM, SigV4)' });
    new CfnOutput(stack, 'ConsoleUrl', { value: `${this.site.url}/` });
    new CfnOutput(stack, 'ConsoleUserPoolId', { value: this.userPool.userPoolId, description: 'add operators with cognito-idp admin-create-user' });
  }
}
