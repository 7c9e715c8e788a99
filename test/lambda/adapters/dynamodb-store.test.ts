import { AddressInfo, createServer } from 'node:net';
import {
  AttributeValue,
  BatchGetItemCommandInput,
  BatchGetItemCommandOutput,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { AuthorizerStoreError, DynamoDbAuthorizerStore } from '../../../lambda/adapters/dynamodb-store';
import { generateApiKey } from '../../../lambda/core/api-key';
import { EMPTY_ALLOWLIST } from '../../../lambda/core/model';
import { localClient } from '../../support/dynamodb-local';
import {
  CountingClient,
  countingClient,
  list,
  makeTables,
  putKey,
  putOrgList,
  putProjectList,
  SeededKey,
  Tables,
} from '../authorizer/fixtures';

/** The authorizer's read side against DynamoDB Local with the real SDK. */

let t: Tables;
let ddb: CountingClient;
let key: SeededKey;

beforeAll(async () => {
  t = await makeTables('store');
  ddb = countingClient();
  await putOrgList(t, 'acme', list(true, '198.51.100.0/24'));
  await putProjectList(t, 'acme', 'web', list(false, '203.0.113.0/24'));
  key = await putKey(t, 'acme', 'web', { allowlist: list(true, '198.51.100.7/32') });
});

afterAll(() => {
  ddb.client.destroy();
  t.admin.destroy();
});

beforeEach(() => ddb.reset());

function store(
  overrides: Partial<ConstructorParameters<typeof DynamoDbAuthorizerStore>[0]> = {},
): DynamoDbAuthorizerStore {
  return new DynamoDbAuthorizerStore({
    client: ddb.client,
    allowlistsTableName: t.names.allowlists,
    apiKeysTableName: t.names.apiKeys,
    retryBaseDelayMs: 1,
    ...overrides,
  });
}

const ALL = { organizationId: 'acme', projectId: 'web', organizationList: true, projectList: true };

test('the key record and both lists come back from one strongly consistent BatchGetItem', async () => {
  const result = await store().read({ ...ALL, keyHash: key.keyHash });
  expect(ddb.roundTrips()).toBe(1);
  expect(ddb.commands).toEqual({ BatchGetItemCommand: 1 });
  expect(Object.values(ddb.batchGets[0].RequestItems!).map((r) => r.ConsistentRead)).toEqual([true, true]);
  expect(result.key).toMatchObject({
    keyHash: key.keyHash,
    keyId: key.keyId,
    organizationId: 'acme',
    projectId: 'web',
    status: 'active',
    allowlist: { enabled: true, entries: [expect.objectContaining({ value: '198.51.100.7/32' })] },
  });
  expect(result.organizationList).toMatchObject({
    enabled: true,
    entries: [expect.objectContaining({ value: '198.51.100.0/24' })],
  });
  expect(result.projectList).toMatchObject({
    enabled: false,
    entries: [expect.objectContaining({ value: '203.0.113.0/24' })],
  });
});

test('no item: the key is null and a list is the empty disabled list', async () => {
  const unknown = generateApiKey({ organizationId: 'nobody', projectId: 'none' });
  const result = await store().read({
    organizationId: 'nobody',
    projectId: 'none',
    organizationList: true,
    projectList: true,
    keyHash: unknown.keyHash,
  });
  expect(result).toEqual({
    key: null,
    organizationList: EMPTY_ALLOWLIST,
    projectList: EMPTY_ALLOWLIST,
    organizationListStored: false,
    projectListStored: false,
  });
});

test('only the requested parts are read, and nothing requested means no call', async () => {
  const s = store();
  expect(await s.read({ ...ALL, keyHash: key.keyHash, organizationList: false, projectList: false })).toEqual({
    key: expect.objectContaining({ keyId: key.keyId }),
  });
  expect(Object.keys(ddb.batchGets[0].RequestItems!)).toEqual([t.names.apiKeys]);
  expect(Object.keys(await s.read({ ...ALL, organizationList: false }))).toEqual(['projectList', 'projectListStored']);
  expect(ddb.batchGets[1].RequestItems![t.names.allowlists].Keys).toHaveLength(1);
  ddb.reset();
  expect(await s.read({ ...ALL, organizationList: false, projectList: false })).toEqual({});
  expect(ddb.roundTrips()).toBe(0);
});

describe('unprocessed keys (throttling)', () => {
  /** Makes DynamoDB Local's answer look throttled: the first `times` responses return every key as unprocessed. */
  function throttle(times: number): CountingClient {
    const c = countingClient();
    let left = times;
    c.client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        if (left > 0) {
          left -= 1;
          const output = out.output as BatchGetItemCommandOutput;
          output.Responses = {};
          output.UnprocessedKeys = (args.input as BatchGetItemCommandInput).RequestItems;
        }
        return out;
      },
      { step: 'initialize', name: 'throttle', priority: 'low' },
    );
    return c;
  }

  test('are requested again until all are read', async () => {
    const c = throttle(2);
    try {
      const result = await store({ client: c.client }).read({ ...ALL, keyHash: key.keyHash });
      expect(result.key?.keyId).toBe(key.keyId);
      expect(result.organizationList?.enabled).toBe(true);
      expect(c.commands.BatchGetItemCommand).toBe(3);
    } finally {
      c.client.destroy();
    }
  });

  test('still unprocessed after the retries: an error, never a partial result', async () => {
    const c = throttle(100);
    try {
      await expect(
        store({ client: c.client, maxUnprocessedRetries: 2 }).read({ ...ALL, keyHash: key.keyHash }),
      ).rejects.toThrow(new AuthorizerStoreError('BatchGetItem left keys unprocessed after 3 attempts (throttled)'));
      expect(c.commands.BatchGetItemCommand).toBe(3);
    } finally {
      c.client.destroy();
    }
  });
});

/** Writes a key item of acme/web with the given status and attributes, bypassing the admin API; returns the read's error. */
async function readCorruptKey(keyId: string, status: string, extra: Record<string, AttributeValue> = {}) {
  const bad = generateApiKey({ organizationId: 'acme', projectId: 'web' });
  await t.admin.send(
    new PutItemCommand({
      TableName: t.names.apiKeys,
      Item: {
        keyHash: { S: bad.keyHash },
        keyId: { S: keyId },
        organizationId: { S: 'acme' },
        projectId: { S: 'web' },
        status: { S: status },
        ...extra,
      },
    }),
  );
  return store()
    .read({ ...ALL, keyHash: bad.keyHash })
    .catch((e: unknown) => e);
}

test('a corrupt key item is an error that says what is wrong', async () => {
  const error = await readCorruptKey('key_x', 'paused');
  expect(error).toBeInstanceOf(AuthorizerStoreError);
  expect((error as Error).message).toMatch(/unreadable item: corrupt DynamoDB item: unknown status paused/);
});

test.each([
  ['{NULL: true}', { NULL: true }, 'allowlist is NULL, not a map'],
  ['a string', { S: '10.0.0.0/8' }, 'allowlist is S, not a map'],
  ['a list', { L: [] }, 'allowlist is L, not a map'],
  ['a map without entries', { M: { enabled: { BOOL: true }, version: { N: '1' } } }, 'entries is not a list'],
] as const)(
  'a key whose own allowlist attribute is %s is an error, never "no list"',
  async (_what, allowlist, reason) => {
    const error = await readCorruptKey('key_y', 'active', { allowlist: allowlist as AttributeValue });
    expect(error).toBeInstanceOf(AuthorizerStoreError);
    expect((error as Error).message).toContain(`unreadable item: corrupt DynamoDB item: ${reason}`);
  },
);

test('SDK failures are wrapped with their cause', async () => {
  const error = await store({ apiKeysTableName: 'missing-table' })
    .read({ ...ALL, keyHash: key.keyHash })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AuthorizerStoreError);
  expect((error as Error).message).toMatch(/^BatchGetItem failed: ResourceNotFoundException/);
  expect((error as { cause?: { name?: string } }).cause?.name).toBe('ResourceNotFoundException');
});

test('the two tables must be distinct', () => {
  expect(() => store({ apiKeysTableName: t.names.allowlists })).toThrow(/must be different tables/);
});

describe('the read deadline', () => {
  test('a DynamoDB that accepts the connection but never answers: the read rejects at the deadline and the request is aborted', async () => {
    // No SDK timeouts at all: the deadline alone must end the read, whatever timeouts the runtime's SDK honours.
    const closed: Promise<void>[] = [];
    const silent = createServer((socket) => {
      closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
      // Read (and drop) the request, so that the client closing the connection is noticed.
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const client = localClient(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, {
      maxAttempts: 1,
      requestHandler: {},
    });
    try {
      const error = await store({ client, timeoutMs: 200 })
        .read({ ...ALL, keyHash: key.keyHash })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthorizerStoreError);
      expect((error as Error).message).toBe('timed out: no answer from DynamoDB within 200 ms');
      // The abort reached the HTTP layer: the connection is closed rather than left waiting.
      expect(closed).toHaveLength(1);
      await closed[0];
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a read that answers in time is not affected, and timeoutMs must be positive', async () => {
    expect((await store({ timeoutMs: 10_000 }).read({ ...ALL, keyHash: key.keyHash })).key?.keyId).toBe(key.keyId);
    expect(() => store({ timeoutMs: 0 })).toThrow('timeoutMs must be a whole number of milliseconds above 0, got 0');
  });
});
