import { createServer, Socket } from 'node:net';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { generateApiKey } from '../../../lambda/core/api-key';
import { IpAllowlistAuthorizer } from '../../../lib';
import { ERRORS } from '../../../lambda/core/errors';
import { localTablesEnv } from '../../support/dynamodb-local';
import {
  authorizerEvent,
  captureOutput,
  list,
  logRecords,
  makeTables,
  putKey,
  putOrgList,
  SeededKey,
  STAGE_RESOURCE,
  Tables,
} from './fixtures';

/**
 * The Lambda entry point exactly as deployed: configuration from the environment at load time, the SDK client
 * built by the module (pointed at DynamoDB Local through AWS_ENDPOINT_URL_DYNAMODB, the SDK's standard
 * variable, as local mode does), the real Powertools Logger and Metrics writing to stdout.
 */

interface HandlerModule {
  handler: (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
  resetMemoryCache: () => void;
}

let t: Tables;
let web: SeededKey;
const savedEnv = { ...process.env };

/** Loads the entry point in a fresh module registry; `beforeLoad` runs in that registry first. */
function loadHandler(env: Record<string, string | undefined>, beforeLoad?: () => void): HandlerModule {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  let mod: HandlerModule | undefined;
  jest.isolateModules(() => {
    beforeLoad?.();
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules loads synchronously, in its own registry
    mod = require('../../../lambda/authorizer/index') as HandlerModule;
  });
  return mod!;
}

function lambdaEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AWS_REGION: 'local',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    ...localTablesEnv({ allowlists: t.names.allowlists, apiKeys: t.names.apiKeys }),
    API_KEY_HEADER: 'authorization',
    MEMORY_CACHE_TTL_SECONDS: '2',
    POWERTOOLS_DEV: undefined,
    POWERTOOLS_LOGGER_LOG_EVENT: undefined,
    POWERTOOLS_LOG_LEVEL: undefined,
    POWERTOOLS_METRICS_DISABLED: undefined,
    POWERTOOLS_SERVICE_NAME: undefined,
    POWERTOOLS_METRICS_NAMESPACE: undefined,
    ...overrides,
  };
}

let output: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  t = await makeTables('handler');
  await putOrgList(t, 'acme', list(true, '198.51.100.0/24'));
  web = await putKey(t, 'acme', 'web');
});

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => output.restore());

afterAll(() => {
  process.env = savedEnv;
  t.admin.destroy();
});

/** A RestApi the authorizer protects (an authorizer must be attached to one to synthesize). */
function protectNewApi(stack: Stack, authorizer: IpAllowlistAuthorizer, id: string): void {
  const api = new apigateway.RestApi(stack, id, { cloudWatchRole: false });
  api.root.addMethod('GET', new apigateway.MockIntegration());
  authorizer.protectRestApi(api);
}

/** EMF lines written by Powertools Metrics, as metric name -> value. */
function emfLines(): Record<string, unknown>[] {
  return output
    .lines()
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('allows and denies through the deployed entry point, against DynamoDB Local via AWS_ENDPOINT_URL_DYNAMODB', async () => {
  const { handler } = loadHandler(lambdaEnv());
  const allowed = await handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));
  expect(allowed).toEqual({
    principalId: web.keyId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: STAGE_RESOURCE }],
    },
    context: { organizationId: 'acme', projectId: 'web', apiKeyId: web.keyId },
  });
  const blocked = await handler(
    authorizerEvent({ key: web.key, sourceIp: '192.0.2.1', headers: { 'X-Forwarded-For': '198.51.100.7' } }),
  );
  expect(blocked.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: STAGE_RESOURCE });
  expect(blocked.context).toMatchObject({
    errorMessage: ERRORS.ipNotAuthorizedOrganization.message,
    errorCode: 'ip_not_authorized',
  });

  const denials = logRecords(output.lines(), 'request denied');
  expect(denials).toEqual([
    expect.objectContaining({
      service: 'cdk-ip-allowlist-authorizer',
      reason: 'ip_not_authorized',
      scope: 'organization',
      keyId: web.keyId,
      organizationId: 'acme',
      projectId: 'web',
      sourceIp: '192.0.2.1',
    }),
  ]);
  expect(output.text()).not.toContain(web.key.slice(web.key.indexOf('.') + 1));
});

test('metrics: counts are published with the cold read, and warm decisions in between write nothing', async () => {
  const { handler } = loadHandler(lambdaEnv());
  await handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));
  const first = emfLines();
  expect(first).toHaveLength(1);
  expect(first[0]).toMatchObject({
    _aws: { CloudWatchMetrics: [{ Namespace: 'CdkIpAllowlist', Dimensions: [['service']] }] },
    service: 'cdk-ip-allowlist-authorizer',
    AllowedRequests: 1,
    StoreReads: 1,
  });

  const before = output.lines().length;
  for (let i = 0; i < 50; i++) await handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));
  expect(output.lines().length).toBe(before);

  // The next cold read (a key not yet in memory) publishes everything gathered so far.
  const unknown = generateApiKey({ organizationId: 'acme', projectId: 'web' });
  await handler(authorizerEvent({ key: unknown.key, sourceIp: '198.51.100.7' }));
  expect(emfLines()[1]).toMatchObject({ AllowedRequests: 50, InvalidKeyRequests: 1, StoreReads: 1 });
});

test('metrics: each authorizer instance publishes under the service dimension its construct sets and its metric methods read', async () => {
  // Prepare: two instances in one stack; each function's environment as synthesized.
  const stack = new Stack(new App({ context: { 'aws:cdk:version-reporting': false } }), 'Shop');
  const instances = ['Eu', 'Us'].map((id) => new IpAllowlistAuthorizer(stack, id));
  for (const [i, instance] of instances.entries()) protectNewApi(stack, instance, `Api${i}`);
  const template = Template.fromStack(stack);
  const envOf = (instance: IpAllowlistAuthorizer): Record<string, string> =>
    template.toJSON().Resources[stack.getLogicalId(instance.function.node.defaultChild as CfnElement)].Properties
      .Environment.Variables;

  const published: unknown[] = [];
  for (const instance of instances) {
    output.restore();
    output = captureOutput();
    // Act: the real entry point with the synthesized dimension, one cold decision.
    const { handler } = loadHandler(lambdaEnv({ POWERTOOLS_SERVICE_NAME: envOf(instance).POWERTOOLS_SERVICE_NAME }));
    await handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));

    // Assess: the EMF line carries the dimension the construct's metric reads, under the metric's name.
    const metric = instance.metricAllowedRequests();
    const [line] = emfLines();
    expect(line).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: metric.namespace, Dimensions: [['service']] }] },
      service: metric.dimensions!.service,
      [metric.metricName]: 1,
    });
    published.push(line.service);
  }
  expect(published).toEqual(['Shop/Eu', 'Shop/Us']);
});

test('storage unavailable (a table that does not exist): the handler rejects with authorizer_unavailable and logs why', async () => {
  const { handler } = loadHandler(lambdaEnv({ ALLOWLISTS_TABLE_NAME: 'no-such-table' }));
  await expect(handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }))).rejects.toThrow(
    'authorizer_unavailable',
  );
  const failures = logRecords(output.lines(), 'authorizer cannot decide: failing closed');
  expect(failures).toEqual([
    expect.objectContaining({ level: 'ERROR', reason: 'authorizer_unavailable', organizationId: 'acme' }),
  ]);
  expect(String(failures[0].cause)).toMatch(/ResourceNotFoundException/);
  expect(emfLines()).toEqual([expect.objectContaining({ StoreErrors: 1 })]);
});

test('DynamoDB that accepts connections but never answers: the client times out and the handler fails closed', async () => {
  // Without the module's request timeout the SDK would wait forever and this test would hit jest's timeout.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const port = (silent.address() as { port: number }).port;
    const { handler } = loadHandler(lambdaEnv({ AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}` }));
    await expect(handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }))).rejects.toThrow(
      'authorizer_unavailable',
    );
    const failures = logRecords(output.lines(), 'authorizer cannot decide: failing closed');
    expect(failures).toHaveLength(1);
    expect(String(failures[0].cause)).toMatch(/timeout|timed out/i);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('a missing required variable fails the container at load time, naming the variable', () => {
  expect(() => loadHandler(lambdaEnv({ API_KEYS_TABLE_NAME: undefined }))).toThrow(/API_KEYS_TABLE_NAME is required/);
});

test('resetMemoryCache makes the next decision read storage again', async () => {
  const mod = loadHandler(lambdaEnv());
  await mod.handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));
  await mod.handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));
  expect(emfLines()).toHaveLength(1);
  mod.resetMemoryCache();
  await mod.handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));
  expect(emfLines()).toHaveLength(2);
  expect(emfLines()[1]).toMatchObject({ AllowedRequests: 2, StoreReads: 1 });
});

test('the DynamoDB client is created once per container: every cold read goes through the same one', async () => {
  const senders = new Set<unknown>();
  let sends = 0;
  let restore: (() => void) | undefined;
  const mod = loadHandler(lambdaEnv(), () => {
    // The SDK module the entry point is about to load (same isolated registry).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the instance in the isolated registry, loaded synchronously
    const sdk = require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
    // eslint-disable-next-line @typescript-eslint/unbound-method -- applied below with each client as `this`
    const original = sdk.DynamoDBClient.prototype.send;
    const spy = jest.spyOn(sdk.DynamoDBClient.prototype, 'send').mockImplementation(function (
      this: unknown,
      ...args: unknown[]
    ) {
      senders.add(this);
      sends += 1;
      return (original as (...a: unknown[]) => unknown).apply(this, args) as never;
    });
    restore = () => spy.mockRestore();
  });
  try {
    for (let i = 0; i < 3; i++) {
      mod.resetMemoryCache();
      await mod.handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));
    }
    expect(sends).toBe(3);
    expect(senders.size).toBe(1);
  } finally {
    restore?.();
  }
});

test("the key stays out of the logs even with Powertools' event logging and debug level switched on", async () => {
  // POWERTOOLS_LOGGER_LOG_EVENT would print whole events (and the Authorization header) if the handler were
  // wrapped with Powertools' injectLambdaContext; this guards against that ever being added.
  const { handler } = loadHandler(lambdaEnv({ POWERTOOLS_LOGGER_LOG_EVENT: 'true', POWERTOOLS_LOG_LEVEL: 'DEBUG' }));
  const unknown = generateApiKey({ organizationId: 'acme', projectId: 'web' }).key;
  await handler(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }));
  await handler(authorizerEvent({ key: web.key, sourceIp: '192.0.2.1' }));
  await handler(authorizerEvent({ key: unknown, sourceIp: '192.0.2.1' }));
  const { handler: failing } = loadHandler(
    lambdaEnv({
      POWERTOOLS_LOGGER_LOG_EVENT: 'true',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      ALLOWLISTS_TABLE_NAME: 'no-such-table',
    }),
  );
  await expect(failing(authorizerEvent({ key: web.key, sourceIp: '198.51.100.7' }))).rejects.toThrow(
    'authorizer_unavailable',
  );

  expect(logRecords(output.lines(), 'request denied')).toHaveLength(2);
  for (const key of [web.key, unknown]) expect(output.text()).not.toContain(key.slice(key.indexOf('.') + 1));
});
