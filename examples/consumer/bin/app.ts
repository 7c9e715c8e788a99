#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConsumerStack } from '../lib/consumer-stack';

/** Builds the app with cdk-nag 3's AwsSolutions checks as a validation plugin: `cdk synth` fails on any finding. */
export function buildApp(app: App = new App()): { app: App; stack: ConsumerStack } {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new ConsumerStack(app, 'ConsumerExample');
  return { app, stack };
}

if (require.main === module) {
  buildApp().app.synth();
}
