import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ADMIN_DYNAMODB_CLIENT } from '../../../lambda/adapters/admin-store';
import { localClient, testEndpoint } from '../../support/dynamodb-local';
import { DynamoDbProxy, startDynamoDbProxy } from '../../support/dynamodb-proxy';
import { expectError, FakeControlPlane, FLUSH_PATH, Harness, makeHarness, startFakeControlPlane } from './fixtures';

/**
 * A TransactionCanceledException whose only reason is TransactionConflict means another transaction holds an item.
 * After an unanswered attempt that other transaction may be our own attempt, still able to commit: it is not proof
 * that nothing changed (only our version/status condition failing is). DynamoDB Local does not produce
 * TransactionConflict on demand, so the proxy answers with it in DynamoDB's place.
 */

const STAGE = { restApiId: 'txconf1234', stageName: 'prod' };
const ORG = 'txconf';
const LIST = `/v1/organizations/${ORG}/projects/web/ip_allowlist`;
const KEYS = `/v1/organizations/${ORG}/projects/web/api_keys`;
const FLUSHED = { method: 'DELETE', url: FLUSH_PATH(STAGE.restApiId, STAGE.stageName) };
const CONFLICT = {
  operation: 'TransactWriteItems',
  refuseWith: 'TransactionCanceledException',
  cancellationReasons: ['TransactionConflict', 'None'],
};

let proxy: DynamoDbProxy;
let plane: FakeControlPlane;
let h: Harness;
let client: DynamoDBClient;
let keyId = '';

beforeAll(async () => {
  proxy = await startDynamoDbProxy(testEndpoint());
  plane = await startFakeControlPlane();
  client = localClient(proxy.endpoint, {
    maxAttempts: ADMIN_DYNAMODB_CLIENT.maxAttempts,
    requestHandler: {
      connectionTimeout: ADMIN_DYNAMODB_CLIENT.connectionTimeoutMs,
      requestTimeout: 300,
      throwOnRequestTimeout: true,
    },
  });
  h = await makeHarness('txconf', {
    handlerClient: client,
    protectedStages: [STAGE],
    flusher: plane.flusher([STAGE], { info: () => undefined, warn: () => undefined, error: () => undefined } as never),
    propagationDelaySeconds: 60,
    memoryCacheTtlSeconds: 0,
  });
  expect((await h.call('PUT', LIST, { body: { entries: ['192.0.2.1'], enabled: true } })).status).toBe(200);
  const key = await h.call('POST', KEYS, { body: { name: 'backend' } });
  expect(key.status).toBe(201);
  keyId = key.body.id;
});

afterAll(async () => {
  h.destroy();
  client.destroy();
  await proxy.close();
  await plane.close();
});

beforeEach(() => {
  plane.requests.length = 0;
});

afterEach(() => proxy.clear());

async function auditCount(action: string): Promise<number> {
  return (await h.auditRecords(ORG)).filter((r) => r.action === action).length;
}

const writes = [
  { name: 'disable', method: 'POST', path: () => `${LIST}/disable`, action: 'ip_allowlist.disable' },
  { name: 'revoke', method: 'DELETE', path: () => `${KEYS}/${keyId}`, action: 'api_key.revoke' },
  {
    name: 'add entry',
    method: 'POST',
    path: () => `${LIST}/entries`,
    body: { value: '192.0.2.9' },
    action: 'ip_allowlist.entries.add',
  },
] as const;

describe('attempt errors [reply lost, cancelled{TransactionConflict}]', () => {
  for (const w of writes) {
    test(`${w.name}: resolved through the audit record: success, flushed, one audit record, no conflict retry`, async () => {
      const before = await auditCount(w.action);
      // The first attempt is applied but its reply is lost; the SDK's retry is cancelled for a conflict.
      proxy.inject({ operation: 'TransactWriteItems', dropReply: true, times: 1 });
      proxy.inject({ ...CONFLICT, times: 1 });
      const res = await h.call(w.method, w.path(), { body: 'body' in w ? w.body : undefined });
      expect(res.status === 200 ? res.status : res.body).toBe(200);
      expect(res.body.propagation).toEqual({ flushed: true, maxDelaySeconds: 0 });
      expect(await auditCount(w.action)).toBe(before + 1);
      expect(plane.requests).toEqual([FLUSHED, FLUSHED]);
      expect(h.logger.records.map((r) => r.message)).not.toContain('write conflict, retrying against fresh state');
    });
  }
});

test('an unanswered attempt whose re-send is cancelled for TransactionConflict, audit record absent: unknown, not a 409', async () => {
  const version = (await h.call('GET', LIST)).body.version;
  // Neither SDK attempt reaches DynamoDB, but the client cannot know that (reset connections); the re-send
  // is cancelled for a conflict on both of its attempts.
  proxy.inject({ operation: 'TransactWriteItems', refuse: true, times: 2 });
  proxy.inject({ ...CONFLICT });
  const res = await h.call('POST', `${LIST}/entries`, { body: { value: '192.0.2.10' } });
  proxy.clear();
  expectError(res, 503, 'write_outcome_unknown');
  expect(h.logger.records.map((r) => r.message)).not.toContain('write conflict, retrying against fresh state');
  expect((await h.call('GET', LIST)).body.version).toBe(version);
});

test('a TransactionConflict cancellation with no earlier unanswered attempt is final: retried against fresh state', async () => {
  const before = await auditCount('ip_allowlist.enable');
  proxy.inject({ ...CONFLICT, times: 1 });
  const res = await h.call('POST', `${LIST}/enable`);
  expect(res.status).toBe(200);
  expect(await auditCount('ip_allowlist.enable')).toBe(before + 1);
  expect(h.logger.records.map((r) => r.message)).toContain('write conflict, retrying against fresh state');
});

test('a cancellation for our own condition after an unanswered attempt is final (not unknown)', async () => {
  const before = await auditCount('ip_allowlist.entries.add');
  proxy.inject({ operation: 'TransactWriteItems', refuse: true, times: 1 });
  proxy.inject({
    operation: 'TransactWriteItems',
    refuseWith: 'TransactionCanceledException',
    cancellationReasons: ['ConditionalCheckFailed', 'None'],
    times: 1,
  });
  const res = await h.call('POST', `${LIST}/entries`, { body: { value: '192.0.2.11' } });
  expect(res.status).toBe(200);
  expect(await auditCount('ip_allowlist.entries.add')).toBe(before + 1);
  expect(h.logger.records.map((r) => r.message)).toContain('write conflict, retrying against fresh state');
});
