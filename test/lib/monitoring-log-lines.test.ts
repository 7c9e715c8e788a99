import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { Template } from 'aws-cdk-lib/assertions';
import { IpAllowlistedApi, Upstream } from '../../lib';
import { localTablesEnv } from '../support/dynamodb-local';
import {
  authorizerEvent,
  captureOutput,
  list,
  makeTables,
  putKey,
  putOrgList,
  SeededKey,
  Tables,
} from '../lambda/authorizer/fixtures';
import { resolveToText } from '../../scripts/dashboard-svg';
import { newStack, onlyResource, TempOutdirs } from './synth-helpers';

/**
 * The Contributor Insights rule of IpAllowlistMonitoring, evaluated against the log lines the real authorizer writes:
 * the deployed entry point (lambda/authorizer/index.ts, its Powertools Logger as configured there) decides requests
 * against DynamoDB Local, its stdout is captured, and the rule's filters and keys, read from the synthesized
 * template, are applied to each line with the semantics CloudWatch documents for CloudWatchLogRule v1 (JSON logs):
 * a line contributes when every filter matches (filters are ANDed, matching is case-sensitive), under the values of
 * its keys. Only the line of a request blocked by an allowlist may count, under (organizationId, sourceIp).
 */

interface Filter {
  readonly Match: string;
  readonly In?: (string | number)[];
  readonly NotIn?: (string | number)[];
  readonly StartsWith?: string[];
  readonly EqualTo?: number;
  readonly NotEqualTo?: number;
  readonly GreaterThan?: number;
  readonly LessThan?: number;
  readonly IsPresent?: boolean;
}

interface RuleBody {
  readonly LogFormat: string;
  readonly Contribution: { readonly Keys: string[]; readonly Filters: Filter[] };
}

/** `$.a.b` in a parsed JSON log event (undefined when absent). */
function at(event: unknown, path: string): unknown {
  if (!path.startsWith('$.')) throw new Error(`not a JSON path this evaluator reads: ${path}`);
  return path
    .slice(2)
    .split('.')
    .reduce<unknown>(
      (value, field) =>
        value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[field] : undefined,
      event,
    );
}

function matches(event: unknown, filter: Filter): boolean {
  const value = at(event, filter.Match);
  const conditions: boolean[] = [];
  if (filter.IsPresent !== undefined) conditions.push((value !== undefined) === filter.IsPresent);
  if (filter.In) conditions.push(value !== undefined && filter.In.some((v) => v === value));
  if (filter.NotIn) conditions.push(value !== undefined && !filter.NotIn.some((v) => v === value));
  if (filter.StartsWith)
    conditions.push(typeof value === 'string' && filter.StartsWith.some((p) => value.startsWith(p)));
  if (filter.EqualTo !== undefined) conditions.push(value === filter.EqualTo);
  if (filter.NotEqualTo !== undefined) conditions.push(typeof value === 'number' && value !== filter.NotEqualTo);
  if (filter.GreaterThan !== undefined) conditions.push(typeof value === 'number' && value > filter.GreaterThan);
  if (filter.LessThan !== undefined) conditions.push(typeof value === 'number' && value < filter.LessThan);
  if (conditions.length === 0) throw new Error(`filter on ${filter.Match} has no condition this evaluator knows`);
  return conditions.every(Boolean);
}

/** The contributor (key values) a log line counts under, or undefined when the rule skips it. */
function contributorOf(rule: RuleBody, line: string): unknown[] | undefined {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!rule.Contribution.Filters.every((f) => matches(event, f))) return undefined;
  return rule.Contribution.Keys.map((k) => at(event, k));
}

interface HandlerModule {
  handler: (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
}

let t: Tables;
let enforced: SeededKey;
let reported: SeededKey;
let rule: RuleBody;
const savedEnv = { ...process.env };
const outdirs = new TempOutdirs();

beforeAll(async () => {
  t = await makeTables('monitoring');
  await putOrgList(t, 'acme', list(true, '198.51.100.0/24'));
  await putOrgList(t, 'shadow', { ...list(false, '198.51.100.0/24'), reportOnly: true });
  enforced = await putKey(t, 'acme', 'web');
  reported = await putKey(t, 'shadow', 'web');

  const stack = newStack(outdirs);
  new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://upstream.example.com') }).addMonitoring();
  const { properties } = onlyResource(Template.fromStack(stack), 'AWS::CloudWatch::InsightRule');
  rule = JSON.parse(resolveToText(properties.RuleBody)) as RuleBody;
});

afterAll(() => {
  process.env = savedEnv;
  t.admin.destroy();
  outdirs.cleanup();
});

/** The deployed entry point, configured from the environment as the construct sets it. */
function loadHandler(): HandlerModule {
  Object.assign(process.env, {
    AWS_REGION: 'local',
    ...localTablesEnv({ allowlists: t.names.allowlists, apiKeys: t.names.apiKeys }),
    API_KEY_HEADER: 'authorization',
    MEMORY_CACHE_TTL_SECONDS: '0',
    POWERTOOLS_SERVICE_NAME: 'Test/Api/Authorizer',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  for (const name of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'POWERTOOLS_DEV', 'POWERTOOLS_LOG_LEVEL'])
    delete process.env[name];
  let mod: HandlerModule | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules loads synchronously, in its own registry
    mod = require('../../lambda/authorizer/index') as HandlerModule;
  });
  return mod!;
}

/** The log lines one request makes the real authorizer write. */
async function linesOf(event: APIGatewayRequestAuthorizerEvent): Promise<string[]> {
  const { handler } = loadHandler();
  const output = captureOutput();
  try {
    await handler(event);
    return output.lines();
  } finally {
    output.restore();
  }
}

test('the rule reads JSON lines', () => {
  expect(rule.LogFormat).toBe('JSON');
});

test('a request blocked by an enforced list counts once, under its (organizationId, sourceIp)', async () => {
  const lines = await linesOf(authorizerEvent({ key: enforced.key, sourceIp: '192.0.2.44' }));
  const counted = lines.map((l) => contributorOf(rule, l)).filter((c) => c !== undefined);
  expect(counted).toEqual([['acme', '192.0.2.44']]);
});

test('an IPv6 caller is counted under its address as the authorizer logs it', async () => {
  const lines = await linesOf(authorizerEvent({ key: enforced.key, sourceIp: '2001:db8::7' }));
  expect(lines.map((l) => contributorOf(rule, l)).filter((c) => c !== undefined)).toEqual([['acme', '2001:db8::7']]);
});

test.each([
  [
    'a request a report-only list would block (let through, logged as would_block)',
    () => ({ key: reported.key, sourceIp: '192.0.2.44' }),
  ],
  ['an unknown key', () => ({ key: 'cia_unknown.notakey', sourceIp: '192.0.2.44' })],
  ['a request without a key', () => ({ sourceIp: '192.0.2.44' })],
  ['an allowed request', () => ({ key: enforced.key, sourceIp: '198.51.100.7' })],
])('%s is not counted', async (_name, request) => {
  const lines = await linesOf(authorizerEvent(request()));
  expect(lines.map((l) => contributorOf(rule, l)).filter((c) => c !== undefined)).toEqual([]);
});

test('every request above but the allowed one writes a line (so "not counted" is the filter at work)', async () => {
  for (const request of [
    { key: reported.key, sourceIp: '192.0.2.44' },
    { key: 'cia_unknown.notakey', sourceIp: '192.0.2.44' },
    { sourceIp: '192.0.2.44' },
  ]) {
    const records = (await linesOf(authorizerEvent(request))).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([expect.objectContaining({ sourceIp: '192.0.2.44' })]);
  }
});
