import { CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AllowlistTables, IpAllowlistedApi, IpAllowlistedApiProps, Upstream } from '../../lib';
import { UPSTREAM_CONTEXT_HEADERS } from '../../lib/core';
import {
  GATEWAY_RESPONSE_TYPES,
  newStack,
  onlyResource,
  resourcesOfType,
  TempOutdirs,
  TemplateJson,
} from './synth-helpers';

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

function upstreamFunction(stack: Stack): lambda.Function {
  return new lambda.Function(stack, 'Upstream', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "" })'),
  });
}

function synthApi(props: Partial<IpAllowlistedApiProps> = {}) {
  const stack = newStack(outdirs);
  const api = new IpAllowlistedApi(stack, 'Api', {
    upstream: Upstream.http('https://upstream.example.com/base/'),
    ...props,
  });
  return { stack, api, template: Template.fromStack(stack) };
}

/** Resources of a type that belong to the protected RestApi (not to the admin API next to it). */
function ofProtectedApi(template: Template, type: string, stack: Stack, api: IpAllowlistedApi): TemplateJson[] {
  const ref = JSON.stringify({ Ref: logicalId(stack, api.api) });
  return resourcesOfType(template, type)
    .map(([, r]) => r.Properties)
    .filter((p) => JSON.stringify(p.RestApiId) === ref);
}

function methods(template: Template, stack: Stack, api: IpAllowlistedApi): TemplateJson[] {
  return ofProtectedApi(template, 'AWS::ApiGateway::Method', stack, api);
}

function stage(template: Template, stack: Stack, api: IpAllowlistedApi): TemplateJson {
  const stages = ofProtectedApi(template, 'AWS::ApiGateway::Stage', stack, api);
  expect(stages).toHaveLength(1);
  return stages[0];
}

function retentionOf(template: Template, stack: Stack, group: { node: { defaultChild?: unknown } }): number {
  return template.toJSON().Resources[logicalId(stack, group)].Properties.RetentionInDays;
}

describe('IpAllowlistedApi endpoint and stage', () => {
  test('is a regional, IPv4-only endpoint by default: callers are checked by the IPv4 address they allowlisted', () => {
    const { stack, api, template } = synthApi();

    expect(template.toJSON().Resources[logicalId(stack, api.api)].Properties.EndpointConfiguration).toEqual({
      Types: ['REGIONAL'],
      IpAddressType: 'ipv4',
    });
  });

  test('ipAddressType DUAL_STACK opts in to IPv6 callers', () => {
    const stack = newStack(outdirs);
    const api = new IpAllowlistedApi(stack, 'Api', {
      upstream: Upstream.http('https://upstream.example.com'),
      ipAddressType: apigateway.IpAddressType.DUAL_STACK,
    });

    expect(
      Template.fromStack(stack).toJSON().Resources[logicalId(stack, api.api)].Properties.EndpointConfiguration,
    ).toEqual({
      Types: ['REGIONAL'],
      IpAddressType: 'dualstack',
    });
  });

  test('the stage is v1, with tracing and metrics on, data trace off and error execution logs', () => {
    const { stack, api, template } = synthApi();

    const v1 = stage(template, stack, api);
    expect(v1.StageName).toBe('v1');
    expect(v1.TracingEnabled).toBe(true);
    expect(v1.MethodSettings).toEqual([
      { DataTraceEnabled: false, HttpMethod: '*', LoggingLevel: 'ERROR', MetricsEnabled: true, ResourcePath: '/*' },
    ]);
  });

  test('stageName and throttling are applied to the stage', () => {
    const { stack, api, template } = synthApi({ stageName: 'prod', throttling: { rateLimit: 50, burstLimit: 100 } });

    const prod = stage(template, stack, api);
    expect(prod.StageName).toBe('prod');
    expect(prod.MethodSettings[0]).toMatchObject({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
  });

  test('executionLoggingLevel changes the execution logs of both APIs, but data trace stays off', () => {
    const { template } = synthApi({ executionLoggingLevel: apigateway.MethodLoggingLevel.INFO });

    const settings = resourcesOfType(template, 'AWS::ApiGateway::Stage').map(([, r]) => r.Properties.MethodSettings[0]);
    expect(settings).toHaveLength(2);
    for (const s of settings) expect(s).toMatchObject({ LoggingLevel: 'INFO', DataTraceEnabled: false });
  });

  test('url is the stage URL of the protected API', () => {
    const { stack, api } = synthApi();

    const url = JSON.stringify(stack.resolve(api.url));
    expect(url).toContain(`{"Ref":"${logicalId(stack, api.api)}"}`);
    expect(url).toContain('.execute-api.');
    expect(url).toContain(`{"Ref":"${logicalId(stack, api.api.deploymentStage)}"}`);
  });
});

describe('IpAllowlistedApi access logs', () => {
  test('are one JSON object per request with who, from where, what and how it ended, and never the key', () => {
    const { stack, api, template } = synthApi();

    const settings = stage(template, stack, api).AccessLogSetting;
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': [logicalId(stack, api.accessLogGroup), 'Arn'] });
    const format = JSON.parse(settings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      sourceIp: '$context.identity.sourceIp',
      httpMethod: '$context.httpMethod',
      path: '$context.path',
      status: '$context.status',
      principalId: '$context.authorizer.principalId',
      errorCode: '$context.authorizer.errorCode',
      integrationLatency: '$context.integration.latency',
      responseLatency: '$context.responseLatency',
    });
    expect(settings.Format).not.toMatch(/apiKey\b|header|Authorization/i);
  });

  test('are kept one year unless logRetention says otherwise', () => {
    const byDefault = synthApi();
    const shorter = synthApi({ logRetention: 30 });

    for (const { stack, api, template } of [byDefault, shorter]) {
      const groups = [api.accessLogGroup, api.authorizer.logGroup, api.adminApi.accessLogGroup, api.adminApi.logGroup];
      const retentions = groups.map((g) => retentionOf(template, stack, g));
      expect(retentions).toEqual(stack === byDefault.stack ? [365, 365, 365, 365] : [30, 30, 30, 30]);
    }
  });
});

describe('IpAllowlistedApi methods', () => {
  test('ANY / and ANY /{proxy+} both use the IP allowlist authorizer', () => {
    const { stack, api, template } = synthApi();

    const authorizerRef = { Ref: onlyResource(Template.fromStack(stack), 'AWS::ApiGateway::Authorizer').logicalId };
    expect(methods(template, stack, api).map((m) => [m.HttpMethod, m.AuthorizationType, m.AuthorizerId])).toEqual([
      ['ANY', 'CUSTOM', authorizerRef],
      ['ANY', 'CUSTOM', authorizerRef],
    ]);
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}' });
  });

  test('a method the user adds later is protected too, unless it is added as explicitly public', () => {
    const stack = newStack(outdirs);
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://upstream.example.com') });
    api.api.root.addResource('status').addMethod('GET', new apigateway.MockIntegration());
    api.api.root.addResource('health').addMethod('GET', new apigateway.MockIntegration(), {
      authorizationType: apigateway.AuthorizationType.NONE,
    });

    const all = methods(Template.fromStack(stack), stack, api);
    expect(all).toHaveLength(4);
    expect(all.map((m) => m.AuthorizationType).sort()).toEqual(['CUSTOM', 'CUSTOM', 'CUSTOM', 'NONE']);
  });

  test('the gateway responses are on the API', () => {
    const { stack, api, template } = synthApi();

    expect(
      ofProtectedApi(template, 'AWS::ApiGateway::GatewayResponse', stack, api)
        .map((r) => r.ResponseType)
        .sort(),
    ).toEqual(GATEWAY_RESPONSE_TYPES);
  });

  test('propagationDelay and apiKeyHeader reach the authorizer', () => {
    const { template } = synthApi({ propagationDelay: Duration.minutes(1), apiKeyHeader: 'X-Api-Key' });

    expect(onlyResource(template, 'AWS::ApiGateway::Authorizer').properties).toMatchObject({
      AuthorizerResultTtlInSeconds: 56, // 60 s less the decision age bound (4 s)
      IdentitySource: 'method.request.header.X-Api-Key,context.identity.sourceIp',
    });
  });
});

describe('IpAllowlistedApi upstreams', () => {
  const contextHeaders = Object.fromEntries(
    Object.entries(UPSTREAM_CONTEXT_HEADERS).map(([header, key]) => [
      `integration.request.header.${header}`,
      `context.authorizer.${key}`,
    ]),
  );

  test('an HTTP upstream is proxied path for path, with the organization, project and key id as headers', () => {
    const { stack, api, template } = synthApi({ upstream: Upstream.http('https://upstream.example.com/base/') });

    const all = methods(template, stack, api);
    const root = all.find((m) => m.RequestParameters === undefined)!;
    const proxy = all.find((m) => m.RequestParameters !== undefined)!;
    expect(root.Integration).toEqual({
      Type: 'HTTP_PROXY',
      IntegrationHttpMethod: 'ANY',
      Uri: 'https://upstream.example.com/base/',
      RequestParameters: contextHeaders,
    });
    expect(proxy.RequestParameters).toEqual({ 'method.request.path.proxy': true });
    expect(proxy.Integration).toEqual({
      Type: 'HTTP_PROXY',
      IntegrationHttpMethod: 'ANY',
      Uri: 'https://upstream.example.com/base/{proxy}',
      RequestParameters: { ...contextHeaders, 'integration.request.path.proxy': 'method.request.path.proxy' },
    });
    expect(Object.keys(contextHeaders).sort()).toEqual([
      'integration.request.header.X-Api-Key-Id',
      'integration.request.header.X-Organization-Id',
      'integration.request.header.X-Project-Id',
    ]);
  });

  test('the HTTP upstream timeout is configurable', () => {
    const { stack, api, template } = synthApi({
      upstream: Upstream.http('https://upstream.example.com', { timeout: Duration.seconds(10) }),
    });

    expect(methods(template, stack, api).map((m) => m.Integration.TimeoutInMillis)).toEqual([10000, 10000]);
  });

  test.each([
    'upstream.example.com',
    'ftp://upstream.example.com',
    'https://upstream.example.com/?q=1',
    'https://a.example.com/{proxy}',
  ])('Upstream.http rejects %s', (url) => {
    expect(() => Upstream.http(url)).toThrow(
      `Upstream.http url must be an absolute http(s) URL without query or fragment, got ${JSON.stringify(url)}`,
    );
  });

  test('a Lambda upstream gets the Lambda proxy integration, which hands it the authorizer context in requestContext.authorizer', () => {
    const stack = newStack(outdirs);
    const fn = upstreamFunction(stack);
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.lambdaFunction(fn) });
    const template = Template.fromStack(stack);

    const fnArn = { 'Fn::GetAtt': [logicalId(stack, fn), 'Arn'] };
    const all = methods(template, stack, api);
    expect(all).toHaveLength(2);
    for (const m of all) {
      expect(m.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      expect(JSON.stringify(m.Integration.Uri)).toContain(JSON.stringify(fnArn));
    }
    const invokers = resourcesOfType(template, 'AWS::Lambda::Permission').filter(
      ([, p]) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(fnArn),
    );
    expect(invokers.length).toBeGreaterThan(0);
    expect(invokers.every(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com')).toBe(true);
  });
});

describe('IpAllowlistedApi tables', () => {
  test('are created and retained by default', () => {
    const { template } = synthApi();

    expect(Object.values(template.findResources('AWS::DynamoDB::Table')).map((t) => t.DeletionPolicy)).toEqual([
      'Retain',
      'Retain',
      'Retain',
      'Retain',
    ]);
  });

  test('removalPolicy applies to the tables it creates', () => {
    const { template } = synthApi({ removalPolicy: RemovalPolicy.DESTROY });

    expect(Object.values(template.findResources('AWS::DynamoDB::Table')).map((t) => t.DeletionPolicy)).toEqual([
      'Delete',
      'Delete',
      'Delete',
      'Delete',
    ]);
  });

  test('given tables are used as they are', () => {
    const stack = newStack(outdirs);
    const tables = new AllowlistTables(stack, 'Shared');
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://upstream.example.com'), tables });

    Template.fromStack(stack).resourceCountIs('AWS::DynamoDB::Table', 4);
    expect(api.tables).toBe(tables);
    expect(api.authorizer.tables).toBe(tables);
  });

  test('trafficRetention reaches the Traffic table it creates and both Lambdas; with given tables it is refused', () => {
    const { template } = synthApi({ trafficRetention: Duration.days(7) });

    const lambdas = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, fn]) =>
      /authorizer|admin API/.test(String(fn.Properties.Description)),
    );
    expect(lambdas).toHaveLength(2);
    for (const [, fn] of lambdas) expect(fn.Properties.Environment.Variables.TRAFFIC_RETENTION_SECONDS).toBe('604800');

    const stack = newStack(outdirs);
    const tables = new AllowlistTables(stack, 'Shared');
    expect(
      () =>
        new IpAllowlistedApi(stack, 'Api', {
          upstream: Upstream.http('https://upstream.example.com'),
          tables,
          trafficRetention: Duration.days(7),
        }),
    ).toThrow('trafficRetention has no effect when tables is given (set them on the tables)');
  });
});

describe('IpAllowlistedApi CloudWatch role', () => {
  test('is created by default, because access logging needs it', () => {
    const { template } = synthApi();

    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  test('is left out with cloudWatchRole: false', () => {
    const { template } = synthApi({ cloudWatchRole: false });

    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});
