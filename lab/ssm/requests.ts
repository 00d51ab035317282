/**
 * SSM requests at the edge: zod schemas whose failures are the
 * ValidationException SSM answers, the opaque paging tokens, and the
 * CommandFilter rules of ListCommands / ListCommandInvocations.
 */
import { z } from 'zod';
import { AwsServiceError } from '../aws-json';
import { COMMAND_STATUSES } from './commands';

export const INSTANCE_ID = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/;
const COMMAND_ID = z.string().length(36);

export const SendCommandInput = z.object({
  DocumentName: z.string().regex(/^[a-zA-Z0-9_\-.:/]{3,128}$/),
  DocumentVersion: z.string().optional(),
  DocumentHash: z.string().optional(),
  InstanceIds: z.array(z.string()).max(50).optional(),
  Targets: z.array(z.object({ Key: z.string(), Values: z.array(z.string()) })).optional(),
  Parameters: z.record(z.string(), z.array(z.string())).optional(),
  Comment: z.string().max(100).optional(),
  TimeoutSeconds: z.number().int().min(30).max(2_592_000).optional(),
  OutputS3Region: z.string().optional(),
  OutputS3BucketName: z.string().min(3).max(63).optional(),
  OutputS3KeyPrefix: z.string().max(500).optional(),
  MaxConcurrency: z.string().regex(/^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/).optional(),
  MaxErrors: z.string().regex(/^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/).optional(),
  ServiceRoleArn: z.string().optional(),
  NotificationConfig: z.record(z.string(), z.unknown()).optional(),
  CloudWatchOutputConfig: z.object({ CloudWatchLogGroupName: z.string().optional(), CloudWatchOutputEnabled: z.boolean().optional() }).optional(),
  AlarmConfiguration: z.unknown().optional(),
});

export const GetCommandInvocationInput = z.object({
  CommandId: COMMAND_ID,
  InstanceId: z.string().min(1),
  PluginName: z.string().min(4).optional(),
});

const CommandFilter = z.object({ key: z.string(), value: z.string().min(1) });
export const ListCommandsInput = z.object({
  CommandId: COMMAND_ID.optional(),
  InstanceId: z.string().optional(),
  MaxResults: z.number().int().min(1).max(50).optional(),
  NextToken: z.string().optional(),
  Filters: z.array(CommandFilter).min(1).max(5).optional(),
});
export const ListCommandInvocationsInput = ListCommandsInput.extend({ Details: z.boolean().optional() });

export const CancelCommandInput = z.object({ CommandId: COMMAND_ID, InstanceIds: z.array(z.string()).optional() });

export const DescribeInstanceInformationInput = z.object({
  InstanceInformationFilterList: z.array(z.object({ key: z.string(), valueSet: z.array(z.string()).min(1) })).optional(),
  Filters: z.array(z.object({ Key: z.string(), Values: z.array(z.string()).min(1) })).optional(),
  MaxResults: z.number().int().min(5).max(50).optional(),
  NextToken: z.string().optional(),
});

const DOCUMENT_NAME = z.string().regex(/^[a-zA-Z0-9_\-.:/]{3,128}$/);
/** DescribeDocument, UpdateDocument: `$LATEST`, `$DEFAULT` or a version number (API reference patterns). */
const VERSION_SELECTOR = z.string().regex(/^([$]LATEST|[$]DEFAULT|[1-9][0-9]*)$/);

export const DescribeDocumentInput = z.object({ Name: DOCUMENT_NAME, DocumentVersion: VERSION_SELECTOR.optional(), VersionName: z.string().optional() });

export const UpdateDocumentInput = z.object({
  Name: DOCUMENT_NAME,
  Content: z.string().min(1),
  DocumentVersion: VERSION_SELECTOR.optional(),
  DocumentFormat: z.enum(['JSON', 'YAML', 'TEXT']).optional(),
  VersionName: z.string().optional(),
  DisplayName: z.string().optional(),
  TargetType: z.string().optional(),
});

export const UpdateDocumentDefaultVersionInput = z.object({ Name: DOCUMENT_NAME, DocumentVersion: z.string().regex(/^[1-9][0-9]*$/) });

export function parseRequest<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `Value at '${i.path.join('.')}' failed to satisfy constraint: ${i.message}`);
    throw new AwsServiceError('ValidationException', `${issues.length} validation error(s) detected: ${issues.join('; ')}`);
  }
  return result.data;
}

/** Opaque pagination tokens: the offset, base64url. */
export function page<T>(items: T[], maxResults: number, nextToken: string | undefined): { items: T[]; nextToken?: string } {
  let start = 0;
  if (nextToken !== undefined) {
    start = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw new AwsServiceError('InvalidNextToken', 'The specified token isn’t valid.');
  }
  const slice = items.slice(start, start + maxResults);
  const next = start + maxResults < items.length ? Buffer.from(String(start + maxResults)).toString('base64url') : undefined;
  return next ? { items: slice, nextToken: next } : { items: slice };
}

/** What a CommandFilter looks at, for a command or one invocation. */
export interface FilterSubject {
  requestedAt: number;
  status: string;
  documentName: string;
  terminal: boolean;
}

/** ListCommands / ListCommandInvocations filters, per the CommandFilter reference. */
export function filterPredicate(filters: z.infer<typeof CommandFilter>[] | undefined): (c: FilterSubject) => boolean {
  const checks = (filters ?? []).map((f) => {
    switch (f.key) {
      case 'InvokedAfter':
      case 'InvokedBefore': {
        const at = Date.parse(f.value);
        if (Number.isNaN(at)) throw new AwsServiceError('InvalidFilterValue', `${f.value} is not a valid ISO 8601 date-time for ${f.key}.`);
        return f.key === 'InvokedAfter' ? (c: FilterSubject) => c.requestedAt >= at : (c: FilterSubject) => c.requestedAt <= at;
      }
      case 'Status':
        if (!(COMMAND_STATUSES as readonly string[]).includes(f.value)) throw new AwsServiceError('InvalidFilterValue', `${f.value} is not a valid Status.`);
        return (c: FilterSubject) => c.status === f.value;
      case 'ExecutionStage':
        if (f.value !== 'Executing' && f.value !== 'Complete') throw new AwsServiceError('InvalidFilterValue', `${f.value} is not a valid ExecutionStage.`);
        return (c: FilterSubject) => (f.value === 'Complete' ? c.terminal : !c.terminal);
      case 'DocumentName':
        return (c: FilterSubject) => c.documentName === f.value;
      default:
        throw new AwsServiceError('InvalidFilterKey', `${f.key} is not a valid filter key.`);
    }
  });
  return (c) => checks.every((check) => check(c));
}
