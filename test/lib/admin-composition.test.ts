import { App, CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AllowlistAdminApi, AllowlistTables, IpAllowlistAuthorizer, IpAllowlistedApi, Upstream } from '../../lib';
import { OPENAPI_BODY_DRIFT, validationRulesIn, withConsoleErrorCaptured } from '../support/console';
import { newStack, resourcesOfType, statementsOfRole, TempOutdirs, TemplateJson } from './synth-helpers';

/**
 * One admin API for every stage that uses the tables (issue 10 §3): everything it needs is derived from the
 * authorizers, so a mismatched delay or an admin API that flushes nothing cannot be built.
 */

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

const mock = () => new apigateway.MockIntegration();

function ref(stack: Stack, construct: { node: { defaultChild?: unknown } }) {
  return { Ref: stack.getLogicalId(construct.node.defaultChild as CfnElement) };
}

function adminEnv(stack: Stack, admin: AllowlistAdminApi): TemplateJson {
  return Template.fromStack(stack).toJSON().Resources[
    stack.getLogicalId(admin.function.node.defaultChild as CfnElement)
  ].Properties.Environment.Variables;
}

/** PROTECTED_STAGES as [restApi, stage] Ref pairs. */
function flushedStages(stack: Stack, admin: AllowlistAdminApi): unknown[][] {
  const value = adminEnv(stack, admin).PROTECTED_STAGES;
  if (value === undefined) return [];
  const parts: unknown[] = value['Fn::Join'][1];
  const pairs: unknown[][] = [];
  for (let i = 0; i < parts.length; i += 4) pairs.push([parts[i], parts[i + 2]]);
  expect(parts.filter((_, i) => i % 4 === 1)).toEqual(Array(pairs.length).fill('/'));
  expect(parts.filter((_, i) => i % 4 === 3)).toEqual(Array(pairs.length - 1).fill(','));
  return pairs;
}

function flushStatement(stack: Stack, admin: AllowlistAdminApi) {
  const role = stack.getLogicalId(admin.function.role!.node.defaultChild as CfnElement);
  return statementsOfRole(Template.fromStack(stack), role).filter((s) =>
    JSON.stringify(s.Action).includes('apigateway'),
  );
}

describe('AllowlistAdminApi from its authorizers', () => {
  test('flushes a stage the authorizer was attached to after the admin API was created (defaultMethodOptions)', () => {
    const stack = newStack(outdirs);
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist', { propagationDelay: Duration.seconds(45) });
    const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [allowlist] });
    const api = new apigateway.RestApi(stack, 'Api', {
      cloudWatchRole: false,
      defaultMethodOptions: { authorizer: allowlist },
    });
    api.root.addMethod('GET', mock());

    expect(flushedStages(stack, admin)).toEqual([[ref(stack, api), ref(stack, api.deploymentStage)]]);
    expect(adminEnv(stack, admin)).toMatchObject({ PROPAGATION_DELAY_SECONDS: '45', MEMORY_CACHE_TTL_SECONDS: '2' });
    expect(admin.tables).toBe(allowlist.tables);
    expect(admin.flushedStages).toEqual([api.deploymentStage]);
  });

  test('one authorizer on two APIs, one of them with a second stage: every stage is flushed, and may be', () => {
    const stack = newStack(outdirs);
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist');
    const first = new apigateway.RestApi(stack, 'First', {
      cloudWatchRole: false,
      defaultMethodOptions: { authorizer: allowlist },
    });
    first.root.addMethod('GET', mock());
    const beta = new apigateway.Stage(stack, 'Beta', {
      deployment: new apigateway.Deployment(stack, 'BetaDeployment', { api: first }),
      stageName: 'beta',
    });
    const second = new apigateway.RestApi(stack, 'Second', { cloudWatchRole: false });
    second.root.addMethod('GET', mock(), { authorizer: allowlist });
    const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [allowlist] });

    const expected = [
      [ref(stack, first), ref(stack, first.deploymentStage)],
      [ref(stack, first), ref(stack, beta)],
      [ref(stack, second), ref(stack, second.deploymentStage)],
    ];
    expect(flushedStages(stack, admin)).toEqual(expect.arrayContaining(expected));
    expect(flushedStages(stack, admin)).toHaveLength(3);
    const statements = flushStatement(stack, admin);
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('apigateway:DELETE');
    const resources = JSON.stringify(statements[0].Resource);
    for (const [api, stage] of expected)
      expect(resources).toContain(`${JSON.stringify(api)},"/stages/",${JSON.stringify(stage)},"/cache/authorizers"`);
  });

  test('several authorizers sharing the tables: every stage of each, and the longest delay is reported', () => {
    const stack = newStack(outdirs);
    const tables = new AllowlistTables(stack, 'Tables');
    const fast = new IpAllowlistAuthorizer(stack, 'Fast', { tables, propagationDelay: Duration.seconds(0) });
    const slow = new IpAllowlistAuthorizer(stack, 'Slow', { tables, propagationDelay: Duration.minutes(10) });
    const a = new apigateway.RestApi(stack, 'A', { cloudWatchRole: false, defaultMethodOptions: { authorizer: fast } });
    a.root.addMethod('GET', mock());
    const b = new apigateway.RestApi(stack, 'B', { cloudWatchRole: false, defaultMethodOptions: { authorizer: slow } });
    b.root.addMethod('GET', mock());

    const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [fast, slow] });

    expect(adminEnv(stack, admin)).toMatchObject({ PROPAGATION_DELAY_SECONDS: '600', MEMORY_CACHE_TTL_SECONDS: '2' });
    expect(admin.propagationDelay.toSeconds()).toBe(600);
    expect(flushedStages(stack, admin)).toHaveLength(2);
  });

  test('authorizers reading different tables are refused, naming both', () => {
    const stack = newStack(outdirs);
    const one = new IpAllowlistAuthorizer(stack, 'One');
    const two = new IpAllowlistAuthorizer(stack, 'Two');
    expect(() => new AllowlistAdminApi(stack, 'Admin', { authorizers: [one, two] })).toThrow(
      'authorizers must share one AllowlistTables: Test/One reads Test/One/Tables, Test/Two reads Test/Two/Tables',
    );
  });

  test('the admin API may live in another stack of the app than the API it flushes', () => {
    const app = new App({ outdir: outdirs.make() });
    const apiStack = new Stack(app, 'ApiStack');
    const allowlist = new IpAllowlistAuthorizer(apiStack, 'Allowlist');
    const api = new apigateway.RestApi(apiStack, 'Api', {
      cloudWatchRole: false,
      defaultMethodOptions: { authorizer: allowlist },
    });
    api.root.addMethod('GET', mock());
    const adminStack = new Stack(app, 'AdminStack');
    const admin = new AllowlistAdminApi(adminStack, 'Admin', { authorizers: [allowlist] });

    const value = JSON.stringify(adminEnv(adminStack, admin).PROTECTED_STAGES);
    expect(value.match(/Fn::ImportValue/g)).toHaveLength(2);
  });

  test('no authorizer is refused', () => {
    const stack = newStack(outdirs);
    expect(() => new AllowlistAdminApi(stack, 'Admin', { authorizers: [] })).toThrow(
      /authorizers must name at least one IpAllowlistAuthorizer/,
    );
  });

  test('an admin API whose authorizers protect nothing is a synth error, not an admin API that flushes nothing', () => {
    const stack = newStack(outdirs);
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist');
    new AllowlistAdminApi(stack, 'Admin', { authorizers: [allowlist] });
    expect(() => Template.fromStack(stack)).toThrow(
      /AllowlistAdminApi Test\/Admin would flush nothing: its authorizers \(Test\/Allowlist\) protect no API/,
    );
  });

  test('an API with no Stage in this app (deploy: false) is a synth error saying what to do', () => {
    const stack = newStack(outdirs);
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist');
    const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false, deploy: false });
    api.root.addMethod('GET', mock(), { authorizer: allowlist });
    new AllowlistAdminApi(stack, 'Admin', { authorizers: [allowlist] });
    expect(() => Template.fromStack(stack)).toThrow(
      /AllowlistAdminApi Test\/Admin cannot flush the authorizer cache of Test\/Api: this app defines no Stage of it.*flushAuthorizerCaches: false/,
    );
  });

  test('flushAuthorizerCaches: false is the explicit way to have no flush: no stage, no API Gateway permission', () => {
    const stack = newStack(outdirs);
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist');
    const api = new apigateway.RestApi(stack, 'Api', {
      cloudWatchRole: false,
      defaultMethodOptions: { authorizer: allowlist },
    });
    api.root.addMethod('GET', mock());
    const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [allowlist], flushAuthorizerCaches: false });

    expect(adminEnv(stack, admin).PROTECTED_STAGES).toBeUndefined();
    expect(flushStatement(stack, admin)).toEqual([]);
  });

  test('a SpecRestApi protected through its OpenAPI definition is flushed too', () => {
    const stack = newStack(outdirs);
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist');
    const spec = new apigateway.SpecRestApi(stack, 'Spec', {
      apiDefinition: apigateway.ApiDefinition.fromInline({
        openapi: '3.0.1',
        info: { title: 't', version: '1' },
        components: { securitySchemes: { ipAllowlist: allowlist.openApiSecurityScheme() } },
        paths: {},
      }),
      cloudWatchRole: false,
    });
    allowlist.protectOpenApiRestApi(spec);
    const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [allowlist] });

    const { result: stages, printed } = withConsoleErrorCaptured(() => flushedStages(stack, admin));
    expect(stages).toEqual([[ref(stack, spec), ref(stack, spec.deploymentStage)]]);
    expect(validationRulesIn(printed)).toEqual(OPENAPI_BODY_DRIFT);
  });

  test('logRemovalPolicy applies to the Lambda and access log groups', () => {
    const stack = newStack(outdirs);
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist', { logRemovalPolicy: RemovalPolicy.DESTROY });
    new apigateway.RestApi(stack, 'Api', {
      cloudWatchRole: false,
      defaultMethodOptions: { authorizer: allowlist },
    }).root.addMethod('GET', mock());
    new AllowlistAdminApi(stack, 'Admin', { authorizers: [allowlist], logRemovalPolicy: RemovalPolicy.DESTROY });

    const groups = Template.fromStack(stack).findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups)).toHaveLength(3);
    for (const group of Object.values(groups)) expect(group.DeletionPolicy).toBe('Delete');
  });
});

describe('IpAllowlistedApi options', () => {
  const upstream = () => Upstream.http('https://upstream.example.com');

  test('authorizer options reach the authorizer Lambda', () => {
    const stack = newStack(outdirs);
    const api = new IpAllowlistedApi(stack, 'Api', {
      upstream: upstream(),
      authorizerMemorySize: 1024,
      authorizerTimeout: Duration.seconds(8),
      metricsServiceName: 'orders-allowlist',
    });

    const fn =
      Template.fromStack(stack).toJSON().Resources[
        stack.getLogicalId(api.authorizer.function.node.defaultChild as CfnElement)
      ].Properties;
    expect(fn).toMatchObject({ MemorySize: 1024, Timeout: 8 });
    expect(fn.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('orders-allowlist');
  });

  test('table options reach the tables it creates', () => {
    const stack = newStack(outdirs);
    const encryptionKey = new kms.Key(stack, 'Key');
    new IpAllowlistedApi(stack, 'Api', {
      upstream: upstream(),
      deletionProtection: true,
      encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const tables = resourcesOfType(Template.fromStack(stack), 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(4);
    for (const [, t] of tables) {
      expect(t.Properties.DeletionProtectionEnabled).toBe(true);
      expect(t.Properties.SSESpecification).toEqual({
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [stack.getLogicalId(encryptionKey.node.defaultChild as CfnElement), 'Arn'] },
      });
      expect((t as TemplateJson).DeletionPolicy).toBe('Delete');
    }
  });

  test.each([
    [
      { removalPolicy: RemovalPolicy.DESTROY },
      'removalPolicy has no effect when tables is given (set them on the tables)',
    ],
    [
      { deletionProtection: true, removalPolicy: RemovalPolicy.RETAIN },
      'removalPolicy and deletionProtection have no effect when tables is given',
    ],
  ])('table options with tables given are refused: %j', (extra, message) => {
    const stack = newStack(outdirs);
    const tables = new AllowlistTables(stack, 'Tables');
    expect(() => new IpAllowlistedApi(stack, 'Api', { upstream: upstream(), tables, ...extra })).toThrow(message);
  });

  test.each([
    [{ maxEntries: 100 }, 'maxEntries has no effect with adminApi: false (there is no admin API to apply them to)'],
    [{ adminStageName: 'ops' }, 'adminStageName has no effect with adminApi: false'],
  ])('admin options without the admin API are refused: %j', (extra, message) => {
    const stack = newStack(outdirs);
    expect(() => new IpAllowlistedApi(stack, 'Api', { upstream: upstream(), adminApi: false, ...extra })).toThrow(
      message,
    );
  });

  test("the admin API is a member, flushes the API's stage, and uses adminStageName", () => {
    const stack = newStack(outdirs);
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: upstream(), adminStageName: 'ops' });

    expect(api.hasAdminApi).toBe(true);
    expect(api.adminApi.flushedStages).toEqual([]); // known at synth time
    expect(flushedStages(stack, api.adminApi)).toEqual([[ref(stack, api.api), ref(stack, api.api.deploymentStage)]]);
    expect(api.adminApi.flushedStages).toEqual([api.api.deploymentStage]);
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'ops' });
  });

  test('logRemovalPolicy applies to every log group it creates', () => {
    const stack = newStack(outdirs);
    new IpAllowlistedApi(stack, 'Api', { upstream: upstream(), logRemovalPolicy: RemovalPolicy.DESTROY });
    const groups = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(4);
    for (const group of groups) expect(group.DeletionPolicy).toBe('Delete');
  });

  test('log groups are retained by default', () => {
    const stack = newStack(outdirs);
    new IpAllowlistedApi(stack, 'Api', { upstream: upstream() });
    for (const group of Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup')))
      expect(group.DeletionPolicy).toBe('Retain');
  });
});

describe('attaching a redeployed stack to retained tables', () => {
  test('AllowlistTables.fromTableNames creates no table, and the Lambdas use and may use exactly the named tables', () => {
    const app = new App({ outdir: outdirs.make() });
    const stack = new Stack(app, 'Again', { env: { account: '123456789012', region: 'eu-west-1' } });
    const tables = AllowlistTables.fromTableNames(stack, 'Retained', {
      allowlistsTableName: 'Old-Allowlists',
      apiKeysTableName: 'Old-ApiKeys',
      auditLogTableName: 'Old-AuditLog',
    });
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://upstream.example.com'), tables });

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(adminEnv(stack, api.adminApi)).toMatchObject({
      ALLOWLISTS_TABLE_NAME: 'Old-Allowlists',
      API_KEYS_TABLE_NAME: 'Old-ApiKeys',
      AUDIT_LOG_TABLE_NAME: 'Old-AuditLog',
    });
    const authorizerRole = stack.getLogicalId(api.authorizer.function.role!.node.defaultChild as CfnElement);
    const tableResources = JSON.stringify(
      statementsOfRole(template, authorizerRole)
        .filter((s) => JSON.stringify(s.Action).includes('dynamodb'))
        .map((s) => s.Resource),
    );
    expect(tableResources).toContain(':table/Old-Allowlists');
    expect(tableResources).toContain(':table/Old-ApiKeys');
    expect(tableResources).not.toContain('Old-AuditLog');
    // Tables brought without a Traffic table: nothing is recorded, and neither Lambda is told of one.
    expect(adminEnv(stack, api.adminApi)).not.toHaveProperty('TRAFFIC_TABLE_NAME');
    expect(JSON.stringify(template.toJSON())).not.toContain('TRAFFIC_TABLE_NAME');
  });

  test('AllowlistTables.fromTableNames with a Traffic table: the authorizer may UpdateItem it, both Lambdas are told of it', () => {
    const app = new App({ outdir: outdirs.make() });
    const stack = new Stack(app, 'Again', { env: { account: '123456789012', region: 'eu-west-1' } });
    const tables = AllowlistTables.fromTableNames(stack, 'Retained', {
      allowlistsTableName: 'Old-Allowlists',
      apiKeysTableName: 'Old-ApiKeys',
      auditLogTableName: 'Old-AuditLog',
      trafficTableName: 'Old-Traffic',
      trafficRetention: Duration.days(90),
    });
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://upstream.example.com'), tables });

    const template = Template.fromStack(stack);
    expect(adminEnv(stack, api.adminApi)).toMatchObject({
      TRAFFIC_TABLE_NAME: 'Old-Traffic',
      TRAFFIC_RETENTION_SECONDS: String(90 * 86_400),
    });
    const authorizerRole = stack.getLogicalId(api.authorizer.function.role!.node.defaultChild as CfnElement);
    const trafficStatements = statementsOfRole(template, authorizerRole).filter((s) =>
      JSON.stringify(s.Resource).includes(':table/Old-Traffic'),
    );
    expect(trafficStatements.map((s) => s.Action)).toEqual(['dynamodb:UpdateItem']);
  });

  test('AllowlistTables.fromTables takes ITables', () => {
    const stack = newStack(outdirs);
    const owner = new AllowlistTables(stack, 'Owner');
    const tables = AllowlistTables.fromTables(stack, 'Shared', {
      allowlistsTable: owner.allowlistsTable,
      apiKeysTable: owner.apiKeysTable,
      auditLogTable: owner.auditLogTable,
    });
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist', { tables });
    expect(allowlist.tables.apiKeysTable).toBe(owner.apiKeysTable);
  });
});
