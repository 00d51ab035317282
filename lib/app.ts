import type { App } from 'aws-cdk-lib';
import { FleetwaveStack } from './fleetwave-stack';

/**
 * Builds the stacks of the app from context, so `bin/app.ts`, the tests and
 * the lab synthesize exactly the same thing.
 *   -c stackName=Fleetwave  -c registrySecretArn=arn:aws:secretsmanager:...
 *   -c fleetTagKey=fleetwave:fleet  -c documentPrefix=Fleetwave-
 */
export function buildApp(app: App): FleetwaveStack {
  const ctx = (key: string): string | undefined => app.node.tryGetContext(key) ?? undefined;
  return new FleetwaveStack(app, ctx('stackName') ?? 'Fleetwave', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    registrySecretArn: ctx('registrySecretArn'),
    fleetTagKey: ctx('fleetTagKey'),
    documentPrefix: ctx('documentPrefix'),
    consoleDomainPrefix: ctx('consoleDomainPrefix'),
  });
}
