import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AllowlistAdminApi, IpAllowlistedApi, Upstream } from '../../../lib';
import {
  createTables,
  localClient,
  localTablesEnv,
  TableNames,
  testEndpoint,
  uniquePrefix,
} from '../../support/dynamodb-local';
import { captureOutput } from '../authorizer/fixtures';
import { proxyEvent } from './fixtures';

/**
 * The admin Lambda's metrics through its real entry point (lambda/admin/index.ts) and the real Powertools Metrics,
 * with the `service` dimension the construct synthesizes into the function's environment: successful writes and
 * server errors are counted under the dimension that the construct's metric methods read; reads and client errors
 * are not counted.
 */

type Handler = typeof import('../../../lambda/admin/index').handler;

const saved = { ...process.env };
let names: TableNames;
let admin: AllowlistAdminApi;
let synthesizedEnv: Record<string, string>;
let output: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  const ddb = localClient(testEndpoint());
  names = await createTables(ddb, uniquePrefix('admin-metrics'));
  ddb.destroy();

  const stack = new Stack(new App({ context: { 'aws:cdk:version-reporting': false } }), 'Shop');
  const api = new IpAllowlistedApi(stack, 'Api', {
    upstream: Upstream.http('https://upstream.example.com'),
    adminApi: false,
  });
  admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [api.authorizer] });
  const fn =
    Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(admin.function.node.defaultChild as CfnElement)];
  synthesizedEnv = fn.Properties.Environment.Variables;
});

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => {
  output.restore();
  process.env = { ...saved };
});

/** The entry point, loaded fresh with the synthesized metrics dimension and tables in DynamoDB Local. */
async function loadHandler(tables: TableNames = names): Promise<Handler> {
  process.env = {
    ...saved,
    AWS_REGION: 'eu-west-1',
    ...localTablesEnv(tables),
    POWERTOOLS_SERVICE_NAME: synthesizedEnv.POWERTOOLS_SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  delete process.env.POWERTOOLS_DEV;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_METRICS_NAMESPACE;
  let handler!: Handler;
  await jest.isolateModulesAsync(async () => {
    ({ handler } = await import('../../../lambda/admin/index'));
  });
  return handler;
}

function emfLines(): Record<string, unknown>[] {
  return output
    .lines()
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const ENTRIES = '/v1/organizations/metrics-org/ip_allowlist/entries';

test('the construct passes its metrics dimension to the function: the stack name and the construct path', () => {
  expect(synthesizedEnv.POWERTOOLS_SERVICE_NAME).toBe('Shop/Admin');
  expect(admin.metricsServiceName).toBe('Shop/Admin');
});

test('a successful write publishes AdminWrites under the dimension metricWrites() reads', async () => {
  const handler = await loadHandler();

  const res = await handler(proxyEvent('POST', ENTRIES, { body: { entries: ['192.0.2.1'] }, userArn: 'local:dev' }));

  expect(res.statusCode).toBe(200);
  const metric = admin.metricWrites();
  expect(emfLines()).toEqual([
    expect.objectContaining({
      _aws: expect.objectContaining({
        CloudWatchMetrics: [expect.objectContaining({ Namespace: metric.namespace, Dimensions: [['service']] })],
      }),
      service: metric.dimensions!.service,
      [metric.metricName]: 1,
    }),
  ]);
});

test('reads and client errors publish nothing', async () => {
  const handler = await loadHandler();

  const read = await handler(proxyEvent('GET', '/v1/organizations/metrics-org/ip_allowlist', { userArn: 'local:dev' }));
  const bad = await handler(proxyEvent('POST', ENTRIES, { body: { entries: ['not-an-ip'] }, userArn: 'local:dev' }));

  expect([read.statusCode, bad.statusCode]).toEqual([200, 400]);
  expect(emfLines()).toEqual([]);
});

test('a server error (storage unavailable) publishes AdminFailures under the dimension metricFailures() reads', async () => {
  const handler = await loadHandler({ ...names, allowlists: 'no-such-table' });

  const res = await handler(proxyEvent('POST', ENTRIES, { body: { entries: ['192.0.2.1'] }, userArn: 'local:dev' }));

  expect(res.statusCode).toBe(503);
  const metric = admin.metricFailures();
  expect(emfLines()).toEqual([
    expect.objectContaining({ service: metric.dimensions!.service, [metric.metricName]: 1 }),
  ]);
  expect(emfLines()[0]).not.toHaveProperty(admin.metricWrites().metricName);
});
