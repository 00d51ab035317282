import { Duration } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IVpc, ISecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { acknowledge, managedPolicy, wildcardResource } from './nag';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface FleetwaveFunctionProps<S extends z.ZodObject> {
  /** Folder under `lambdas/` holding `handler.ts`. */
  readonly handlerDir: string;
  readonly description: string;
  /**
   * The zod schema the handler parses its environment with. The same schema
   * is checked here at synth time, so a variable the handler needs can never
   * be missing from the deployed function.
   */
  readonly environmentSchema: S;
  readonly environment: { [K in keyof z.input<S>]: string };
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly vpc?: IVpc;
  readonly securityGroups?: ISecurityGroup[];
}

/**
 * A task Lambda: Node.js 24 (NODEJS_24_X) on Graviton, bundled locally with esbuild (no
 * Docker), JSON logs into a log group with bounded retention, X-Ray tracing.
 */
export class FleetwaveFunction<S extends z.ZodObject = z.ZodObject> extends NodejsFunction {
  constructor(scope: Construct, id: string, props: FleetwaveFunctionProps<S>) {
    const required = Object.keys(props.environmentSchema.shape);
    const missing = required.filter(
      (k) => !(k in props.environment) && !props.environmentSchema.shape[k]!.safeParse(undefined).success,
    );
    if (missing.length > 0) {
      throw new Error(`${id}: environment is missing ${missing.join(', ')} required by lambdas/${props.handlerDir}`);
    }
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.THREE_MONTHS });
    super(scope, id, {
      entry: `${REPO_ROOT}lambdas/${props.handlerDir}/handler.ts`,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      description: props.description,
      timeout: props.timeout ?? Duration.seconds(60),
      memorySize: props.memorySize ?? 256,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...(props.environment as Record<string, string>) },
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      vpc: props.vpc,
      securityGroups: props.securityGroups,
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        // the bundles also run in the lab on Node 20; Lambda's runtime is newer
        target: 'node20',
        logLevel: LogLevel.WARNING,
        minify: true,
        sourceMap: true,
        // pg's optional native binding is never used
        externalModules: ['@aws-sdk/*', 'pg-native'],
      },
    });
    acknowledge(
      this,
      [managedPolicy('service-role/AWSLambdaBasicExecutionRole'), managedPolicy('service-role/AWSLambdaVPCAccessExecutionRole')],
      'AWSLambdaBasicExecutionRole / AWSLambdaVPCAccessExecutionRole are the AWS-maintained minimum for writing logs and attaching ENIs.',
    );
    acknowledge(
      this,
      [wildcardResource('*')],
      'X-Ray PutTraceSegments/PutTelemetryRecords (and, for the SSM tasks, ListCommands/GetCommandInvocation/DescribeInstanceInformation) support no resource-level permissions.',
    );
  }
}
