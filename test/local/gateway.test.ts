import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalMode, RunningLocalMode } from '../../local/local-mode';
import { testEndpoint, uniquePrefix } from '../support/dynamodb-local';
import { FIXTURE_STAGE, synthGatewayFixture } from './fixtures/gateway-fixture';
import { bearer, call } from './support/http';

/*
 * The gateway emulator's semantics, one behaviour per test, through real HTTP on loopback against a stack
 * synthesized with plain aws-cdk-lib (fixtures/gateway-fixture.ts) whose test authorizer answers by token.
 */

let local: RunningLocalMode;
let upstream: http.Server;
let upstreamSeen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
let tmp: string;
let clockOffsetMs = 0;
const lambdaLines: string[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      upstreamSeen.push({ url: req.url ?? '', headers: req.headers, body });
      if (req.url?.startsWith('/hang')) return;
      res.writeHead(209, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
      res.end(`upstream got ${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-fixture-'));
  const synthesized = synthGatewayFixture({ outdir: path.join(tmp, 'cdk.out'), upstreamUrl });
  local = await startLocalMode({
    synthesized,
    stateDir: tmp,
    port: 0,
    adminPort: 0,
    dynamoDbEndpoint: testEndpoint(),
    tablePrefix: `${uniquePrefix('gw')}-`,
    seed: false,
    writeState: false,
    log: () => undefined,
    lambdaLog: (fn, line) => lambdaLines.push(`${fn}: ${line}`),
    now: () => Date.now() + clockOffsetMs,
    localUser: 'tester',
  });
});

afterAll(async () => {
  await local?.stop();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  // Each test starts with an empty authorizer cache and its own counters.
  local.gateway.flushAuthorizerCache();
  clockOffsetMs = 0;
  upstreamSeen = [];
});

const stats = () => ({ ...local.gateway.stats });
const url = (p: string) => `${local.url}${p}`;

describe('authorization', () => {
  test('an Allow passes the authorizer context to the Lambda proxy integration as strings', async () => {
    const res = await call(url('/one?x=1&x=2'), { headers: bearer('allow-all') });

    expect(res.status).toBe(200);
    expect(res.headers['x-echo']).toBe('yes');
    const { event } = res.json;
    expect(event.requestContext.authorizer).toMatchObject({
      principalId: 'user-all',
      org: 'org-1',
      n: '7',
      flag: 'true',
    });
    expect(event.requestContext.identity.sourceIp).toBe('127.0.0.1');
    expect(event.requestContext.stage).toBe(FIXTURE_STAGE);
    expect(event.resource).toBe('/one');
    expect(event.queryStringParameters).toEqual({ x: '2' });
    expect(event.multiValueQueryStringParameters).toEqual({ x: ['1', '2'] });
  });

  test('a missing or empty identity source is a 401 UNAUTHORIZED without calling the authorizer', async () => {
    const before = stats();

    const missing = await call(url('/one'));
    const empty = await call(url('/one'), { headers: { Authorization: '' } });

    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ error: { code: 'missing_api_key', gateway: 'Unauthorized' } });
    expect(empty.status).toBe(401);
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations);
  });

  test('an explicit Deny renders the ACCESS_DENIED response with $context.authorizer values escaped', async () => {
    const res = await call(url('/one'), { headers: bearer('deny') });

    expect(res.status).toBe(401);
    expect(res.headers['x-principal']).toBe('user-deny');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json).toEqual({
      error: {
        message: 'says "no"',
        principal: 'user-deny',
        type: 'ACCESS_DENIED',
        gateway: 'User is not authorized to access this resource with an explicit deny',
      },
    });

    // A Deny is cached like an Allow: the same key and IP again is answered without the authorizer.
    const before = stats();
    const again = await call(url('/one'), { headers: bearer('deny') });
    expect(again.status).toBe(401);
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations);
    expect(local.gateway.stats.authorizerCacheHits).toBe(before.authorizerCacheHits + 1);
  });

  test('an Allow for other resources only is an implicit deny', async () => {
    const res = await call(url('/one'), { headers: bearer('implicit') });

    expect(res.status).toBe(401);
    expect(res.json.error.gateway).toBe('User is not authorized to access this resource');
  });

  test('a cached policy for one method ARN does not open another path', async () => {
    const first = await call(url('/one'), { headers: bearer('allow-one') });
    const before = stats();

    const other = await call(url('/items/5'), { headers: bearer('allow-one') });
    const same = await call(url('/one'), { headers: bearer('allow-one') });

    expect(first.status).toBe(200);
    expect(other.status).toBe(401);
    expect(other.json.error.type).toBe('ACCESS_DENIED');
    expect(same.status).toBe(200);
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations);
    expect(local.gateway.stats.authorizerCacheHits).toBe(before.authorizerCacheHits + 2);
  });

  test('a cached stage-wide policy serves every method and path', async () => {
    const before = stats();

    const results = [];
    for (const [method, p] of [
      ['GET', '/one'],
      ['GET', '/items/7'],
      ['PUT', '/p/x/y'],
      ['POST', '/'],
    ]) {
      results.push(await call(url(p), { method, headers: bearer('allow-all') }));
    }

    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(results[1].json.event.pathParameters).toEqual({ id: '7' });
    expect(results[2].json.event.pathParameters).toEqual({ proxy: 'x/y' });
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations + 1);
    expect(local.gateway.stats.authorizerCacheHits).toBe(before.authorizerCacheHits + 3);
  });

  test('the cache is keyed by source IP too: another address is a separate decision', async () => {
    const before = stats();

    const a = await call(url('/one'), { headers: bearer('allow-all') });
    const b = await call(url('/one'), { headers: bearer('allow-all'), localAddress: '127.0.0.2' });
    const a2 = await call(url('/one'), { headers: bearer('allow-all') });

    expect(a.json.event.requestContext.authorizer.sourceIp).toBe('127.0.0.1');
    expect(b.json.event.requestContext.authorizer.sourceIp).toBe('127.0.0.2');
    expect(a2.json.event.requestContext.authorizer.sourceIp).toBe('127.0.0.1');
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations + 2);
  });

  test('the source IP is the TCP peer, over IPv6 too; X-Forwarded-For is appended to, never believed', async () => {
    const v4 = await call(url('/one'), {
      headers: { ...bearer('allow-all'), 'X-Forwarded-For': '203.0.113.9' },
      localAddress: '127.0.0.2',
    });
    const v6 = await call(`${local.urlIpv6}/one`, { headers: bearer('allow-all') });

    expect(v4.json.event.requestContext.identity.sourceIp).toBe('127.0.0.2');
    expect(v4.json.event.headers['X-Forwarded-For']).toBe('203.0.113.9, 127.0.0.2');
    expect(v6.json.event.requestContext.identity.sourceIp).toBe('::1');
  });

  test('a cached decision expires after the authorizer TTL', async () => {
    const before = stats();
    await call(url('/one'), { headers: bearer('allow-all') });
    clockOffsetMs = 299_000;
    await call(url('/one'), { headers: bearer('allow-all') });
    const afterHit = stats();

    clockOffsetMs = 301_000;
    await call(url('/one'), { headers: bearer('allow-all') });

    expect(afterHit.authorizerInvocations).toBe(before.authorizerInvocations + 1);
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations + 2);
  });

  test('a TTL of 0 calls the authorizer on every request', async () => {
    const before = stats();

    await call(url('/nocache'), { headers: bearer('allow-all') });
    await call(url('/nocache'), { headers: bearer('allow-all') });

    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations + 2);
  });

  test('FlushStageAuthorizersCache on the control endpoint empties the cache', async () => {
    await call(url('/one'), { headers: bearer('allow-all') });
    const before = stats();

    const flush = await call(
      `${local.controlUrl}/restapis/${local.gateway.api.apiId}/stages/${FIXTURE_STAGE}/cache/authorizers`,
      {
        method: 'DELETE',
      },
    );
    await call(url('/one'), { headers: bearer('allow-all') });

    expect(flush.status).toBe(202);
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations + 1);
  });

  test('the control endpoint refuses an unknown API or stage', async () => {
    const api = await call(`${local.controlUrl}/restapis/nope/stages/${FIXTURE_STAGE}/cache/authorizers`, {
      method: 'DELETE',
    });
    const stage = await call(`${local.controlUrl}/restapis/${local.gateway.api.apiId}/stages/nope/cache/authorizers`, {
      method: 'DELETE',
    });

    expect(api.status).toBe(404);
    expect(stage.status).toBe(404);
  });
});

describe('authorizer failures fail closed', () => {
  test.each([
    ['error', 'a thrown error', ''],
    ['invalid', 'an answer without a policy', 'policyDocument must be an object'],
    ['nested', 'a context with a nested object', 'context.nested must be a string, number or boolean'],
  ])('%s (%s) is the AUTHORIZER_CONFIGURATION_ERROR response, not cached', async (token, _what, why) => {
    const before = stats();
    // The gateway tells whoever runs it why it refused an answer, on stderr: captured here, not printed.
    let printed = '';
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed += String(chunk);
      return true;
    });

    const [first, second] = await (async () => {
      try {
        return [
          await call(url('/one'), { headers: bearer(token) }),
          await call(url('/one'), { headers: bearer(token) }),
        ];
      } finally {
        stderr.mockRestore();
      }
    })();

    if (why) expect(printed).toMatch(new RegExp(`^local gateway: invalid authorizer answer from \\w+: ${why}$`, 'm'));
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    expect(first.json.error.code).toBe('authorizer_unavailable');
    expect(first.json.error.requestId).toBe(first.headers['x-amzn-requestid']);
    expect(second.status).toBe(503);
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations + 2);
  });

  test('an authorizer past its Timeout is a 5xx', async () => {
    const res = await call(url('/one'), { headers: bearer('timeout') });

    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe('authorizer_unavailable');
  });

  test('an authorizer throwing "Unauthorized" is the UNAUTHORIZED response', async () => {
    const res = await call(url('/one'), { headers: bearer('unauthorized') });

    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('missing_api_key');
  });
});

describe('routing and integrations', () => {
  test('an unknown route is MISSING_AUTHENTICATION_TOKEN (403) before any authorizer runs', async () => {
    const before = stats();

    const res = await call(url('/nothing/here'), { headers: bearer('allow-all') });

    expect(res.status).toBe(403);
    expect(res.json).toEqual({ message: 'Missing Authentication Token' });
    expect(local.gateway.stats.authorizerInvocations).toBe(before.authorizerInvocations);
  });

  test('a method without authorization reaches the integration with no authorizer context', async () => {
    const res = await call(url('/open'));

    expect(res.status).toBe(200);
    expect(res.json.event.requestContext.authorizer).toBeUndefined();
  });

  test('each Lambda runs with its own resolved environment', async () => {
    const res = await call(url('/one'), { headers: bearer('allow-all') });

    expect(res.json.event.requestContext.authorizer.stageVar).toBe('authorizer');
    expect(res.json.env.marker).toBe('echo');
    expect(res.json.env.table).toBe(Object.entries(local.tables).find(([id]) => id.startsWith('Things'))?.[1]);
    expect(res.json.env.region).toBe(local.model.region);
  });

  test('a malformed Lambda proxy result or a Lambda error is a 502 Internal server error', async () => {
    const malformed = await call(url('/malformed'), { headers: bearer('allow-all') });
    const throws = await call(url('/throws'), { headers: bearer('allow-all') });

    expect(malformed.status).toBe(502);
    expect(malformed.json).toEqual({ message: 'Internal server error' });
    expect(throws.status).toBe(502);
  });

  test('the HTTP proxy maps context.authorizer values into integration request headers', async () => {
    const res = await call(url('/up/things/1?q=a%20b'), {
      method: 'POST',
      headers: { ...bearer('allow-all'), 'X-Organization-Id': 'forged', 'Content-Type': 'text/plain' },
      body: 'hello',
    });

    expect(res.status).toBe(209);
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.text).toBe('upstream got POST /things/1?q=a+b');
    expect(upstreamSeen).toHaveLength(1);
    expect(upstreamSeen[0].headers['x-organization-id']).toBe('org-1');
    expect(upstreamSeen[0].headers['x-principal']).toBe('user-all');
    expect(upstreamSeen[0].body).toBe('hello');
  });

  test('AWS_IAM methods are not signature-checked locally: the caller is local:<user>', async () => {
    const named = await call(`${local.adminUrl}/whoami`, { headers: { 'x-local-user': 'alice' } });
    const unnamed = await call(`${local.adminUrl}/whoami`);

    expect(named.status).toBe(200);
    expect(named.json.event.requestContext.identity.userArn).toBe('local:alice');
    expect(unnamed.json.event.requestContext.identity.userArn).toBe('local:tester');
  });

  test('an integration that does not answer within its timeout is INTEGRATION_TIMEOUT (504)', async () => {
    const res = await call(url('/slow'), { headers: bearer('allow-all') });

    expect(res.status).toBe(504);
    expect(res.json).toEqual({ message: 'Endpoint request timed out' });
    expect(upstreamSeen.map((r) => r.url)).toEqual(['/hang']);
  });

  test('a request body over 10 MB is REQUEST_TOO_LARGE', async () => {
    const res = await call(url('/one'), {
      method: 'POST',
      headers: bearer('allow-all'),
      body: 'x'.repeat(10 * 1024 * 1024 + 1),
    });

    expect(res.status).toBe(413);
  });
});
