import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IntrinsicResolver, UnresolvableError, CfnTemplate } from '../../local/intrinsics';
import { localApiId, parseIdentitySource, readStackModel, StackModel } from '../../local/model';
import { SynthesizedStack } from '../../local/synth';
import { FIXTURE_STAGE, synthGatewayFixture } from './fixtures/gateway-fixture';

/* Reading a synthesized template into what local mode runs: the values come from the template only. */

let tmp: string;
let synthesized: SynthesizedStack;
let model: StackModel;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-'));
  synthesized = synthGatewayFixture({
    outdir: path.join(tmp, 'cdk.out'),
    ttlSeconds: 42,
    upstreamUrl: 'http://127.0.0.1:9',
  });
  model = readStackModel(synthesized.template, synthesized.stackName, synthesized.assemblyDir, { tablePrefix: 'p-' });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fnByMarker = (marker: string) =>
  [...model.functions.values()].find((f) => f.environment.FIXTURE_MARKER === marker)!;

test('tables come from the template with their keys and indexes, under local names', () => {
  expect(model.tables).toHaveLength(1);
  const [t] = model.tables;
  expect(t.tableName).toBe(`p-GatewayFixture-${t.logicalId}`);
  expect(t.createTableInput.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
  expect(t.createTableInput.GlobalSecondaryIndexes).toEqual([
    {
      IndexName: 'byOwner',
      KeySchema: [
        { AttributeName: 'owner', KeyType: 'HASH' },
        { AttributeName: 'pk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ]);
});

test("a Lambda's code folder is its staged asset and its environment is resolved to local values", () => {
  const echo = fnByMarker('echo');
  const table = model.tables[0];

  expect(fs.existsSync(path.join(echo.codeDir, 'index.js'))).toBe(true);
  expect(path.dirname(echo.codeDir)).toBe(synthesized.assemblyDir);
  expect(echo.environment.TABLE_NAME).toBe(table.tableName);
  expect(echo.environment.TABLE_ARN).toBe(
    `arn:aws:dynamodb:${model.region}:${model.accountId}:table/${table.tableName}`,
  );
  expect(echo.handler).toBe('index.handler');
  expect(fnByMarker('authorizer').timeoutSeconds).toBe(1);
  expect(echo.timeoutSeconds).toBe(3);
});

test('authorizers carry their identity sources, TTL and function', () => {
  const api = model.apis.find((a) => a.stageName === FIXTURE_STAGE)!;
  const ttls = [...api.authorizers.values()].map((a) => a.ttlSeconds).sort((a, b) => a - b);

  expect(ttls).toEqual([0, 42]);
  for (const a of api.authorizers.values()) {
    expect(a.type).toBe('REQUEST');
    expect(a.identitySources.map((s) => s.expression)).toEqual([
      'method.request.header.Authorization',
      'context.identity.sourceIp',
    ]);
    expect(a.functionLogicalId).toBe(fnByMarker('authorizer').logicalId);
  }
});

test('resources, methods and integrations form the route tree', () => {
  const api = model.apis.find((a) => a.stageName === FIXTURE_STAGE)!;
  const items = api.root.children.find((c) => c.pathPart === 'items')!;
  const id = items.children[0];
  const up = api.root.children.find((c) => c.pathPart === 'up')!.children[0];
  const open = api.root.children.find((c) => c.pathPart === 'open')!;

  expect(id.path).toBe('/items/{id}');
  expect(id.methods.get('GET')).toMatchObject({ authorizationType: 'CUSTOM', integration: { type: 'AWS_PROXY' } });
  expect(open.methods.get('GET')?.authorizationType).toBe('NONE');
  expect(up.methods.get('ANY')?.integration).toMatchObject({
    type: 'HTTP_PROXY',
    uri: 'http://127.0.0.1:9/{proxy}',
    requestParameters: { 'integration.request.header.X-Organization-Id': 'context.authorizer.org' },
  });
});

test('gateway responses keep status, header mappings and templates', () => {
  const api = model.apis.find((a) => a.stageName === FIXTURE_STAGE)!;
  const denied = api.gatewayResponses.get('ACCESS_DENIED')!;

  expect(denied.statusCode).toBe(401);
  expect(denied.headers).toEqual({
    'Content-Type': "'application/json'",
    'X-Principal': 'context.authorizer.principalId',
  });
  expect(denied.templates['application/json']).toContain('$context.authorizer.reason');
});

test('the IAM API is told apart by its authorization type and gets a stable API id', () => {
  const admin = model.apis.find((a) => a.authorizationTypes.has('AWS_IAM'))!;

  expect(admin.stageName).toBe('admin');
  expect(admin.apiId).toBe(localApiId(synthesized.stackName, admin.logicalId));
  expect(admin.apiId).toMatch(/^[a-z0-9]{10}$/);
});

describe('intrinsic functions', () => {
  const template: CfnTemplate = {
    Parameters: { Stage: { Type: 'String', Default: 'prod' } },
    Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] } },
    Resources: {
      Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Fn: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'my-fn' } },
    },
  };
  const r = new IntrinsicResolver(template, {
    region: 'eu-west-1',
    accountId: '111122223333',
    stackName: 'S',
    physicalName: (id) => (id === 'Table' ? 'local-table' : undefined),
  });

  test.each([
    [{ Ref: 'Table' }, 'local-table'],
    [{ Ref: 'Fn' }, 'my-fn'],
    [{ 'Fn::GetAtt': ['Fn', 'Arn'] }, 'arn:aws:lambda:eu-west-1:111122223333:function:my-fn'],
    [{ 'Fn::Join': ['-', ['a', { Ref: 'AWS::Region' }, { Ref: 'Stage' }]] }, 'a-eu-west-1-prod'],
    [{ 'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::AccountId}:${Table}' }, 'arn:aws:x:111122223333:local-table'],
    [{ 'Fn::Sub': ['${A}/${Table.Arn}', { A: 'v' }] }, 'v/arn:aws:dynamodb:eu-west-1:111122223333:table/local-table'],
    [{ 'Fn::Select': [1, { 'Fn::Split': ['/', 'a/b/c'] }] }, 'b'],
    [{ 'Fn::If': ['IsProd', 'yes', 'no'] }, 'yes'],
  ])('%j -> %s', (input, expected) => {
    expect(r.resolve(input)).toBe(expected);
  });

  test('AWS::NoValue removes the property', () => {
    expect(r.resolve({ A: 'x', B: { Ref: 'AWS::NoValue' } })).toEqual({ A: 'x' });
  });

  test('what local mode cannot resolve is an error, not a guess', () => {
    expect(() => r.resolve({ 'Fn::ImportValue': 'Other' })).toThrow(UnresolvableError);
    expect(() => r.resolve({ Ref: 'Missing' })).toThrow(UnresolvableError);
  });
});

test('identity sources parse into header, query, context and stage variable reads', () => {
  expect(parseIdentitySource('method.request.header.X-Api-Key')).toEqual({
    expression: 'method.request.header.X-Api-Key',
    kind: 'header',
    name: 'X-Api-Key',
  });
  expect(parseIdentitySource('method.request.querystring.key').kind).toBe('querystring');
  expect(parseIdentitySource('context.identity.sourceIp')).toMatchObject({
    kind: 'context',
    name: 'identity.sourceIp',
  });
  expect(() => parseIdentitySource('method.request.body.x')).toThrow(UnresolvableError);
});
