import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ADMIN_DYNAMODB_CLIENT } from '../../../lambda/adapters/admin-store';
import { hashApiKey } from '../../../lambda/core/api-key';
import { localClient, testEndpoint } from '../../support/dynamodb-local';
import { DynamoDbProxy, startDynamoDbProxy } from '../../support/dynamodb-proxy';
import type { AllowlistEntryView } from '../../../lambda/admin/contract/schemas';
import {
  expectError,
  FakeControlPlane,
  FLUSH_PATH,
  Harness,
  makeHarness,
  Reply,
  startFakeControlPlane,
} from './fixtures';

/**
 * A commit whose answer is lost (held, reset) may have been applied. The admin API resolves it before answering:
 * a committed change answers success (and flushes), a create-key that committed returns its secret, only a change
 * known not applied says "nothing was changed", and when it cannot be known the 503 says so and where to look.
 * DynamoDB Local sits behind a loopback TCP proxy that injects the faults.
 */

const STAGE = { restApiId: 'ambig12345', stageName: 'prod' };
const ORG = 'ambig';
const LIST = `/v1/organizations/${ORG}/projects/web/ip_allowlist`;
const KEYS = `/v1/organizations/${ORG}/projects/web/api_keys`;

let proxy: DynamoDbProxy;
let plane: FakeControlPlane;

beforeAll(async () => {
  proxy = await startDynamoDbProxy(testEndpoint());
  plane = await startFakeControlPlane();
});

afterAll(async () => {
  await proxy.close();
  await plane.close();
});

beforeEach(() => {
  plane.requests.length = 0;
});

// Before the next describe's beforeAll, which runs ahead of any beforeEach.
afterEach(() => proxy.clear());

/** The admin Lambda's client settings, or shorter timeouts so a held reply costs less test time. */
function clientThroughProxy(requestTimeoutMs: number = ADMIN_DYNAMODB_CLIENT.requestTimeoutMs): DynamoDBClient {
  return localClient(proxy.endpoint, {
    maxAttempts: ADMIN_DYNAMODB_CLIENT.maxAttempts,
    requestHandler: {
      connectionTimeout: ADMIN_DYNAMODB_CLIENT.connectionTimeoutMs,
      requestTimeout: requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}

async function harness(
  label: string,
  requestTimeoutMs?: number,
  propagationDelaySeconds = 60,
): Promise<{ h: Harness; client: DynamoDBClient }> {
  const client = clientThroughProxy(requestTimeoutMs);
  const h = await makeHarness(label, {
    handlerClient: client,
    protectedStages: [STAGE],
    flusher: plane.flusher([STAGE], { info: () => undefined, warn: () => undefined, error: () => undefined } as never),
    propagationDelaySeconds,
    memoryCacheTtlSeconds: 0,
  });
  return { h, client };
}

async function seed(h: Harness): Promise<string> {
  expect((await h.call('PUT', LIST, { body: { entries: ['192.0.2.1', '192.0.2.2'], enabled: true } })).status).toBe(
    200,
  );
  const key = await h.call('POST', KEYS, { body: { name: 'backend' } });
  expect(key.status).toBe(201);
  return key.body.id;
}

const FLUSHED = { method: 'DELETE', url: FLUSH_PATH(STAGE.restApiId, STAGE.stageName) };

/** The five writes of the issue, each with how to see that its change is in the table. */
function writes(keyId: () => string) {
  return [
    { name: 'remove entry', method: 'DELETE', path: `${LIST}/entries/192.0.2.1`, action: 'ip_allowlist.entry.delete' },
    {
      name: 'add entry',
      method: 'POST',
      path: `${LIST}/entries`,
      body: { value: '192.0.2.3' },
      action: 'ip_allowlist.entries.add',
    },
    { name: 'disable', method: 'POST', path: `${LIST}/disable`, action: 'ip_allowlist.disable' },
    { name: 'revoke', method: 'DELETE', path: () => `${KEYS}/${keyId()}`, action: 'api_key.revoke' },
    { name: 'create key', method: 'POST', path: KEYS, body: { name: 'second' }, action: 'api_key.create' },
  ] as const;
}

async function auditCount(h: Harness, action: string): Promise<number> {
  return (await h.auditRecords(ORG)).filter((r) => r.action === action).length;
}

/** `res` answered success, flushed, and added exactly one audit record of `action` to the `recordsBefore`. */
async function expectCommittedOnce(h: Harness, res: Reply, action: string, recordsBefore = 0) {
  expect(res.status === 200 || res.status === 201 ? res.status : res.body).toBe(
    action === 'api_key.create' ? 201 : 200,
  );
  expect(res.body.propagation).toEqual({ flushed: true, maxDelaySeconds: 0 });
  expect(await auditCount(h, action)).toBe(recordsBefore + 1);
  // At once, and again after the authorizer's decision age bound (lambda/admin/writes.ts).
  expect(plane.requests).toEqual([FLUSHED, FLUSHED]);
}

/** The state each write leaves, read straight from DynamoDB Local (not through the proxy). */
async function expectApplied(h: Harness, action: string, body: { key?: string; id?: string }, keyId: string) {
  const list = (await h.call('GET', LIST)).body;
  if (action === 'ip_allowlist.entry.delete')
    expect(list.entries.map((e: AllowlistEntryView) => e.value)).toEqual(['192.0.2.2/32']);
  if (action === 'ip_allowlist.entries.add')
    expect(list.entries.map((e: AllowlistEntryView) => e.value)).toContain('192.0.2.3/32');
  if (action === 'ip_allowlist.disable') expect(list.enabled).toBe(false);
  if (action === 'api_key.revoke') expect((await h.call('GET', `${KEYS}/${keyId}`)).body.status).toBe('revoked');
  if (action === 'api_key.create') {
    // The secret returned is the one whose hash was stored: the key works.
    const stored = await h.ddb.send(
      new GetItemCommand({ TableName: h.names.apiKeys, Key: { keyHash: { S: hashApiKey(body.key ?? '') } } }),
    );
    expect(stored.Item?.keyId?.S).toBe(body.id);
    expect(stored.Item?.status?.S).toBe('active');
  }
}

describe("the issue's reproduction: every commit reply held 2.5 s, the admin Lambda's own client settings", () => {
  let h: Harness;
  let client: DynamoDBClient;
  let keyId = '';

  beforeAll(async () => {
    ({ h, client } = await harness('ambig-held'));
    keyId = await seed(h);
  });

  afterAll(() => {
    h.destroy();
    client.destroy();
  });

  for (const w of writes(() => keyId)) {
    test(`${w.name}: answers success, flushes, one audit record`, async () => {
      const recordsBefore = await auditCount(h, w.action);
      proxy.inject({ operation: 'TransactWriteItems', delayMs: ADMIN_DYNAMODB_CLIENT.requestTimeoutMs + 500 });
      const res = await h.call(w.method, typeof w.path === 'function' ? w.path() : w.path, {
        body: 'body' in w ? w.body : undefined,
      });
      await expectCommittedOnce(h, res, w.action, recordsBefore);
      await expectApplied(h, w.action, res.body, keyId);
      expect(
        h.logger.records.some((r) => r.message.startsWith('commit answer lost') && r.extra.organizationId === ORG),
      ).toBe(true);
    });
  }
});

describe('retries of a commit whose first attempt was applied', () => {
  let h: Harness;
  let client: DynamoDBClient;
  let keyId = '';

  beforeAll(async () => {
    ({ h, client } = await harness('ambig-retry', 300));
    keyId = await seed(h);
  });

  afterAll(() => {
    h.destroy();
    client.destroy();
  });

  test('the SDK retry after a reset reply is deduplicated by the ClientRequestToken: no false 412, one record', async () => {
    const version = (await h.call('GET', LIST)).body.version;
    proxy.inject({ operation: 'TransactWriteItems', dropReply: true, times: 1 });
    const res = await h.call('POST', `${LIST}/entries`, {
      body: { value: '192.0.2.10' },
      headers: { 'If-Match': `"${version}"` },
    });
    await expectCommittedOnce(h, res, 'ip_allowlist.entries.add');
    expect(res.body.version).toBe(version + 1);
    const sent = proxy.exchanges.filter((r) => r.operation === 'TransactWriteItems').slice(-2);
    expect(sent).toHaveLength(2);
    expect(JSON.parse(sent[0].body).ClientRequestToken).toBe(JSON.parse(sent[1].body).ClientRequestToken);
  });

  test('when DynamoDB no longer knows the token, the audit record is the witness: no false 409, one record', async () => {
    proxy.inject({ operation: 'TransactWriteItems', dropReply: true, times: 1 });
    proxy.inject({ operation: 'TransactWriteItems', forgetToken: true, times: 1 });
    const before = (await h.call('GET', LIST)).body.version;
    const res = await h.call('DELETE', `${LIST}/entries/192.0.2.10`);
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(before + 1);
    expect((await h.auditRecords(ORG)).filter((r) => r.action === 'ip_allowlist.entry.delete')).toHaveLength(1);
  });

  test('a revoke retried after its reply was reset is not a false "already revoked"', async () => {
    proxy.inject({ operation: 'TransactWriteItems', dropReply: true, times: 1 });
    proxy.inject({ operation: 'TransactWriteItems', forgetToken: true, times: 1 });
    const res = await h.call('DELETE', `${KEYS}/${keyId}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('revoked');
    expect(await auditCount(h, 'api_key.revoke')).toBe(1);
  });
});

describe('resolving the outcome', () => {
  let h: Harness;
  let client: DynamoDBClient;

  beforeAll(async () => {
    ({ h, client } = await harness('ambig-resolve', 300));
    await seed(h);
  });

  afterAll(() => {
    h.destroy();
    client.destroy();
  });

  test('a commit that never reached DynamoDB (both attempts reset) is sent again and applied once', async () => {
    proxy.inject({ operation: 'TransactWriteItems', refuse: true, times: 2 });
    const res = await h.call('POST', `${LIST}/entries`, { body: { value: '192.0.2.20' } });
    await expectCommittedOnce(h, res, 'ip_allowlist.entries.add');
    expect(h.logger.records.map((r) => r.message)).toContain('commit answer lost; re-sending it committed it (once)');
    expect((await h.call('GET', LIST)).body.entries.map((e: AllowlistEntryView) => e.value)).toContain('192.0.2.20/32');
  });

  test('a re-send cancelled because another change landed meanwhile is final: the change is re-applied on top', async () => {
    const version = (await h.call('GET', LIST)).body.version;
    const recordsBefore = await auditCount(h, 'ip_allowlist.entries.add');
    // A's commit never reaches DynamoDB (both attempts reset); its audit read is held while B commits.
    proxy.inject({ operation: 'TransactWriteItems', refuse: true, times: 2 });
    proxy.inject({ operation: 'GetItem', bodyIncludes: h.names.auditLog, delayMs: 1000, times: 1 });
    const seen = proxy.exchanges.length;
    const a = h.call('POST', `${LIST}/entries`, { body: { value: '192.0.2.40' } });
    while (!proxy.exchanges.slice(seen).some((e) => e.operation === 'GetItem' && e.body.includes(h.names.auditLog))) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const b = await h.call('POST', `${LIST}/entries`, { body: { value: '192.0.2.41' } });
    expect(b.body.version).toBe(version + 1);
    const res = await a;
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(version + 2);
    expect(res.body.entries.map((e: AllowlistEntryView) => e.value)).toEqual(
      expect.arrayContaining(['192.0.2.40/32', '192.0.2.41/32']),
    );
    expect(await auditCount(h, 'ip_allowlist.entries.add')).toBe(recordsBefore + 2);
    expect(h.logger.records.map((r) => r.message)).toContain(
      'commit answer lost; the re-send shows it did not commit and no longer can',
    );
  });

  test('commit requests still in flight when the outcome is resolved are applied at most once', async () => {
    const version = (await h.call('GET', LIST)).body.version;
    const recordsBefore = await auditCount(h, 'ip_allowlist.entries.add');
    // Both SDK attempts reach DynamoDB 1.5 s late, long after the client gave up on them; even with the token
    // forgotten by then, their conditions no longer hold once the re-send has committed.
    proxy.inject({ operation: 'TransactWriteItems', holdRequestMs: 1500, forgetToken: true, times: 2 });
    const res = await h.call('POST', `${LIST}/entries`, { body: { value: '192.0.2.30' } });
    await expectCommittedOnce(h, res, 'ip_allowlist.entries.add', recordsBefore);
    await new Promise((r) => setTimeout(r, 1800));
    expect((await h.call('GET', LIST)).body.version).toBe(version + 1);
    expect(await auditCount(h, 'ip_allowlist.entries.add')).toBe(recordsBefore + 1);
  });

  test('unanswered commit, unanswered re-send, unreadable audit log: an honest 503 naming the event to look for', async () => {
    const version = (await h.call('GET', LIST)).body.version;
    proxy.inject({ operation: 'TransactWriteItems', refuse: true });
    proxy.inject({ operation: 'GetItem', bodyIncludes: h.names.auditLog, refuse: true });
    const res = await h.call('POST', `${LIST}/entries`, { body: { value: '192.0.2.21' } });
    proxy.clear();
    const error = expectError(res, 503, 'write_outcome_unknown');
    expect(error.message).not.toMatch(/nothing was changed/i);
    expect(error.message).toMatch(/may or may not have been saved/);
    const eventId = /audit log has event (\S+) /.exec(String(error.message))?.[1];
    expect(eventId).toMatch(/^\d{4}-\d\d-\d\dT.*#/);
    expect(error.message).toContain(`/v1/organizations/${ORG}/audit_log`);
    expect(res.headers['Retry-After']).toBeUndefined();
    // Propagated as a success would be, in case it was saved: flushed, and the message says so.
    expect(plane.requests).toEqual([FLUSHED, FLUSHED]);
    expect(error.message).toMatch(
      /If it was saved, it applies within 60 s of being saved; the authorizer caches were flushed/,
    );
    // Here it was in fact not applied (the proxy never forwarded it), and the event id is indeed absent.
    expect((await h.call('GET', LIST)).body.version).toBe(version);
    expect((await h.auditRecords(ORG)).map((r) => r.eventId)).not.toContain(eventId);
  });

  test('a reply lost, the audit read failing, but the re-send answered: success, one record', async () => {
    proxy.inject({ operation: 'TransactWriteItems', dropReply: true, times: 2 });
    proxy.inject({ operation: 'GetItem', bodyIncludes: h.names.auditLog, refuse: true, times: 2 });
    const res = await h.call('POST', `${LIST}/disable`);
    await expectCommittedOnce(h, res, 'ip_allowlist.disable');
  });

  test('a commit DynamoDB refused (throttled on every attempt) is known not applied: 503 "nothing was changed"', async () => {
    // A refusal is an HTTP answer: the proxy answers with DynamoDB's throttling error instead of forwarding.
    proxy.inject({ operation: 'TransactWriteItems', refuseWith: 'ThrottlingException' });
    const sentBefore = proxy.exchanges.length;
    const res = await h.call('POST', KEYS, { body: { name: 'throttled' } });
    const error = expectError(res, 503, 'storage_unavailable');
    expect(error.message).toMatch(/Nothing was changed/);
    expect(proxy.exchanges.slice(sentBefore).map((r) => r.operation)).toEqual([
      'TransactWriteItems',
      'TransactWriteItems',
    ]);
    expect((await h.auditRecords(ORG)).filter((r) => JSON.stringify(r.after).includes('throttled'))).toEqual([]);
  });

  test('a throttled retry of an unanswered attempt is not proof of anything: resolved through the audit record', async () => {
    proxy.inject({ operation: 'TransactWriteItems', dropReply: true, times: 1 });
    proxy.inject({ operation: 'TransactWriteItems', refuseWith: 'ThrottlingException', times: 1 });
    const res = await h.call('POST', `${LIST}/enable`);
    await expectCommittedOnce(h, res, 'ip_allowlist.enable');
  });

  // Last: it leaves a disable and an enable record that the tests above count.
  test('a disable that committed but could not be confirmed is flushed before the 503 answers', async () => {
    // Every commit reply is reset after DynamoDB applied it, and every audit read is refused.
    proxy.inject({ operation: 'TransactWriteItems', dropReply: true });
    proxy.inject({ operation: 'GetItem', bodyIncludes: h.names.auditLog, refuse: true });
    const res = await h.call('POST', `${LIST}/disable`);
    proxy.clear();
    const error = expectError(res, 503, 'write_outcome_unknown');
    // It was in fact saved, once, and the authorizer caches were flushed after it (twice, as for a success).
    expect((await h.call('GET', LIST)).body.enabled).toBe(false);
    const eventId = /audit log has event (\S+) /.exec(String(error.message))?.[1];
    expect((await h.auditRecords(ORG)).map((r) => r.eventId)).toContain(eventId);
    expect(plane.requests).toEqual([FLUSHED, FLUSHED]);
    expect(error.message).toMatch(
      /If it was saved, it applies within 60 s of being saved; the authorizer caches were flushed before this answer/,
    );
    expect((await h.call('POST', `${LIST}/enable`)).status).toBe(200);
  });
});

describe('the delay an unknown outcome states is the one every other answer reports', () => {
  let h: Harness;
  let client: DynamoDBClient;

  beforeAll(async () => {
    ({ h, client } = await harness('ambig-p0', 300, 0));
    await seed(h);
  });

  afterAll(() => {
    h.destroy();
    client.destroy();
  });

  test('propagation delay 0: the 503 says 1 s (the decision age bound), as a read of the list does', async () => {
    // P = 0 gives the gateway no TTL, but a decision read before the commit may still be returned for up to the
    // authorizer's decision age bound B = 1 s after it: the worst case is max(P, g + B) = 1 s, not P.
    const reported = (await h.call('GET', LIST)).body.propagationDelaySeconds;
    expect(reported).toBe(1);
    proxy.inject({ operation: 'TransactWriteItems', refuse: true });
    proxy.inject({ operation: 'GetItem', bodyIncludes: h.names.auditLog, refuse: true });
    const res = await h.call('POST', `${LIST}/entries`, { body: { value: '192.0.2.31' } });
    proxy.clear();
    const error = expectError(res, 503, 'write_outcome_unknown');
    expect(error.message).toContain(`If it was saved, it applies within ${reported} s of being saved;`);
  });
});
