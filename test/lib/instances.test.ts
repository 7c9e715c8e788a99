import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AllowlistAdminApi, AllowlistTables, IpAllowlistAuthorizer, IpAllowlistedApi, Upstream } from '../../lib';
import { resourcesOfType, TempOutdirs } from './synth-helpers';

/**
 * Two of everything in one app: every instance has its own metrics dimension and API names, and the account-level
 * CloudWatch role exists at most once per stack (none when the aws-cdk-lib feature flag disables it).
 */

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

const DISABLE_CLOUDWATCH_ROLE = '@aws-cdk/aws-apigateway:disableCloudWatchRole';
const upstream = () => Upstream.http('https://upstream.example.com');

function newApp(context: Record<string, unknown> = {}): App {
  return new App({ outdir: outdirs.make(), context: { 'aws:cdk:version-reporting': false, ...context } });
}

function twoApisInOneStack(context: Record<string, unknown> = {}) {
  const stack = new Stack(newApp(context), 'Shop');
  const one = new IpAllowlistedApi(stack, 'One', { upstream: upstream() });
  const two = new IpAllowlistedApi(stack, 'Two', { upstream: upstream() });
  return { stack, one, two, template: Template.fromStack(stack) };
}

/** The `POWERTOOLS_SERVICE_NAME` (the metrics' service dimension) of every function. */
function serviceNames(template: Template): string[] {
  return resourcesOfType(template, 'AWS::Lambda::Function').map(
    ([, fn]) => fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME,
  );
}

function apiNames(template: Template): string[] {
  return resourcesOfType(template, 'AWS::ApiGateway::RestApi').map(([, api]) => api.Properties.Name);
}

/** Roles API Gateway assumes to write logs (the account-level CloudWatch role). */
function cloudWatchRoles(template: Template): string[] {
  return resourcesOfType(template, 'AWS::IAM::Role')
    .filter(([, role]) => JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('apigateway.amazonaws.com'))
    .map(([id]) => id);
}

describe('two IpAllowlistedApi in one stack', () => {
  test('each authorizer and each admin API publishes under its own service dimension, which its metric methods read', () => {
    const { one, two, template } = twoApisInOneStack();

    const expected = ['Shop/One/Authorizer', 'Shop/One/Admin', 'Shop/Two/Authorizer', 'Shop/Two/Admin'];
    expect(serviceNames(template).sort()).toEqual([...expected].sort());
    expect([one.authorizer, one.adminApi, two.authorizer, two.adminApi].map((c) => c.metricsServiceName)).toEqual(
      expected,
    );
    expect(one.authorizer.metricBlockedRequests().dimensions).toEqual({ service: 'Shop/One/Authorizer' });
    expect(two.authorizer.metricBlockedRequests().dimensions).toEqual({ service: 'Shop/Two/Authorizer' });
    expect(two.adminApi.metricWrites().dimensions).toEqual({ service: 'Shop/Two/Admin' });
  });

  test('the four REST APIs have four names, from the stack name and the construct path', () => {
    const { template } = twoApisInOneStack();

    expect(apiNames(template).sort()).toEqual(['Shop-One', 'Shop-One-Admin', 'Shop-Two', 'Shop-Two-Admin']);
  });

  test('one account-level CloudWatch role serves all four APIs: every stage waits for it, and it for every API', () => {
    const { template } = twoApisInOneStack();

    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    expect(cloudWatchRoles(template)).toHaveLength(1);
    const [[accountId, account]] = Object.entries(template.findResources('AWS::ApiGateway::Account'));
    expect(account).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [cloudWatchRoles(template)[0], 'Arn'] } },
    });
    const apiIds = resourcesOfType(template, 'AWS::ApiGateway::RestApi').map(([id]) => id);
    expect([...account.DependsOn].sort()).toEqual([...apiIds].sort());
    const stages = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(stages).toHaveLength(4);
    for (const stage of stages) expect(stage.DependsOn).toContain(accountId);
  });

  test('the role is the one AWS documents for API Gateway logging, and retained like aws-cdk-lib retains it', () => {
    const { template } = twoApisInOneStack();

    const [[, role]] = resourcesOfType(template, 'AWS::IAM::Role').filter(
      ([id]) => id === cloudWatchRoles(template)[0],
    );
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain(
      'service-role/AmazonAPIGatewayPushToCloudWatchLogs',
    );
    expect((role as unknown as { DeletionPolicy: string }).DeletionPolicy).toBe('Retain');
  });

  test('names and dimensions can be set: restApiName and metricsServiceName', () => {
    const stack = new Stack(newApp(), 'Shop');
    const tables = new AllowlistTables(stack, 'Tables');
    const api = new IpAllowlistedApi(stack, 'Api', {
      upstream: upstream(),
      tables,
      adminApi: false,
      restApiName: 'public-api',
    });
    const admin = new AllowlistAdminApi(stack, 'Admin', {
      authorizers: [api.authorizer],
      restApiName: 'allowlist-admin',
      metricsServiceName: 'admin-prod',
    });
    const template = Template.fromStack(stack);

    expect(apiNames(template).sort()).toEqual(['allowlist-admin', 'public-api']);
    expect(admin.metricFailures().dimensions).toEqual({ service: 'admin-prod' });
    expect(serviceNames(template).sort()).toEqual(['Shop/Api/Authorizer', 'admin-prod']);
    expect(api.authorizer.metricsServiceName).toBe('Shop/Api/Authorizer');
  });
});

describe('two stacks in one app', () => {
  function twoStacks(context: Record<string, unknown> = {}) {
    const app = newApp(context);
    const stacks = ['ShopEu', 'ShopUs'].map((name) => new Stack(app, name));
    const apis = stacks.map((stack) => new IpAllowlistedApi(stack, 'Api', { upstream: upstream() }));
    return { stacks, apis, templates: stacks.map((s) => Template.fromStack(s)) };
  }

  test('one CloudWatch role per stack (two in all, not one per API)', () => {
    const { templates } = twoStacks();

    for (const template of templates) {
      template.resourceCountIs('AWS::ApiGateway::Account', 1);
      expect(cloudWatchRoles(template)).toHaveLength(1);
    }
  });

  test('the same construct path in two stacks gives distinct names and dimensions (the stack name is part of them)', () => {
    const { apis, templates } = twoStacks();

    expect(templates.flatMap(apiNames).sort()).toEqual([
      'ShopEu-Api',
      'ShopEu-Api-Admin',
      'ShopUs-Api',
      'ShopUs-Api-Admin',
    ]);
    expect(apis.map((a) => a.authorizer.metricAllowedRequests().dimensions)).toEqual([
      { service: 'ShopEu/Api/Authorizer' },
      { service: 'ShopUs/Api/Authorizer' },
    ]);
  });

  test('the stack name, not the construct id, names a stack deployed under another name', () => {
    const app = newApp();
    const stack = new Stack(app, 'Shop', { stackName: 'shop-prod' });
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: upstream() });

    expect(apiNames(Template.fromStack(stack)).sort()).toEqual(['shop-prod-Api', 'shop-prod-Api-Admin']);
    expect(api.authorizer.metricsServiceName).toBe('shop-prod/Api/Authorizer');
  });
});

describe('the feature flag @aws-cdk/aws-apigateway:disableCloudWatchRole', () => {
  test('set: no CloudWatch role and no account setting, in any stack', () => {
    const { template } = twoApisInOneStack({ [DISABLE_CLOUDWATCH_ROLE]: true });

    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(cloudWatchRoles(template)).toEqual([]);
  });

  test('set, for a standalone AllowlistAdminApi too', () => {
    const stack = new Stack(newApp({ [DISABLE_CLOUDWATCH_ROLE]: true }), 'Shop');
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: upstream(), adminApi: false });
    new AllowlistAdminApi(stack, 'Admin', { authorizers: [api.authorizer] });

    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('set, but cloudWatchRole: true asks for one: it is created, as aws-cdk-lib does', () => {
    const stack = new Stack(newApp({ [DISABLE_CLOUDWATCH_ROLE]: true }), 'Shop');
    new IpAllowlistedApi(stack, 'Api', { upstream: upstream(), cloudWatchRole: true });

    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  test('unset: cloudWatchRole: false on one API leaves the shared role to the other', () => {
    const stack = new Stack(newApp(), 'Shop');
    new IpAllowlistedApi(stack, 'One', { upstream: upstream(), cloudWatchRole: false });
    const template1 = Template.fromStack(stack);
    template1.resourceCountIs('AWS::ApiGateway::Account', 0);

    const stack2 = new Stack(newApp(), 'Shop');
    new IpAllowlistedApi(stack2, 'One', { upstream: upstream(), cloudWatchRole: false });
    new IpAllowlistedApi(stack2, 'Two', { upstream: upstream() });
    const template2 = Template.fromStack(stack2);
    template2.resourceCountIs('AWS::ApiGateway::Account', 1);
    // Only Two's stages (its API and its admin API) wait for the setting.
    const waiting = Object.values(template2.findResources('AWS::ApiGateway::Stage')).filter((s) =>
      (s.DependsOn ?? []).some((d: string) => d.startsWith('CdkIpAllowlistApiGatewayCloudWatchRoleAccount')),
    );
    expect(waiting).toHaveLength(2);
  });
});

describe('metricsServiceName', () => {
  test.each([
    ['empty', '', 'metricsServiceName must be 1 to 1024 characters, got 0'],
    ['1025 characters', 'x'.repeat(1025), 'metricsServiceName must be 1 to 1024 characters, got 1025'],
  ])('%s is refused, naming the prop', (_label, value, message) => {
    const stack = new Stack(newApp(), 'Shop');
    const tables = new AllowlistTables(stack, 'Tables');
    expect(
      () =>
        new AllowlistAdminApi(stack, 'Admin', {
          authorizers: [new IpAllowlistAuthorizer(stack, 'AdminAuthorizer', { tables })],
          flushAuthorizerCaches: false,
          metricsServiceName: value,
        }),
    ).toThrow(message);
  });
});
