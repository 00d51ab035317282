/**
 * Synthesizes the real app in-process for template assertions (the construct
 * tree is what cdk-nag and `Template.fromStack` need) and turns state machine
 * definitions back into objects: intrinsics inside `DefinitionString` become
 * `${LogicalId.Attr}` placeholders.
 *
 * Without esbuild bundling: that changes only the functions' asset keys
 * (`Code.S3Key`), which no assertion reads. The bundles are built once per
 * run, for the labs, by test/support/app-setup.ts.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import type { FleetwaveStack } from '../../lib/fleetwave-stack';

export interface Synthesized {
  app: App;
  stack: FleetwaveStack;
  template: Template;
  json: {
    Resources: Record<string, { Type: string; Properties: Record<string, any>; Metadata?: Record<string, unknown> }>;
    Outputs: Record<string, { Value: unknown; Description?: string }>;
  };
}

const synthesized = new Map<string, Synthesized>();

/**
 * One synth per context and default region per worker: the infra project
 * runs its files without isolation (vitest.config.ts), so the files a worker
 * runs share it instead of each spending ~15 s on the same synth. Callers
 * read the result; none may add constructs to it.
 */
export function synthApp(context: Record<string, string> = {}): Synthesized {
  const key = JSON.stringify([context, process.env.CDK_DEFAULT_REGION ?? null]);
  const cached = synthesized.get(key);
  if (cached) return cached;
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = buildApp(app);
  const template = Template.fromStack(stack);
  const s = { app, stack, template, json: template.toJSON() as Synthesized['json'] };
  synthesized.set(key, s);
  return s;
}

const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com' };

/** A well-formed ARN that still names the logical id, so validators and assertions both work. */
function placeholder(id: string): string {
  if (PSEUDO[id]) return PSEUDO[id]!;
  if (id.includes('StateMachine')) return `arn:aws:states:us-east-1:123456789012:stateMachine:${id}`;
  if (id.includes('Topic')) return `arn:aws:sns:us-east-1:123456789012:${id}`;
  return `arn:aws:lambda:us-east-1:123456789012:function:${id}`;
}

function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
    if ('Ref' in o) return placeholder(String(o.Ref));
    if ('Fn::GetAtt' in o) return placeholder((o['Fn::GetAtt'] as string[])[0]!);
  }
  throw new Error(`unexpected intrinsic in definition: ${JSON.stringify(value)}`);
}

export interface AslState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number; BackoffRate?: number; IntervalSeconds?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Next?: string;
  End?: boolean;
  Choices?: { Next: string }[];
  Default?: string;
  Parameters?: Record<string, unknown>;
  [k: string]: unknown;
}
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/** The parsed definition of the state machine whose logical id starts with `prefix`. */
export function definitionOf(s: Synthesized, prefix: string): AslDefinition {
  const entries = Object.entries(s.json.Resources).filter(
    ([id, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith(prefix),
  );
  if (entries.length !== 1) throw new Error(`expected one state machine ${prefix}*, found ${entries.length}`);
  return JSON.parse(flatten(entries[0]![1].Properties.DefinitionString)) as AslDefinition;
}

/** States reachable from StartAt, following Next, Choices, Default and Catch. */
export function reachable(def: AslDefinition): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const st = def.States[name];
    if (!st) throw new Error(`transition to missing state ${name}`);
    seen.add(name);
    for (const n of [st.Next, st.Default, ...(st.Choices ?? []).map((c) => c.Next), ...(st.Catch ?? []).map((c) => c.Next)]) {
      if (n) visit(n);
    }
  };
  visit(def.StartAt);
  return seen;
}
