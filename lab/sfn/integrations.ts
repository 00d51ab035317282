/**
 * The service integrations a Task state's `Resource` names, answering as Step
 * Functions does and failing with the error names Retry/Catch match on AWS
 * (see errors.ts): `lambda:invoke` and direct Lambda ARNs, `states:startExecution`
 * (plain, `.sync`, `.sync:2`), `sns:publish`, and `aws-sdk:*` resources that
 * have a registered handler. The `.waitForTaskToken` wait is task-tokens.ts.
 */
import { randomUUID } from 'node:crypto';
import { AwsServiceError } from '../aws-json';
import type { LabTemplate } from '../template';
import { LAB_PASS_RESOURCE, LAB_WAIT_RESOURCE, type Json } from './definition';
import { ExecutionClosedError, StatesRuntimeError, TaskError } from './errors';
import type { DescribedExecution, Execution } from './execution-lifecycle';
import { recordEvent } from './history';
import { LambdaServiceError, type LambdaRuntime } from './lambda-runtime';

export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  message: string;
  subject: string | undefined;
  messageAttributes: unknown;
  executionArn: string;
  stateName: string;
  timestamp: number;
}

export interface SdkIntegrationContext {
  executionArn: string;
  stateName: string;
  resource: string;
  signal: AbortSignal;
}
export type SdkIntegrationHandler = (parameters: any, context: SdkIntegrationContext) => Promise<unknown> | unknown;

export interface ParsedResource {
  kind: 'lambda-invoke' | 'lambda-direct' | 'sfn-start' | 'sns-publish' | 'lab-wait' | 'lab-pass' | 'other';
  pattern: 'request' | 'sync' | 'sync2' | 'token';
  /** The resource without its `.sync` / `.waitForTaskToken` suffix. */
  base: string;
  resourceType: string;
  resourceName: string;
}

export function parseResource(resource: string): ParsedResource {
  if (/^arn:aws[a-z-]*:lambda:/.test(resource)) {
    return { kind: 'lambda-direct', pattern: 'request', base: resource, resourceType: 'lambda', resourceName: resource };
  }
  let pattern: ParsedResource['pattern'] = 'request';
  let base = resource;
  if (base.endsWith('.waitForTaskToken')) {
    pattern = 'token';
    base = base.slice(0, -'.waitForTaskToken'.length);
  } else if (base.endsWith('.sync:2')) {
    pattern = 'sync2';
    base = base.slice(0, -'.sync:2'.length);
  } else if (base.endsWith('.sync')) {
    pattern = 'sync';
    base = base.slice(0, -'.sync'.length);
  }
  const m = /^arn:aws[a-z-]*:states:::(.+)$/.exec(base);
  const tail = m?.[1] ?? base;
  const colon = tail.lastIndexOf(':');
  const resourceType = colon > 0 ? tail.slice(0, colon) : tail;
  const resourceName = (colon > 0 ? tail.slice(colon + 1) : tail) + resource.slice(base.length);
  const kind: ParsedResource['kind'] =
    base === LAB_WAIT_RESOURCE ? 'lab-wait'
    : base === LAB_PASS_RESOURCE ? 'lab-pass'
    : tail === 'lambda:invoke' ? 'lambda-invoke'
    : tail === 'states:startExecution' ? 'sfn-start'
    : tail === 'sns:publish' ? 'sns-publish'
    : 'other';
  return { kind, pattern, base, resourceType, resourceName };
}

/** What `states:startExecution` needs from the engine to start and follow a child execution. */
export interface ChildExecutions {
  start(input: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string; startDate: number };
  /** Resolves when the execution has closed. */
  closed(executionArn: string): Promise<void>;
  describe(executionArn: string): DescribedExecution;
}

export interface IntegrationsOptions {
  template: LabTemplate;
  lambda: LambdaRuntime;
  children: ChildExecutions;
}

export class ServiceIntegrations {
  private readonly sdkIntegrations = new Map<string, SdkIntegrationHandler>();
  private readonly messages: PublishedMessage[] = [];

  constructor(private readonly options: IntegrationsOptions) {}

  registerSdkIntegration(resource: string, handler: SdkIntegrationHandler): void {
    this.sdkIntegrations.set(parseResource(resource).base, handler);
  }

  publishedMessages(): PublishedMessage[] {
    return this.messages.map((m) => ({ ...m }));
  }

  async dispatch(exec: Execution, stateName: string, r: ParsedResource, input: Json, signal: AbortSignal): Promise<Json> {
    switch (r.kind) {
      case 'lambda-invoke':
        return this.lambdaInvoke(input, false);
      case 'lambda-direct':
        return this.lambdaInvoke({ FunctionName: r.base, Payload: input }, true);
      case 'sfn-start':
        return this.startChild(exec, r, input, signal);
      case 'sns-publish':
        return this.snsPublish(exec, stateName, input);
      default: {
        const handler = this.sdkIntegrations.get(r.base);
        if (!handler) {
          throw new StatesRuntimeError(
            `The lab has no integration for resource ${r.base}; register one with registerSdkIntegration()`,
          );
        }
        try {
          return (await handler(input, { executionArn: exec.executionArn, stateName, resource: r.base, signal })) as Json;
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          const service = r.resourceType.replace(/^aws-sdk:/, '');
          const name = e.name.includes('.') ? e.name : `${service.charAt(0).toUpperCase()}${service.slice(1)}.${e.name}`;
          throw new TaskError(name, e.message);
        }
      }
    }
  }

  private async lambdaInvoke(params: Json, direct: boolean): Promise<Json> {
    const p = (params ?? {}) as Record<string, Json>;
    if (typeof p.FunctionName !== 'string') {
      throw new TaskError('Lambda.InvalidRequestContentException', 'FunctionName is required (Service: Lambda, Status Code: 400)');
    }
    const invocationType = p.InvocationType === 'Event' ? 'Event' : 'RequestResponse';
    let res;
    try {
      res = await this.options.lambda.invoke(p.FunctionName, p.Payload ?? {}, { invocationType });
    } catch (err) {
      if (err instanceof LambdaServiceError) {
        // Step Functions surfaces Lambda service exceptions as `Lambda.<Exception>`.
        throw new TaskError(
          `Lambda.${err.code}`,
          `${err.message} (Service: Lambda, Status Code: ${err.statusCode}, Request ID: ${randomUUID()})`,
        );
      }
      throw err;
    }
    if (res.functionError) {
      // The function's errorType is the error name; the Cause is the runtime's JSON error document.
      const { errorType, errorMessage, trace } = res.functionError;
      throw new TaskError(errorType, JSON.stringify({ errorMessage, errorType, trace }));
    }
    const value = (res.payload === undefined ? null : res.payload) as Json;
    if (direct) return value;
    return {
      ExecutedVersion: res.executedVersion,
      Payload: invocationType === 'Event' ? '' : value,
      ...sdkMetadata(res.requestId),
      StatusCode: res.statusCode,
    } as Json;
  }

  private async startChild(exec: Execution, r: ParsedResource, params: Json, signal: AbortSignal): Promise<Json> {
    const p = (params ?? {}) as Record<string, Json>;
    const input = p.Input === undefined ? '{}' : typeof p.Input === 'string' ? p.Input : JSON.stringify(p.Input);
    const { children } = this.options;
    let started: { executionArn: string; startDate: number };
    try {
      started = children.start({
        stateMachineArn: String(p.StateMachineArn),
        ...(typeof p.Name === 'string' ? { name: p.Name } : {}),
        input,
      });
    } catch (err) {
      if (err instanceof AwsServiceError) {
        const name = err.name.endsWith('Exception') ? err.name : `${err.name}Exception`;
        throw new TaskError(`StepFunctions.${name}`, `${err.message} (Service: AWSStepFunctions; Status Code: ${err.statusCode}; Error Code: ${err.name})`);
      }
      throw err;
    }
    if (r.pattern === 'request' || r.pattern === 'token') {
      return { ExecutionArn: started.executionArn, StartDate: started.startDate, ...sdkMetadata(randomUUID()) } as Json;
    }
    exec.syncChildren.add(started.executionArn);
    const childClosed = children.closed(started.executionArn);
    recordEvent(exec, 'TaskSubmitted', {
      resourceType: r.resourceType,
      resource: r.resourceName,
      output: JSON.stringify({ ExecutionArn: started.executionArn, StartDate: started.startDate }),
      outputDetails: { truncated: false },
    });
    await Promise.race([childClosed, abortPromise(signal)]);
    const d = children.describe(started.executionArn);
    const parse = (s: string | undefined) => (s === undefined ? null : (JSON.parse(s) as Json));
    const structured = r.pattern === 'sync2';
    const description: Record<string, Json> = {
      ExecutionArn: d.executionArn,
      Input: structured ? parse(d.input) : d.input,
      InputDetails: { Included: true },
      Name: d.name,
      StartDate: d.startDate,
      StateMachineArn: d.stateMachineArn,
      Status: d.status,
      StopDate: d.stopDate ?? null,
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
    };
    if (d.status === 'SUCCEEDED') {
      description.Output = structured ? parse(d.output) : (d.output ?? null);
      description.OutputDetails = { Included: true };
      return description;
    }
    if (d.error !== undefined) description.Error = d.error;
    if (d.cause !== undefined) description.Cause = d.cause;
    // A child that fails, times out or is aborted fails the parent task with
    // States.TaskFailed; the Cause is the child's description as JSON.
    throw new TaskError('States.TaskFailed', JSON.stringify(description));
  }

  private snsPublish(exec: Execution, stateName: string, params: Json): Json {
    const p = (params ?? {}) as Record<string, Json>;
    const topicArn = String(p.TopicArn ?? p.TargetArn ?? '');
    const known = Object.values(this.options.template.topics).some((t) => t.topicArn === topicArn);
    if (!known) throw new TaskError('SNS.NotFoundException', `Topic does not exist (Service: Sns, Status Code: 404, Error Code: NotFound): ${topicArn}`);
    if (p.Message === undefined) throw new TaskError('SNS.InvalidParameterException', 'Invalid parameter: Message (Service: Sns, Status Code: 400)');
    const messageId = randomUUID();
    this.messages.push({
      messageId,
      topicArn,
      message: typeof p.Message === 'string' ? p.Message : JSON.stringify(p.Message),
      subject: typeof p.Subject === 'string' ? p.Subject : undefined,
      messageAttributes: p.MessageAttributes,
      executionArn: exec.executionArn,
      stateName,
      timestamp: Date.now(),
    });
    return { MessageId: messageId, ...sdkMetadata(randomUUID()) } as Json;
  }
}

function sdkMetadata(requestId: string) {
  return {
    SdkHttpMetadata: {
      AllHttpHeaders: { 'x-amzn-RequestId': [requestId], 'Content-Type': ['application/json'] },
      HttpHeaders: { 'x-amzn-RequestId': requestId, 'Content-Type': 'application/json' },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
  };
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(new ExecutionClosedError('task closed'));
    signal.addEventListener('abort', () => reject(new ExecutionClosedError('task closed')), { once: true });
  });
}
