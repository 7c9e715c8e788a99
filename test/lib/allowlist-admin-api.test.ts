import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AllowlistAdminApi, AllowlistAdminApiProps } from '../../lib/allowlist-admin-api';
import { AllowlistTables } from '../../lib/allowlist-tables';
import { IpAllowlistAuthorizer, IpAllowlistAuthorizerProps } from '../../lib/ip-allowlist-authorizer';
import * as packageEntry from '../../lib';
import { ADMIN_DYNAMODB_CLIENT } from '../../lambda/adapters/admin-store';
import { FLUSH_TIMEOUT_MS } from '../../lambda/adapters/stage-cache';
import { RESPONSE_MARGIN_MS } from '../../lambda/admin/app';
import { LAST_FLUSH_MARGIN_MS } from '../../lambda/admin/writes';
import { ROUTES } from '../../lambda/admin/contract/routes';
import { MAX_DECISION_AGE_SECONDS } from '../../lambda/core/propagation';
import { IpAllowlistedApi, Upstream } from '../../lib';

/** Template assertions for AllowlistAdminApi, one behaviour per test. */

interface Built {
  readonly stack: Stack;
  readonly admin: AllowlistAdminApi;
  readonly template: Template;
  readonly protectedApi: apigateway.RestApi;
}

function build(
  props: Partial<AllowlistAdminApiProps> = {},
  configure?: (admin: AllowlistAdminApi, stack: Stack) => void,
  authorizerProps: IpAllowlistAuthorizerProps = {},
): Built {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const tables = new AllowlistTables(stack, 'Tables');
  const authorizer = new IpAllowlistAuthorizer(stack, 'Allowlist', { tables, ...authorizerProps });
  const protectedApi = new apigateway.RestApi(stack, 'Protected', { deployOptions: { stageName: 'live' } });
  protectedApi.root.addMethod('GET', new apigateway.MockIntegration(), { authorizer });
  const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [authorizer], ...props });
  configure?.(admin, stack);
  return { stack, admin, template: Template.fromStack(stack), protectedApi };
}

/** A CloudFormation string value with every Ref/GetAtt written as ${LogicalId} and Fn::Join flattened. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a CloudFormation value of any shape (string, Ref, GetAtt, Fn::Join)
function flatten(value: any): string {
  if (typeof value === 'string') return value;
  if (value?.Ref) return `\${${value.Ref}}`;
  if (value?.['Fn::GetAtt']) return `\${${value['Fn::GetAtt'].join('.')}}`;
  if (value?.['Fn::Join']) return value['Fn::Join'][1].map(flatten).join(value['Fn::Join'][0]);
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } } | object): string {
  return stack.getLogicalId(construct as never);
}

/** Every statement of every IAM policy attached to the role with this logical id. */
function statementsOf(
  template: Template,
  roleLogicalId: string,
): { Action: string | string[]; Resource: unknown; Effect: string }[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function adminMethods(template: Template, stack: Stack, admin: AllowlistAdminApi) {
  const apiId = logicalId(stack, admin.api.node.defaultChild as never);
  return Object.values(
    template.findResources('AWS::ApiGateway::Method', { Properties: { RestApiId: { Ref: apiId } } }),
  );
}

describe('the RestApi', () => {
  test('every admin method uses AWS_IAM authorization', () => {
    const { template, stack, admin } = build();
    const methods = adminMethods(template, stack, admin);
    expect(methods.length).toBe(2);
    for (const m of methods) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
    expect(methods.map((m) => m.Properties.HttpMethod)).toEqual(['ANY', 'ANY']);
  });

  test('is REGIONAL, traced, with JSON access logs that name the IAM caller and no data trace', () => {
    const { template, stack, admin } = build();
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'Test-Admin',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    const stage = Object.values(
      template.findResources('AWS::ApiGateway::Stage', {
        Properties: { RestApiId: { Ref: logicalId(stack, admin.api.node.defaultChild as never) } },
      }),
    )[0];
    expect(stage.Properties).toMatchObject({
      StageName: 'admin',
      TracingEnabled: true,
      MethodSettings: [
        expect.objectContaining({ DataTraceEnabled: false, LoggingLevel: 'ERROR', MetricsEnabled: true }),
      ],
    });
    const format = JSON.parse(stage.Properties.AccessLogSetting.Format);
    expect(format).toMatchObject({ userArn: '$context.identity.userArn', status: '$context.status' });
  });

  test("API Gateway's own errors (bad signature, IAM deny) come in the API's error shape", () => {
    const { template } = build();
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'DEFAULT_4XX',
      ResponseTemplates: {
        'application/json': Match.stringLikeRegexp('"error":\\{"message":\\$context.error.messageString'),
      },
    });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'DEFAULT_5XX' });
  });

  test('the stage name is a prop', () => {
    build({ stageName: 'manage' }).template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'manage' });
  });
});

describe('the Lambda', () => {
  test('runs the bundled admin handler with its configuration in the environment', () => {
    const { template, stack, protectedApi } = build({ maxEntries: 200 }, undefined, {
      propagationDelay: Duration.minutes(2),
    });
    const fn = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('admin API') },
      }),
    )[0];
    const env = fn.Properties.Environment.Variables;
    expect(env).toMatchObject({
      MAX_ENTRIES: '200',
      PROPAGATION_DELAY_SECONDS: '120',
      MEMORY_CACHE_TTL_SECONDS: '2',
    });
    expect(flatten(env.PROTECTED_STAGES)).toBe(
      `\${${logicalId(stack, protectedApi.node.defaultChild as never)}}/\${${logicalId(stack, protectedApi.deploymentStage.node.defaultChild as never)}}`,
    );
    for (const name of ['ALLOWLISTS_TABLE_NAME', 'API_KEYS_TABLE_NAME', 'AUDIT_LOG_TABLE_NAME', 'TRAFFIC_TABLE_NAME'])
      expect(env[name]).toEqual({ Ref: expect.any(String) });
    expect(env.TRAFFIC_RETENTION_SECONDS).toBe(String(30 * 86_400));
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  test("it is told the authorizer's gateway TTL and age bound, so a write reports the real worst case (a token P: P + 1 s)", () => {
    const numeric = build({}, undefined, { propagationDelay: Duration.minutes(2) }).template;
    numeric.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PROPAGATION_DELAY_SECONDS: '120',
          GATEWAY_TTL_SECONDS: '116',
          MAX_DECISION_AGE_SECONDS: '4',
        }),
      },
    });
    const zero = build({}, undefined, { propagationDelay: Duration.seconds(0) }).template;
    zero.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PROPAGATION_DELAY_SECONDS: '0',
          GATEWAY_TTL_SECONDS: '0',
          MAX_DECISION_AGE_SECONDS: '1',
        }),
      },
    });
    const app = new App();
    const stack = new Stack(app, 'Token', { env: { account: '123456789012', region: 'eu-west-1' } });
    const tables = new AllowlistTables(stack, 'Tables');
    const seconds = new CfnParameter(stack, 'DelaySeconds', { type: 'Number', default: 60 });
    const authorizer = new IpAllowlistAuthorizer(stack, 'Allowlist', {
      tables,
      propagationDelay: Duration.seconds(seconds.valueAsNumber),
    });
    const api = new apigateway.RestApi(stack, 'Protected');
    api.root.addMethod('GET', new apigateway.MockIntegration(), { authorizer });
    new AllowlistAdminApi(stack, 'Admin', { authorizers: [authorizer] });
    const env = Object.values(
      Template.fromStack(stack).findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('admin API') },
      }),
    )[0].Properties.Environment.Variables;
    // All of P goes to API Gateway and the age bound is 1 s: the admin computes max(P, g + B) = P + 1 s.
    expect(env.GATEWAY_TTL_SECONDS).toEqual(env.PROPAGATION_DELAY_SECONDS);
    expect(JSON.stringify(env.GATEWAY_TTL_SECONDS)).toContain('DelaySeconds');
    expect(env.MAX_DECISION_AGE_SECONDS).toBe('1');
  });

  test("defaults: 50 entries, 5 minutes (2 s of it in the authorizer's memory)", () => {
    const { template } = build();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MAX_ENTRIES: '50',
          PROPAGATION_DELAY_SECONDS: '300',
          MEMORY_CACHE_TTL_SECONDS: '2',
        }),
      },
    });
  });

  test("its timeout is API Gateway's and leaves room for a write: store retries, the memory TTL and two flushes", () => {
    const { template } = build();
    const fn = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('admin API') },
      }),
    )[0];
    expect(fn.Properties.Timeout).toBe(29);
    const store = ADMIN_DYNAMODB_CLIENT;
    // A write reads (a key list: query + get) and commits: three calls, each through every SDK attempt.
    const storeMs = 3 * store.maxAttempts * (store.connectionTimeoutMs + store.requestTimeoutMs);
    // The first flush runs inside the wait for the decision age bound (+ its margin), counted from the commit; then
    // the last flush (lambda/admin/writes.ts).
    const propagationMs =
      Math.max(FLUSH_TIMEOUT_MS, MAX_DECISION_AGE_SECONDS * 1000 + LAST_FLUSH_MARGIN_MS) + FLUSH_TIMEOUT_MS;
    expect(storeMs + propagationMs + RESPONSE_MARGIN_MS).toBeLessThan(fn.Properties.Timeout * 1000);
  });

  test('flushAuthorizerCaches: false: no flush target and no API Gateway permission', () => {
    const { template, stack, admin } = build({ flushAuthorizerCaches: false });
    const fn = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('admin API') },
      }),
    )[0];
    expect(fn.Properties.Environment.Variables.PROTECTED_STAGES).toBeUndefined();
    const role = logicalId(stack, admin.function.role!.node.defaultChild as never);
    expect(JSON.stringify(statementsOf(template, role))).not.toContain('apigateway:');
  });

  test("may flush exactly the protected stage's authorizer cache, nothing else in API Gateway", () => {
    const { template, stack, admin, protectedApi } = build();
    const role = logicalId(stack, admin.function.role!.node.defaultChild as never);
    const apigw = statementsOf(template, role).filter((s) => JSON.stringify(s.Action).includes('apigateway'));
    expect(apigw).toHaveLength(1);
    expect(apigw[0].Action).toBe('apigateway:DELETE');
    const apiId = logicalId(stack, protectedApi.node.defaultChild as never);
    const stageId = logicalId(stack, protectedApi.deploymentStage.node.defaultChild as never);
    expect(flatten(apigw[0].Resource)).toBe(
      `arn:\${AWS::Partition}:apigateway:eu-west-1::/restapis/\${${apiId}}/stages/\${${stageId}}/cache/authorizers`,
    );
  });

  test('gets exactly the actions it calls on each table; the audit log is append-only', () => {
    const { template, stack, admin } = build();
    const role = logicalId(stack, admin.function.role!.node.defaultChild as never);
    const tableOf = (resource: unknown) => flatten(resource).replace(/^\$\{Tables(\w+?)[0-9A-F]{8}\.Arn\}/, '$1');
    const dynamo = statementsOf(template, role).filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    const byResource = Object.fromEntries(
      dynamo.flatMap((s) =>
        (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) => [tableOf(r), [s.Action].flat().sort()]),
      ),
    );
    expect(byResource).toEqual({
      Allowlists: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      ApiKeys: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      'ApiKeys/index/byProject': ['dynamodb:Query'],
      AuditLog: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
      Traffic: ['dynamodb:Query'],
      'Traffic/index/byLastSeen': ['dynamodb:Query'],
    });
  });

  test('with a Traffic table: only Query on it (lastMatchedAt) and on its byLastSeen index (the traffic log)', () => {
    const app = new App();
    const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
    const tables = new AllowlistTables(stack, 'Tables');
    const trafficTable = tables.trafficTable!;
    const authorizer = new IpAllowlistAuthorizer(stack, 'Allowlist', { tables });
    const protectedApi = new apigateway.RestApi(stack, 'Protected');
    protectedApi.root.addMethod('GET', new apigateway.MockIntegration(), { authorizer });
    const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [authorizer] });
    const template = Template.fromStack(stack);
    const trafficId = logicalId(stack, trafficTable.node.defaultChild as never);
    const onTraffic = (roleId: string) =>
      statementsOf(template, roleId)
        .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) => [flatten(r), s.Action]))
        .filter(([r]) => (r as string).includes(trafficId));
    expect(onTraffic(logicalId(stack, admin.function.role!.node.defaultChild as never))).toEqual([
      [`\${${trafficId}.Arn}`, 'dynamodb:Query'],
      [`\${${trafficId}.Arn}/index/byLastSeen`, 'dynamodb:Query'],
    ]);
    // The authorizer reads no traffic: it only adds to sightings.
    expect(onTraffic(logicalId(stack, authorizer.function.role!.node.defaultChild as never))).toEqual([
      [`\${${trafficId}.Arn}`, 'dynamodb:UpdateItem'],
    ]);
  });
});

describe('prop validation', () => {
  test.each([0, 1001, 2.5])('maxEntries %p is refused at synth time, naming the prop', (maxEntries) => {
    expect(() => build({ maxEntries })).toThrow(`maxEntries must be a whole number from 1 to 1000, got ${maxEntries}`);
  });

  test('maxEntries 1000 is accepted', () => {
    expect(build({ maxEntries: 1000 }).admin.maxEntries).toBe(1000);
  });

  test('an organization id that could not appear in a path is refused by the grants', () => {
    expect(() =>
      build({}, (admin, stack) =>
        admin.grantRead(new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() }), 'acme/*'),
      ),
    ).toThrow(/organizationId must be 1 to 64 characters/);
  });
});

describe('grants', () => {
  function grantStatements(grant: (admin: AllowlistAdminApi, role: iam.IGrantable) => void) {
    let roleId = '';
    let apiPrefix = '';
    const built = build({}, (admin, stack) => {
      const role = new iam.Role(stack, 'OrgAdmins', { assumedBy: new iam.AccountRootPrincipal() });
      grant(admin, role);
      roleId = logicalId(stack, role.node.defaultChild as never);
      const apiId = logicalId(stack, admin.api.node.defaultChild as never);
      const stageId = logicalId(stack, admin.api.deploymentStage.node.defaultChild as never);
      apiPrefix = `arn:\${AWS::Partition}:execute-api:eu-west-1:123456789012:\${${apiId}}/\${${stageId}}`;
    });
    const statements = statementsOf(built.template, roleId);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'execute-api:Invoke' });
    const resources = ([] as unknown[]).concat(statements[0].Resource).map(flatten);
    for (const r of resources) expect(r.startsWith(`${apiPrefix}/`)).toBe(true);
    return resources.map((r) => r.slice(apiPrefix.length));
  }

  test("grantRead(org): GET on the organization's paths and POST on its check and preview paths only", () => {
    expect(grantStatements((admin, role) => admin.grantRead(role, 'acme'))).toEqual([
      '/GET/v1/organizations/acme/*',
      '/POST/v1/organizations/acme/ip_allowlist/check',
      '/POST/v1/organizations/acme/ip_allowlist/preview',
      '/POST/v1/organizations/acme/projects/*/ip_allowlist/check',
      '/POST/v1/organizations/acme/projects/*/ip_allowlist/preview',
      '/POST/v1/organizations/acme/projects/*/api_keys/*/ip_allowlist/check',
      '/POST/v1/organizations/acme/projects/*/api_keys/*/ip_allowlist/preview',
      '/GET/v1/whoami',
    ]);
  });

  test("grantWrite(org): every method on the organization's paths", () => {
    expect(grantStatements((admin, role) => admin.grantWrite(role, 'acme'))).toEqual([
      '/*/v1/organizations/acme/*',
      '/GET/v1/whoami',
    ]);
  });

  test('without an organization: all organizations', () => {
    expect(grantStatements((admin, role) => admin.grantRead(role))[0]).toBe('/GET/v1/organizations/*/*');
    expect(grantStatements((admin, role) => admin.grantWrite(role))).toEqual([
      '/*/v1/organizations/*/*',
      '/GET/v1/whoami',
    ]);
  });

  // IAM's * matches any characters, / included: check the pattern as IAM would.
  const iamMatch = (p: string, s: string) =>
    new RegExp(
      `^${p
        .split('*')
        .map((x) => x.replace(/[.?+^$()[\]{}|\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(s);

  test("one organization's grant does not match another organization's paths", () => {
    const [pattern] = grantStatements((admin, role) => admin.grantWrite(role, 'acme'));
    expect(iamMatch(pattern, '/PUT/v1/organizations/acme/ip_allowlist')).toBe(true);
    expect(iamMatch(pattern, '/PUT/v1/organizations/acme-corp/ip_allowlist')).toBe(false);
    expect(iamMatch(pattern, '/PUT/v1/organizations/other/projects/acme/ip_allowlist')).toBe(false);
  });

  test("grantRead(org) reads that organization's traffic log and no other's", () => {
    const read = grantStatements((admin, role) => admin.grantRead(role, 'acme'));
    const matches = (request: string) => read.some((p) => iamMatch(p, request));
    expect(matches('/GET/v1/organizations/acme/traffic')).toBe(true);
    expect(matches('/GET/v1/organizations/globex/traffic')).toBe(false);
    expect(matches('/GET/v1/organizations/acme-corp/traffic')).toBe(false);
    expect(matches('/GET/v1/organizations/globex/projects/acme/traffic')).toBe(false);
  });

  test("every route of the contract is in an organization's grants: reads, checks and previews in grantRead, all in grantWrite", () => {
    const read = grantStatements((admin, role) => admin.grantRead(role, 'acme'));
    const write = grantStatements((admin, role) => admin.grantWrite(role, 'acme'));
    const ids: Record<string, string> = { org: 'acme', project: 'web', keyId: 'key_1', value: '192.0.2.1' };
    const covered = ROUTES.map((r) => {
      const request = `/${r.method}${r.path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name])}`;
      return {
        operation: r.operation,
        read: read.some((p) => iamMatch(p, request)),
        write: write.some((p) => iamMatch(p, request)),
      };
    });
    expect(covered).toEqual(
      ROUTES.map((r) => ({
        operation: r.operation,
        read: r.method === 'GET' || r.path.endsWith('/check') || r.path.endsWith('/preview'),
        write: true,
      })),
    );
    // Not a vacuous walk over nothing: the contract's writes are there, and grantRead refuses them.
    expect(covered.filter((c) => !c.read).map((c) => c.operation)).toContain('replaceAllowlist');
  });
});

describe('inside IpAllowlistedApi', () => {
  function allowlisted(props: { adminApi?: boolean; maxEntries?: number } = {}) {
    const app = new App();
    const stack = new Stack(app, 'Wired');
    const api = new IpAllowlistedApi(stack, 'Api', {
      upstream: Upstream.http('https://upstream.example.com'),
      propagationDelay: Duration.seconds(90),
      ...props,
    });
    return { stack, api, template: Template.fromStack(stack) };
  }

  test("an admin API is created by default, flushing the protected stage, with the authorizer's delay", () => {
    const { stack, api, template } = allowlisted({ maxEntries: 75 });
    expect(api.adminApi).toBeInstanceOf(AllowlistAdminApi);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 2);
    // One account-level logging role for both APIs.
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PROTECTED_STAGES: {
            'Fn::Join': [
              '',
              [
                { Ref: logicalId(stack, api.api.node.defaultChild as never) },
                '/',
                { Ref: logicalId(stack, api.api.deploymentStage.node.defaultChild as never) },
              ],
            ],
          },
          PROPAGATION_DELAY_SECONDS: '90',
          MEMORY_CACHE_TTL_SECONDS: '2',
          MAX_ENTRIES: '75',
        }),
      },
    });
    for (const m of adminMethods(template, stack, api.adminApi)) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  test('the package entry exports the construct', () => {
    expect(packageEntry.AllowlistAdminApi).toBe(AllowlistAdminApi);
  });

  test('adminApi: false leaves it out, and reading adminApi then throws naming the fix instead of granting nothing', () => {
    const { api, template } = allowlisted({ adminApi: false });
    expect(api.hasAdminApi).toBe(false);
    expect(() => api.adminApi.grantWrite(new iam.AccountRootPrincipal())).toThrow(
      /was created with adminApi: false.*new AllowlistAdminApi\(scope, 'Admin', \{ authorizers: \[allowlisted.authorizer\] \}\)/,
    );
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
  });
});
