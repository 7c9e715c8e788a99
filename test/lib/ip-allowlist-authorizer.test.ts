import { CfnElement, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AllowlistTables, IpAllowlistAuthorizer } from '../../lib';
import { gatewayResponseDefinitions, HANDLER_RUNTIME } from '../../lib/core';
import { DEFAULT_STORE_TIMEOUT_MS } from '../../lambda/adapters/dynamodb-store';
import { ENV } from '../../lambda/adapters/schema';
import { ERRORS, errorBody } from '../../lambda/core/errors';
import { splitPropagationDelay } from '../../lambda/core/propagation';
import {
  actionsOf,
  GATEWAY_RESPONSE_TYPES,
  newStack,
  onlyResource,
  resourcesOf,
  resourcesOfType,
  statementsOfRole,
  TempOutdirs,
  TemplateJson,
} from './synth-helpers';

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** A user's own RestApi with one method, protected by the authorizer (an authorizer must belong to an API). */
function protectNewApi(stack: Stack, authorizer: IpAllowlistAuthorizer): apigateway.RestApi {
  const api = new apigateway.RestApi(stack, 'UserApi', { cloudWatchRole: false });
  api.root.addMethod('GET', new apigateway.MockIntegration());
  authorizer.protectRestApi(api);
  return api;
}

function protectedApi(props: ConstructorParameters<typeof IpAllowlistAuthorizer>[2] = {}) {
  const stack = newStack(outdirs);
  const authorizer = new IpAllowlistAuthorizer(stack, 'IpAllowlist', props);
  const api = protectNewApi(stack, authorizer);
  return { stack, authorizer, api };
}

/** Logical id of the only API Gateway authorizer in the stack. */
function authorizerLogicalId(stack: Stack): string {
  return onlyResource(Template.fromStack(stack), 'AWS::ApiGateway::Authorizer').logicalId;
}

function authorizerResource(stack: Stack) {
  return onlyResource(Template.fromStack(stack), 'AWS::ApiGateway::Authorizer').properties;
}

function authorizerEnv(stack: Stack): Record<string, unknown> {
  return onlyResource(Template.fromStack(stack), 'AWS::Lambda::Function').properties.Environment.Variables;
}

describe('identity sources', () => {
  test('are the key header and the source IP, so a cached decision is never reused for another IP', () => {
    const { stack } = protectedApi();

    const props = authorizerResource(stack);
    expect(props.Type).toBe('REQUEST');
    expect(props.IdentitySource).toBe('method.request.header.Authorization,context.identity.sourceIp');
  });

  test('follow a custom apiKeyHeader', () => {
    const { stack } = protectedApi({ apiKeyHeader: 'X-Api-Key' });

    expect(authorizerResource(stack).IdentitySource).toBe('method.request.header.X-Api-Key,context.identity.sourceIp');
  });
});

describe('propagation delay', () => {
  test.each([
    ['the default (5 minutes)', undefined, 300],
    ['0 (caching disabled)', Duration.seconds(0), 0],
    ['60 seconds', Duration.seconds(60), 60],
    ['1 hour', Duration.hours(1), 3600],
  ])('%s is split between the gateway TTL and the decision age bound so that they fit in it', (_name, delay, total) => {
    const { stack, authorizer } = protectedApi({ propagationDelay: delay });

    const ttl = authorizerResource(stack).AuthorizerResultTtlInSeconds as number;
    const memoryTtl = Number(authorizerEnv(stack).MEMORY_CACHE_TTL_SECONDS);
    const maxAge = Number(authorizerEnv(stack).MAX_DECISION_AGE_SECONDS);
    expect({ ttl, memoryTtl, maxAge }).toEqual({
      ttl: splitPropagationDelay(total).gatewayTtlSeconds,
      memoryTtl: splitPropagationDelay(total).memoryTtlSeconds,
      maxAge: splitPropagationDelay(total).maxDecisionAgeSeconds,
    });
    if (total > 0) expect(ttl + maxAge).toBeLessThanOrEqual(total);
    expect(memoryTtl * 2).toBeLessThanOrEqual(maxAge);
    expect(authorizer.propagationDelay.toSeconds()).toBe(total);
    expect(authorizer.resultsCacheTtl.toSeconds()).toBe(ttl);
  });

  test('exact split (gateway TTL, memory TTL, age bound): 300 -> 296, 2, 4; 0 -> 0, 0, 1; 9 -> 7, 1, 2; 3600 -> 3596, 2, 4', () => {
    const ttls = [undefined, Duration.seconds(0), Duration.seconds(9), Duration.hours(1)].map((propagationDelay) => {
      const { stack } = protectedApi({ propagationDelay });
      const env = authorizerEnv(stack);
      return [
        authorizerResource(stack).AuthorizerResultTtlInSeconds,
        env.MEMORY_CACHE_TTL_SECONDS,
        env.MAX_DECISION_AGE_SECONDS,
      ];
    });

    expect(ttls).toEqual([
      [296, '2', '4'],
      [0, '0', '1'],
      [7, '1', '2'],
      [3596, '2', '4'],
    ]);
  });

  test('more than 1 hour is rejected, naming the prop and the value', () => {
    const stack = newStack(outdirs);

    expect(() => new IpAllowlistAuthorizer(stack, 'A', { propagationDelay: Duration.hours(2) })).toThrow(
      'propagationDelay must be at most 1 hour, got 2 hours',
    );
  });

  test('fractions of a second are rejected, naming the prop and the value', () => {
    const stack = newStack(outdirs);

    expect(() => new IpAllowlistAuthorizer(stack, 'A', { propagationDelay: Duration.millis(1500) })).toThrow(
      'propagationDelay must be a whole number of seconds, got 1 second 500 millis',
    );
  });

  test('an unresolved token is not checked at synth time and goes entirely to the gateway TTL', () => {
    const stack = newStack(outdirs);
    const seconds = Lazy.number({ produce: () => 120 });

    new IpAllowlistAuthorizer(stack, 'A', { propagationDelay: Duration.seconds(seconds) }).protectRestApi(
      new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false }),
    );
    (stack.node.findChild('Api') as apigateway.RestApi).root.addMethod('GET');

    expect(authorizerResource(stack).AuthorizerResultTtlInSeconds).toBe(120);
    expect(authorizerEnv(stack).MEMORY_CACHE_TTL_SECONDS).toBe('0');
  });
});

describe('apiKeyHeader', () => {
  test('a name that is not an HTTP header name is rejected', () => {
    const stack = newStack(outdirs);

    expect(() => new IpAllowlistAuthorizer(stack, 'A', { apiKeyHeader: 'X Api Key' })).toThrow(
      'apiKeyHeader must be an HTTP header name, got "X Api Key"',
    );
  });
});

describe('the authorizer Lambda', () => {
  test('gets exactly the table names, the Traffic table and its retention, the lower-cased key header, the in-memory TTL and its metrics dimension', () => {
    const { stack, authorizer } = protectedApi({ apiKeyHeader: 'X-Api-Key' });

    expect(authorizerEnv(stack)).toEqual({
      [ENV.allowlistsTable]: { Ref: logicalId(stack, authorizer.tables.allowlistsTable) },
      [ENV.apiKeysTable]: { Ref: logicalId(stack, authorizer.tables.apiKeysTable) },
      [ENV.trafficTable]: { Ref: logicalId(stack, authorizer.tables.trafficTable!) },
      [ENV.trafficRetentionSeconds]: String(30 * 86_400),
      API_KEY_HEADER: 'x-api-key',
      MEMORY_CACHE_TTL_SECONDS: '2',
      MAX_DECISION_AGE_SECONDS: '4',
      POWERTOOLS_SERVICE_NAME: 'Test/IpAllowlist',
    });
  });

  test('runs the pre-bundled handler on a pinned Node.js runtime, ARM64, with X-Ray tracing', () => {
    const { stack } = protectedApi();

    const fn = onlyResource(Template.fromStack(stack), 'AWS::Lambda::Function').properties;
    expect(fn).toMatchObject({
      Handler: 'index.handler',
      Runtime: HANDLER_RUNTIME.name,
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: 512,
      Timeout: 10,
    });
    expect(HANDLER_RUNTIME.name).toMatch(/^nodejs\d+\.x$/);
  });

  test('timeout is configurable, but must leave room for the store read deadline so the authorizer fails closed itself', () => {
    const { stack } = protectedApi({ timeout: Duration.seconds(6) });
    expect(onlyResource(Template.fromStack(stack), 'AWS::Lambda::Function').properties.Timeout).toBe(6);

    // A Lambda timeout at or below the store's deadline would cut the read off before its log line.
    expect(
      () => new IpAllowlistAuthorizer(newStack(outdirs), 'A', { timeout: Duration.millis(DEFAULT_STORE_TIMEOUT_MS) }),
    ).toThrow('timeout must be at least 5 seconds, got 4 seconds');
    expect(() => new IpAllowlistAuthorizer(newStack(outdirs), 'A', { timeout: Duration.seconds(5) })).not.toThrow();
  });

  test('logs to its own log group, kept one year by default', () => {
    const { stack, authorizer } = protectedApi();
    const template = Template.fromStack(stack);

    const fn = onlyResource(template, 'AWS::Lambda::Function').properties;
    expect(fn.LoggingConfig).toEqual({ LogGroup: { Ref: logicalId(stack, authorizer.logGroup) } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test("can only BatchGetItem on its own two tables (no Query: it cannot list a project's keys) and UpdateItem on the Traffic table", () => {
    const stack = newStack(outdirs);
    // Another table in the same stack: the authorizer must get nothing on it.
    new dynamodb.Table(stack, 'Unrelated', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    const authorizer = new IpAllowlistAuthorizer(stack, 'IpAllowlist');
    protectNewApi(stack, authorizer);
    const template = Template.fromStack(stack);

    const role = onlyResource(template, 'AWS::Lambda::Function').properties.Role['Fn::GetAtt'][0];
    const statements = statementsOfRole(template, role);
    const dynamoStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    const allowlists = logicalId(stack, authorizer.tables.allowlistsTable);
    const apiKeys = logicalId(stack, authorizer.tables.apiKeysTable);
    const traffic = logicalId(stack, authorizer.tables.trafficTable!);
    expect(dynamoStatements.map((st) => [actionsOf(st), resourcesOf(st)])).toEqual([
      [['dynamodb:BatchGetItem'], [{ 'Fn::GetAtt': [allowlists, 'Arn'] }]],
      [['dynamodb:BatchGetItem'], [{ 'Fn::GetAtt': [apiKeys, 'Arn'] }]],
      // Adds to sightings; cannot read them (no GetItem, no Query on byLastSeen).
      [['dynamodb:UpdateItem'], [{ 'Fn::GetAtt': [traffic, 'Arn'] }]],
    ]);
    // Nothing else: its log group, and X-Ray (which has no resource-level permissions).
    const others = statements.filter((s) => !dynamoStatements.includes(s));
    expect(others.map((s) => [actionsOf(s).sort(), s.Resource])).toEqual([
      [['logs:CreateLogStream', 'logs:PutLogEvents'], { 'Fn::GetAtt': [logicalId(stack, authorizer.logGroup), 'Arn'] }],
      [['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], '*'],
    ]);
    // No AWS managed policy: AWSLambdaBasicExecutionRole could write to every log group.
    expect(onlyResource(template, 'AWS::IAM::Role').properties.ManagedPolicyArns).toBeUndefined();
  });

  test('uses the tables it is given instead of creating its own', () => {
    const stack = newStack(outdirs);
    const tables = new AllowlistTables(stack, 'Shared');
    const authorizer = new IpAllowlistAuthorizer(stack, 'IpAllowlist', { tables });
    protectNewApi(stack, authorizer);

    Template.fromStack(stack).resourceCountIs('AWS::DynamoDB::Table', 4);
    expect(authorizer.tables).toBe(tables);
  });

  test('API Gateway may invoke it only as this authorizer', () => {
    const { stack } = protectedApi();

    const permission = onlyResource(Template.fromStack(stack), 'AWS::Lambda::Permission').properties;
    expect(permission.Principal).toBe('apigateway.amazonaws.com');
    expect(JSON.stringify(permission.SourceArn)).toContain(`"/authorizers/",{"Ref":"${authorizerLogicalId(stack)}"}`);
  });
});

describe('gateway responses', () => {
  function responses(
    stack: Stack,
  ): Record<string, { StatusCode?: string; ResponseParameters: unknown; template: string }> {
    const out: Record<string, { StatusCode?: string; ResponseParameters: unknown; template: string }> = {};
    for (const [, r] of resourcesOfType(Template.fromStack(stack), 'AWS::ApiGateway::GatewayResponse')) {
      out[r.Properties.ResponseType] = {
        StatusCode: r.Properties.StatusCode,
        ResponseParameters: r.Properties.ResponseParameters,
        template: r.Properties.ResponseTemplates['application/json'],
      };
    }
    return out;
  }

  /** Stands in for API Gateway's substitution of $context variables. */
  function render(template: string, vars: Record<string, string>): unknown {
    return JSON.parse(template.replace(/\$context\.[A-Za-z.]+/g, (name) => vars[name] ?? ''));
  }

  const JSON_CONTENT_TYPE = { 'gatewayresponse.header.Content-Type': "'application/json'" };

  test('exactly these six are added, each with Content-Type application/json', () => {
    const r = responses(protectedApi().stack);

    expect(Object.keys(r).sort()).toEqual(GATEWAY_RESPONSE_TYPES);
    for (const response of Object.values(r)) expect(response.ResponseParameters).toEqual(JSON_CONTENT_TYPE);
  });

  test('UNAUTHORIZED (no key header) is 401 missing_api_key', () => {
    const r = responses(protectedApi().stack).UNAUTHORIZED;

    expect(r.StatusCode).toBe('401');
    expect(JSON.parse(r.template)).toEqual(errorBody(ERRORS.missingApiKey));
  });

  test('UNAUTHORIZED names a custom key header', () => {
    const r = responses(protectedApi({ apiKeyHeader: 'X-Api-Key' }).stack).UNAUTHORIZED;

    const body = JSON.parse(r.template);
    expect(body.error.code).toBe('missing_api_key');
    expect(body.error.message).toContain('in an X-Api-Key header');
    expect(body.error.message).toContain('X-Api-Key: Bearer YOUR_KEY');
    expect(body.error.message).not.toContain('Authorization');
  });

  test.each([
    ['an organization list', ERRORS.ipNotAuthorizedOrganization],
    ['a project list', ERRORS.ipNotAuthorizedProject],
    ["the key's own list", ERRORS.ipNotAuthorizedKey],
    ['an unknown or revoked key', ERRORS.invalidApiKey],
  ])('ACCESS_DENIED is 401 with the error the authorizer put in its Deny context (%s)', (_name, spec) => {
    const r = responses(protectedApi().stack).ACCESS_DENIED;

    expect(r.StatusCode).toBe('401');
    const body = render(r.template, {
      '$context.authorizer.errorMessage': spec.message,
      '$context.authorizer.errorType': spec.type,
      '$context.authorizer.errorCode': spec.code,
    });
    expect(body).toEqual(errorBody(spec));
  });

  test('every error the authorizer can put in its Deny context survives plain substitution into the JSON template', () => {
    // API Gateway substitutes $context values without escaping them.
    for (const spec of Object.values(ERRORS)) {
      expect(`${spec.message}${spec.type}${spec.code}`).not.toMatch(/["\\\n]/);
    }
  });

  test.each(['AUTHORIZER_FAILURE', 'AUTHORIZER_CONFIGURATION_ERROR'])(
    '%s (the authorizer failed or timed out) is 503 authorizer_unavailable: the API fails closed',
    (type) => {
      const r = responses(protectedApi().stack)[type];

      expect(r.StatusCode).toBe('503');
      expect(JSON.parse(r.template)).toEqual(errorBody(ERRORS.authorizerUnavailable));
    },
  );

  test.each([
    ['DEFAULT_4XX', 'invalid_request_error', 'Missing Authentication Token', 'MISSING_AUTHENTICATION_TOKEN'],
    ['DEFAULT_5XX', 'server_error', 'Internal server error', 'INTEGRATION_FAILURE'],
  ])('%s keeps the status API Gateway chose and uses the same JSON shape', (type, errorType, message, responseType) => {
    const r = responses(protectedApi().stack)[type];

    expect(r.StatusCode).toBeUndefined();
    const body = render(r.template, {
      '$context.error.messageString': JSON.stringify(message),
      '$context.error.responseType': responseType,
    });
    expect(body).toEqual({ error: { message, type: errorType, param: null, code: responseType } });
  });

  test('the synthesized responses are the exported definitions', () => {
    const r = responses(protectedApi({ apiKeyHeader: 'X-Api-Key' }).stack);

    for (const def of gatewayResponseDefinitions('X-Api-Key')) {
      expect(r[def.type]).toEqual({
        StatusCode: def.statusCode,
        ResponseParameters: JSON_CONTENT_TYPE,
        template: def.template,
      });
    }
  });

  test('a method that names the authorizer brings them to its API, with no further call', () => {
    const stack = newStack(outdirs);
    const authorizer = new IpAllowlistAuthorizer(stack, 'IpAllowlist');
    const api = new apigateway.RestApi(stack, 'UserApi', { cloudWatchRole: false });
    api.root.addMethod('GET', new apigateway.MockIntegration(), { authorizer });

    expect(Object.keys(responses(stack))).toHaveLength(6);
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::Method', { AuthorizationType: 'CUSTOM' });
  });

  test('a second gateway response of the same type on the API is reported at synth time', () => {
    const { stack, api } = protectedApi();
    api.addGatewayResponse('Mine', { type: apigateway.ResponseType.ACCESS_DENIED, statusCode: '403' });

    expect(() => Template.fromStack(stack)).toThrow(/gateway response ACCESS_DENIED is defined twice/);
  });
});

describe('protectRestApi on a RestApi the user already has', () => {
  function methods(stack: Stack): Record<string, TemplateJson> {
    const out: Record<string, TemplateJson> = {};
    for (const [id, m] of resourcesOfType(Template.fromStack(stack), 'AWS::ApiGateway::Method')) out[id] = m.Properties;
    return out;
  }

  test('every method without authorization uses the authorizer, including methods added afterwards', () => {
    const stack = newStack(outdirs);
    const authorizer = new IpAllowlistAuthorizer(stack, 'IpAllowlist');
    const api = new apigateway.RestApi(stack, 'UserApi', { cloudWatchRole: false });
    const before = api.root.addResource('before').addMethod('POST', new apigateway.MockIntegration());

    authorizer.protectRestApi(api);
    const after = api.root.addResource('after').addMethod('GET', new apigateway.MockIntegration());

    const m = methods(stack);
    const authorizerRef = { Ref: authorizerLogicalId(stack) };
    for (const method of [before, after]) {
      expect(m[logicalId(stack, method)]).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: authorizerRef });
    }
  });

  test('OPTIONS (CORS preflight) stays open', () => {
    const stack = newStack(outdirs);
    const authorizer = new IpAllowlistAuthorizer(stack, 'IpAllowlist');
    const api = new apigateway.RestApi(stack, 'UserApi', {
      cloudWatchRole: false,
      defaultCorsPreflightOptions: { allowOrigins: ['https://example.com'] },
    });
    api.root.addMethod('GET', new apigateway.MockIntegration());

    authorizer.protectRestApi(api);

    const byVerb = Object.values(methods(stack)).map((p) => [p.HttpMethod, p.AuthorizationType]);
    expect(byVerb.sort()).toEqual([
      ['GET', 'CUSTOM'],
      ['OPTIONS', 'NONE'],
    ]);
  });

  test('methods that use IAM authorization keep it', () => {
    const stack = newStack(outdirs);
    const authorizer = new IpAllowlistAuthorizer(stack, 'IpAllowlist');
    const api = new apigateway.RestApi(stack, 'UserApi', { cloudWatchRole: false });
    const iamMethod = api.root.addMethod('DELETE', new apigateway.MockIntegration(), {
      authorizationType: apigateway.AuthorizationType.IAM,
    });

    authorizer.protectRestApi(api);

    expect(methods(stack)[logicalId(stack, iamMethod)].AuthorizationType).toBe('AWS_IAM');
    expect(methods(stack)[logicalId(stack, iamMethod)].AuthorizerId).toBeUndefined();
  });

  test('methods of another RestApi are not touched', () => {
    const { stack } = protectedApi();
    const other = new apigateway.RestApi(stack, 'OtherApi', { cloudWatchRole: false });
    const open = other.root.addMethod('GET', new apigateway.MockIntegration());

    expect(methods(stack)[logicalId(stack, open)].AuthorizationType).toBe('NONE');
  });

  test('calling it twice for the same API adds nothing twice', () => {
    const { stack, authorizer, api } = protectedApi();

    authorizer.protectRestApi(api);

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::GatewayResponse', 6);
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
  });
});

describe('redeployment', () => {
  function deploymentId(props: ConstructorParameters<typeof IpAllowlistAuthorizer>[2]): string {
    return onlyResource(Template.fromStack(protectedApi(props).stack), 'AWS::ApiGateway::Deployment').logicalId;
  }

  test('the deployment is replaced when the TTL changes', () => {
    expect(deploymentId({ propagationDelay: Duration.minutes(5) })).not.toBe(
      deploymentId({ propagationDelay: Duration.minutes(1) }),
    );
  });

  test('the deployment is replaced when the key header (identity source and gateway responses) changes', () => {
    expect(deploymentId({})).not.toBe(deploymentId({ apiKeyHeader: 'X-Api-Key' }));
  });

  test('the deployment is stable when nothing changes', () => {
    expect(deploymentId({ propagationDelay: Duration.minutes(5) })).toBe(deploymentId({}));
  });
});

describe('metrics', () => {
  test("metricBlockedRequests reads the authorizer's Powertools metric, summed", () => {
    const { authorizer } = protectedApi();

    const metric = authorizer.metricBlockedRequests();
    expect({
      namespace: metric.namespace,
      name: metric.metricName,
      dims: metric.dimensions,
      stat: metric.statistic,
    }).toEqual({
      namespace: 'CdkIpAllowlist',
      name: 'BlockedRequests',
      dims: { service: 'Test/IpAllowlist' },
      stat: 'Sum',
    });
  });

  test('metricInvalidKeyRequests and metricStoreErrors read the counts the authorizer publishes for them', () => {
    const { authorizer } = protectedApi();

    const names = [authorizer.metricInvalidKeyRequests(), authorizer.metricStoreErrors()].map((m) => [
      m.namespace,
      m.metricName,
      m.statistic,
    ]);
    expect(names).toEqual([
      ['CdkIpAllowlist', 'InvalidKeyRequests', 'Sum'],
      ['CdkIpAllowlist', 'StoreErrors', 'Sum'],
    ]);
  });

  test("metricsServiceName sets the service dimension and the function's POWERTOOLS_SERVICE_NAME", () => {
    const { stack, authorizer } = protectedApi({ metricsServiceName: 'payments-api' });

    expect(authorizer.metricStoreErrors().dimensions).toEqual({ service: 'payments-api' });
    expect(authorizerEnv(stack).POWERTOOLS_SERVICE_NAME).toBe('payments-api');
  });
});
