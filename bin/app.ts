#!/usr/bin/env node
/**
 * The CDK app: one fleetwave stack, checked by cdk-nag's AwsSolutions pack.
 *   npx cdk synth                                   (no AWS credentials needed)
 *   npx cdk deploy -c registrySecretArn=arn:...     (use an existing database)
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../lib/app';

const app = new App();
buildApp(app);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
