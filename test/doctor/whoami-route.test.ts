import { AdminStore } from '../../lambda/adapters/admin-store';
import { NO_STAGE_FLUSHER } from '../../lambda/adapters/stage-cache';
import { createAdminHandler } from '../../lambda/admin/app';
import { freePort, localClient } from '../support/dynamodb-local';
import { ADMIN_ARN, proxyEvent, recordingLogger } from '../lambda/admin/fixtures';

/*
 * GET /v1/whoami through the real admin handler. Its store points at a port where nothing listens: the route
 * reads no storage, so it still answers (any read would be a 503 storage_unavailable).
 */

let handler: ReturnType<typeof createAdminHandler>;
let ddb: ReturnType<typeof localClient>;

beforeAll(async () => {
  ddb = localClient(`http://127.0.0.1:${await freePort()}`);
  const logger = recordingLogger();
  handler = createAdminHandler({
    store: new AdminStore(ddb, { allowlists: 'a', apiKeys: 'k', auditLog: 'l' }, logger),
    flusher: NO_STAGE_FLUSHER,
    config: { maxEntries: 50, propagationDelaySeconds: 300, memoryCacheTtlSeconds: 0, maxDecisionAgeSeconds: 1 },
    logger,
  });
});

afterAll(() => ddb.destroy());

async function whoamiFrom(sourceIp: string, identity: { userArn?: string | null; caller?: string | null } = {}) {
  const event = proxyEvent('GET', '/v1/whoami', identity);
  event.requestContext.identity.sourceIp = sourceIp;
  const res = await handler(event);
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown> };
}

test.each([
  ['203.0.113.7', '203.0.113.7', 'ipv4'],
  ['2001:db8::7', '2001:db8::7', 'ipv6'],
  // Folded as the authorizer folds it: a dual-stack socket reports an IPv4 caller as IPv4-mapped IPv6.
  ['::ffff:203.0.113.7', '203.0.113.7', 'ipv4'],
  ['2001:DB8:0:0::7', '2001:db8::7', 'ipv6'],
])('sourceIp %s: ip %s, family %s, and the IAM principal', async (sourceIp, ip, family) => {
  const res = await whoamiFrom(sourceIp);

  expect(res).toEqual({
    status: 200,
    body: { object: 'whoami', sourceIp, ip, family, principal: ADMIN_ARN },
  });
});

test("a sourceIp that is not an address (the console's test invocation) is reported as such, not guessed", async () => {
  const res = await whoamiFrom('test-invoke-source-ip');

  expect(res.body).toMatchObject({ sourceIp: 'test-invoke-source-ip', ip: null, family: null });
});

test('without a userArn the principal is the caller, as in the audit log', async () => {
  const res = await whoamiFrom('192.0.2.1', { userArn: null, caller: 'AROAEXAMPLE:session' });

  expect(res.body.principal).toBe('AROAEXAMPLE:session');
});

test('it takes no body and no query parameter, and only GET', async () => {
  const withQuery = proxyEvent('GET', '/v1/whoami', { query: { ip: '192.0.2.1' } });
  const post = proxyEvent('POST', '/v1/whoami');

  const [q, p] = await Promise.all([handler(withQuery), handler(post)]);

  expect([q.statusCode, JSON.parse(q.body).error.code]).toEqual([400, 'unknown_parameter']);
  expect([p.statusCode, JSON.parse(p.body).error.code]).toEqual([405, 'method_not_allowed']);
});
