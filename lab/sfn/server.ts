/**
 * The lab's Step Functions endpoint: the engine behind the AWS JSON 1.0
 * protocol (`X-Amz-Target: AWSStepFunctions.<Operation>`), so the ordinary
 * `@aws-sdk/client-sfn` works with only `endpoint` (or
 * `AWS_ENDPOINT_URL_SFN`) pointing here. Requests are checked with zod; a bad
 * request is a `ValidationException`, as on AWS.
 */
import { z } from 'zod';
import { AwsServiceError, startAwsJsonServer, type OperationHandler } from '../aws-json';
import type { LabClock } from '../clock';
import type { LabTemplate } from '../template';
import { StepFunctionsEngine } from './api';
import type { SdkIntegrationHandler } from './integrations';
import type { LambdaRuntime } from './lambda-runtime';

export interface StartStepFunctionsOptions {
  template: LabTemplate;
  lambda: LambdaRuntime;
  port?: number;
  /** The lab's one time scale (lab/clock.ts); default unscaled. */
  clock?: LabClock;
  historyDir?: string;
  validate?: boolean;
}

export interface StepFunctionsLab {
  /** `http://127.0.0.1:<port>`: the SDK's `endpoint` / `AWS_ENDPOINT_URL_SFN`. */
  endpoint: string;
  port: number;
  engine: StepFunctionsEngine;
  publishedMessages: StepFunctionsEngine['publishedMessages'];
  registerSdkIntegration(resource: string, handler: SdkIntegrationHandler): void;
  /** Stops running executions (ABORTED), then the HTTP server. Lambda workers are the caller's. */
  close(): Promise<void>;
}

const Status = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);
const Arn = z.string().min(1).max(2048);
const Paging = { maxResults: z.number().int().min(0).max(1000).optional(), nextToken: z.string().max(1024).optional() };

const schemas = {
  StartExecution: z.object({ stateMachineArn: Arn, name: z.string().optional(), input: z.string().optional(), traceHeader: z.string().optional() }),
  DescribeExecution: z.object({ executionArn: Arn, includedData: z.string().optional() }),
  StopExecution: z.object({ executionArn: Arn, error: z.string().max(256).optional(), cause: z.string().max(32768).optional() }),
  ListExecutions: z.object({ stateMachineArn: Arn, statusFilter: Status.optional(), ...Paging }),
  GetExecutionHistory: z.object({ executionArn: Arn, reverseOrder: z.boolean().optional(), includeExecutionData: z.boolean().optional(), ...Paging }),
  DescribeStateMachine: z.object({ stateMachineArn: Arn }),
  DescribeStateMachineForExecution: z.object({ executionArn: Arn }),
  ListStateMachines: z.object({ ...Paging }),
  SendTaskSuccess: z.object({ taskToken: z.string().min(1).max(2048), output: z.string() }),
  SendTaskFailure: z.object({ taskToken: z.string().min(1).max(2048), error: z.string().max(256).optional(), cause: z.string().max(32768).optional() }),
  SendTaskHeartbeat: z.object({ taskToken: z.string().min(1).max(2048) }),
};

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new AwsServiceError('ValidationException', `${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

export function stepFunctionsOperations(engine: StepFunctionsEngine): Record<string, OperationHandler> {
  return {
    StartExecution: (i) => engine.startExecution(parse(schemas.StartExecution, i)),
    DescribeExecution: (i) => engine.describeExecution(parse(schemas.DescribeExecution, i).executionArn),
    StopExecution: (i) => engine.stopExecution(parse(schemas.StopExecution, i)),
    ListExecutions: (i) => engine.listExecutions(parse(schemas.ListExecutions, i)),
    GetExecutionHistory: (i) => engine.getExecutionHistory(parse(schemas.GetExecutionHistory, i)),
    DescribeStateMachine: (i) => engine.describeStateMachine(parse(schemas.DescribeStateMachine, i).stateMachineArn),
    DescribeStateMachineForExecution: (i) =>
      engine.describeStateMachineForExecution(parse(schemas.DescribeStateMachineForExecution, i).executionArn),
    ListStateMachines: (i) => engine.listStateMachines(parse(schemas.ListStateMachines, i)),
    SendTaskSuccess: (i) => {
      const { taskToken, output } = parse(schemas.SendTaskSuccess, i);
      engine.sendTaskSuccess(taskToken, output);
      return {};
    },
    SendTaskFailure: (i) => {
      const { taskToken, error, cause } = parse(schemas.SendTaskFailure, i);
      engine.sendTaskFailure(taskToken, error, cause);
      return {};
    },
    SendTaskHeartbeat: (i) => {
      engine.sendTaskHeartbeat(parse(schemas.SendTaskHeartbeat, i).taskToken);
      return {};
    },
  };
}

export async function startStepFunctions(options: StartStepFunctionsOptions): Promise<StepFunctionsLab> {
  const engine = new StepFunctionsEngine({
    template: options.template,
    lambda: options.lambda,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.historyDir !== undefined ? { historyDir: options.historyDir } : {}),
    ...(options.validate !== undefined ? { validate: options.validate } : {}),
  });
  await engine.ready();
  const server = await startAwsJsonServer({
    targetPrefix: 'AWSStepFunctions',
    operations: stepFunctionsOperations(engine),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return {
    endpoint: server.url,
    port: server.port,
    engine,
    publishedMessages: () => engine.publishedMessages(),
    registerSdkIntegration: (resource, handler) => engine.registerSdkIntegration(resource, handler),
    async close() {
      await engine.close();
      await server.close();
    },
  };
}
