import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../bin/app';
import { ConsumerStack } from '../lib/consumer-stack';

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function newApp(): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-example-'));
  outdirs.push(outdir);
  return new App({ outdir, context: { 'aws:cdk:version-reporting': false } });
}

/** cdk-nag 3's AwsSolutions findings over the synthesized app, as `rule path` lines. */
function nagFindings(app: App): string[] {
  app.synth();
  return new AwsSolutionsChecks()
    .validateScope(app)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))
    .sort();
}

/** The template with asset hashes (which change with every build of the library's Lambda bundles) replaced. */
function scrubbed(stack: Stack): unknown {
  const json = JSON.stringify(Template.fromStack(stack).toJSON());
  return JSON.parse(json.replace(/[0-9a-f]{64}(\.zip)?/g, '[ASSET HASH]'));
}

test('the app synthesizes with cdk-nag AwsSolutions registered, and cdk-nag finds nothing', () => {
  const { app } = buildApp(newApp());

  expect(nagFindings(app)).toEqual([]);
});

test("without the example's two acknowledgements on its own RestApi, cdk-nag reports exactly those (the checks do run)", () => {
  const app = newApp();
  const stack = new ConsumerStack(app, 'ConsumerExample');
  // Drop the consumer's own acknowledgements (construct metadata has no public remove): what is left is the
  // library's, which must cover everything the library created.
  for (const c of stack.ordersApi.node.findAll()) {
    const node = c.node as unknown as { _metadata?: { type: string; data: unknown }[] };
    node._metadata = node._metadata?.filter(
      (m) => m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !/APIG3|APIG4/.test(JSON.stringify(m.data)),
    );
  }

  expect(nagFindings(app)).toEqual([
    'AwsSolutions-APIG3 ConsumerExample/Orders/DeploymentStage.prod/Resource',
    'AwsSolutions-APIG4 ConsumerExample/Orders/Default/health/GET/Resource',
  ]);
});

test('Orders: every method uses the allowlist authorizer except the public GET /health', () => {
  const { stack } = buildApp(newApp());
  const template = Template.fromStack(stack);
  const ordersApiId = stack.resolve(stack.ordersApi.restApiId);
  const methods = template.findResources('AWS::ApiGateway::Method', { Properties: { RestApiId: ordersApiId } });
  const byPath = Object.fromEntries(
    Object.entries(methods).map(([id, m]) => [id.replace(/[0-9A-F]{8}$/, ''), m.Properties.AuthorizationType]),
  );

  expect(byPath).toEqual({ OrdersordersGET: 'CUSTOM', OrdersordersPOST: 'CUSTOM', OrdershealthGET: 'NONE' });
  template.hasResourceProperties('AWS::ApiGateway::Authorizer', { RestApiId: ordersApiId, Type: 'REQUEST' });
  // cloudWatchRole: false on Orders: the one account-level logging setting is the library's, and Orders' stage
  // deploys after it (through the Partners stage).
  template.resourceCountIs('AWS::ApiGateway::Account', 1);
  const ordersStage = template.findResources('AWS::ApiGateway::Stage', { Properties: { StageName: 'prod' } });
  expect(Object.values(ordersStage)[0].DependsOn).toEqual(
    expect.arrayContaining([stack.getLogicalId(stack.partners.api.deploymentStage.node.defaultChild as CfnElement)]),
  );
});

test("the admin API built from the authorizer flushes Orders' prod stage; each instance alarms on its own metrics", () => {
  const { stack } = buildApp(newApp());
  const template = Template.fromStack(stack);

  expect(stack.admin.flushedStages).toHaveLength(1);
  expect(stack.admin.flushedStages[0]).toBe(stack.ordersApi.deploymentStage);
  const dimensions = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (a) => a.Properties.Dimensions[0].Value,
  );
  expect(dimensions.sort()).toEqual(['ConsumerExample/Allowlist', 'ConsumerExample/Partners/Authorizer']);
  // Both admin APIs and both authorizers run the library's pre-bundled code: nothing was built here.
  template.resourceCountIs('AWS::Lambda::Function', 4);
  template.allResourcesProperties('AWS::Lambda::Function', {
    Code: { S3Key: Match.stringLikeRegexp('^[0-9a-f]{64}\\.zip$') },
  });
});

test('snapshot (asset hashes scrubbed)', () => {
  const { stack } = buildApp(newApp());

  expect(scrubbed(stack)).toMatchSnapshot();
});
