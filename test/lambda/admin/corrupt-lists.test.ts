import { AttributeValue, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { allowlistToAttributes } from '../../../lambda/adapters/items';
import { organizationAllowlistPk, projectAllowlistPk } from '../../../lambda/adapters/schema';
import { Authorizer, createAuthorizer } from '../../../lambda/authorizer/authorizer';
import { hashApiKey } from '../../../lambda/core/api-key';
import { authorizerEvent } from '../authorizer/fixtures';
import { authorizerStore, expectError, Harness, keysPath, makeHarness, recordingLogger } from './fixtures';

/**
 * Corrupt items fail closed everywhere, and can be repaired. Real corrupt items are written straight to DynamoDB
 * Local; the real authorizer (memory cache off) and the real admin handler then read them:
 * - the authorizer refuses to decide (the Lambda fails, API Gateway answers 503 and caches nothing);
 * - the check tool and GET say the list is corrupt (409 allowlist_corrupt) instead of answering as if there were
 *   no list; every partial change is refused the same way, and writes nothing;
 * - a PUT of the whole list replaces it (conditioned on the corrupt state that was read), with an audit record,
 *   after which the authorizer decides on the new list.
 */

let h: Harness;
let authorizer: Authorizer;

beforeAll(async () => {
  h = await makeHarness('admin-corrupt');
  authorizer = createAuthorizer({
    store: authorizerStore(h),
    logger: recordingLogger(),
    memoryCacheTtlSeconds: 0,
  });
});

afterAll(() => h.destroy());

/** 'allow' | 'deny' | 'fails closed' for one request. */
async function decide(key: string, sourceIp: string): Promise<string> {
  let result: APIGatewayAuthorizerResult;
  try {
    result = await authorizer.handle(authorizerEvent({ key, sourceIp }));
  } catch {
    return 'fails closed';
  }
  return result.policyDocument.Statement.every((s) => s.Effect === 'Allow') ? 'allow' : 'deny';
}

/** A key whose own list is then overwritten, straight in the table, with `allowlist` = `attribute`. */
async function keyWithStoredList(
  org: string,
  attribute: AttributeValue,
): Promise<{ id: string; key: string; listPath: string }> {
  const created = await h.call('POST', keysPath(org, 'web'), { body: { name: 'k' } });
  expect(created.status).toBe(201);
  const { id, key } = created.body;
  await h.ddb.send(
    new UpdateItemCommand({
      TableName: h.names.apiKeys,
      Key: { keyHash: { S: hashApiKey(key) } },
      UpdateExpression: 'SET #al = :al',
      ExpressionAttributeNames: { '#al': 'allowlist' },
      ExpressionAttributeValues: { ':al': attribute },
    }),
  );
  return { id, key, listPath: `${keysPath(org, 'web')}/${id}/ip_allowlist` };
}

const goodList = allowlistToAttributes({
  enabled: true,
  entries: [{ value: '198.51.100.7/32', description: '', createdAt: '', createdBy: '' }],
  version: 4,
});

const CORRUPT_KEY_LISTS: readonly [string, AttributeValue, RegExp, number][] = [
  ['{NULL: true}', { NULL: true }, /allowlist is NULL, not a map/, 0],
  ['a string', { S: '198.51.100.7' }, /allowlist is S, not a map/, 0],
  ['a list', { L: [{ S: '198.51.100.7/32' }] }, /allowlist is L, not a map/, 0],
  ['a map whose enabled is a string', { M: { ...goodList, enabled: { S: 'yes' } } }, /enabled is not a boolean/, 4],
  [
    'a map without a version',
    { M: { enabled: goodList.enabled, entries: goodList.entries } },
    /version is not a whole number/,
    0,
  ],
  ['a map whose version is a string', { M: { ...goodList, version: { S: '4' } } }, /version is not a whole number/, 0],
  [
    'a map whose entries are not a list',
    { M: { ...goodList, entries: { S: '198.51.100.7/32' } } },
    /entries is not a list/,
    4,
  ],
  [
    'a map with a non-canonical entry',
    { M: { ...goodList, entries: { L: [{ M: { value: { S: '198.51.100.7/8' } } }] } } },
    /stored entry "198\.51\.100\.7\/8"/,
    4,
  ],
];

describe.each(CORRUPT_KEY_LISTS)('a key whose own list is %s', (_what, attribute, reason, claimedVersion) => {
  let k: { id: string; key: string; listPath: string };
  const org = `corrupt${CORRUPT_KEY_LISTS.findIndex((c) => c[1] === attribute)}`;

  beforeAll(async () => {
    k = await keyWithStoredList(org, attribute);
  });

  test('the authorizer fails closed for every IP, never "no list"', async () => {
    // act
    const outcomes = [await decide(k.key, '203.0.113.9'), await decide(k.key, '198.51.100.7')];

    // assess
    expect(outcomes).toEqual(['fails closed', 'fails closed']);
  });

  test('the check tool and GET say the list is corrupt (409), naming the key and how to repair it', async () => {
    // act
    const check = await h.call('POST', `${k.listPath}/check`, { body: { ip: '203.0.113.9' } });
    const get = await h.call('GET', k.listPath);

    // assess
    for (const res of [check, get]) {
      const error = expectError(res, 409, 'allowlist_corrupt');
      expect(error.message).toMatch(reason);
      expect(error.message).toContain(`The stored allowlist of API key ${k.id} (${org}/web) is corrupt`);
      expect(error.message).toMatch(/refuses every request it applies to \(503 authorizer_unavailable\).*PUT/);
    }
  });

  test('the key view says its list is corrupt', async () => {
    // act
    const one = await h.call('GET', `${keysPath(org, 'web')}/${k.id}`);

    // assess
    expect(one.status).toBe(200);
    expect(one.body.allowlist).toMatchObject({ corrupt: true, version: claimedVersion });
  });

  test('partial changes are refused with the same 409 and write nothing', async () => {
    // prepare
    const before = await h.ddb.send(
      new GetItemCommand({ TableName: h.names.apiKeys, Key: { keyHash: { S: hashApiKey(k.key) } } }),
    );

    // act
    const replies = [
      await h.call('POST', `${k.listPath}/entries`, { body: { value: '203.0.113.9' } }),
      await h.call('POST', `${k.listPath}/enable`),
      await h.call('POST', `${k.listPath}/disable`),
      await h.call('DELETE', `${k.listPath}/entries/198.51.100.7`),
    ];

    // assess
    for (const res of replies) expectError(res, 409, 'allowlist_corrupt');
    const after = await h.ddb.send(
      new GetItemCommand({ TableName: h.names.apiKeys, Key: { keyHash: { S: hashApiKey(k.key) } } }),
    );
    expect(after.Item).toEqual(before.Item);
  });

  test('a PUT of the whole list repairs it: 200, audited with the corrupt state before, and in force at the authorizer', async () => {
    // prepare
    const audits = (await h.auditRecords(org)).length;

    // act
    const res = await h.call('PUT', k.listPath, { body: { entries: ['203.0.113.0/24'], enabled: true } });

    // assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      enabled: true,
      version: claimedVersion + 1,
      entries: [expect.objectContaining({ value: '203.0.113.0/24' })],
    });
    const records = await h.auditRecords(org);
    expect(records).toHaveLength(audits + 1);
    expect(records[0]).toMatchObject({
      action: 'ip_allowlist.replace',
      before: { corrupt: expect.stringMatching(reason), version: claimedVersion },
      after: expect.objectContaining({ enabled: true, version: claimedVersion + 1 }),
    });
    expect([await decide(k.key, '203.0.113.9'), await decide(k.key, '198.51.100.7')]).toEqual(['allow', 'deny']);
    expect((await h.call('GET', k.listPath)).status).toBe(200);
  });
});

describe('repairing a corrupt key list', () => {
  test('without "enabled", when the stored flag is unreadable: 400 asking for it, nothing written', async () => {
    // prepare
    const k = await keyWithStoredList('repairflag', { NULL: true });

    // act
    const res = await h.call('PUT', k.listPath, { body: { entries: ['203.0.113.0/24'] } });

    // assess
    const error = expectError(res, 400, 'missing_required_parameter');
    expect(error.param).toBe('enabled');
    expect(error.message).toMatch(/corrupt \(allowlist is NULL, not a map\).*whether it was enabled is unknown/);
    expect(await decide(k.key, '203.0.113.9')).toBe('fails closed');
  });

  test('without "enabled", when the stored flag is readable: it is kept', async () => {
    // prepare
    const k = await keyWithStoredList('repairkeep', { M: { ...goodList, version: { S: 'x' } } });

    // act
    const res = await h.call('PUT', k.listPath, { body: { entries: ['203.0.113.0/24'] } });

    // assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ enabled: true, version: 1 });
  });

  test('If-Match is compared with the version the corrupt list claims', async () => {
    // prepare
    const k = await keyWithStoredList('repairmatch', { M: { ...goodList, enabled: { NULL: true } } });

    // act
    const stale = await h.call('PUT', k.listPath, {
      body: { entries: ['203.0.113.0/24'], enabled: true },
      headers: { 'If-Match': '"3"' },
    });
    const current = await h.call('PUT', k.listPath, {
      body: { entries: ['203.0.113.0/24'], enabled: true },
      headers: { 'If-Match': '"4"' },
    });

    // assess
    expectError(stale, 412, 'version_mismatch');
    expect(current.status).toBe(200);
    expect(current.body.version).toBe(5);
  });

  test('two repairs at once: both land, one after the other, on the state each found (no lost update, no 409 loop)', async () => {
    // prepare
    const k = await keyWithStoredList('repairrace', { S: 'garbage' });

    // act
    const [a, b] = await Promise.all([
      h.call('PUT', k.listPath, { body: { entries: ['203.0.113.0/24'], enabled: true } }),
      h.call('PUT', k.listPath, { body: { entries: ['192.0.2.0/24'], enabled: true } }),
    ]);

    // assess
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body.version, b.body.version].sort()).toEqual([1, 2]);
    const records = await h.auditRecords('repairrace');
    const replaces = records.filter((r) => r.action === 'ip_allowlist.replace');
    expect(replaces).toHaveLength(2);
    expect(replaces.filter((r) => (r.before as { corrupt?: string }).corrupt !== undefined)).toHaveLength(1);
  });

  test('the check tool answers on a draft of the corrupt list itself: the draft stands in for it', async () => {
    // prepare
    const k = await keyWithStoredList('repairdraft', { NULL: true });

    // act
    const draft = await h.call('POST', `${k.listPath}/check`, {
      body: { ip: '203.0.113.9', entries: ['203.0.113.0/24'] },
    });

    // assess
    expect(draft.status).toBe(200);
    expect(draft.body).toMatchObject({ allowed: true, draft: true, keyMatchedEntry: '203.0.113.0/24' });
  });

  test('a key whose list is corrupt can still be revoked', async () => {
    // prepare
    const k = await keyWithStoredList('repairrevoke', { NULL: true });

    // act
    const res = await h.call('DELETE', `${keysPath('repairrevoke', 'web')}/${k.id}`);

    // assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'revoked', allowlist: { corrupt: true } });
  });
});

describe('corrupt organization and project lists', () => {
  async function putListItem(pk: string, attributes: Record<string, AttributeValue>): Promise<void> {
    await h.ddb.send(new PutItemCommand({ TableName: h.names.allowlists, Item: { pk: { S: pk }, ...attributes } }));
  }

  test.each([
    ['enabled is a string', { ...goodList, enabled: { S: 'yes' } }, 4],
    ['no version attribute', { enabled: goodList.enabled, entries: goodList.entries }, 0],
    ['a version that is a string', { ...goodList, version: { S: 'four' } }, 0],
    ['a version that is not whole', { ...goodList, version: { N: '2.5' } }, 0],
    ['a non-canonical entry', { ...goodList, entries: { L: [{ M: { value: { S: '10.0.0.1/8' } } }] } }, 4],
  ])(
    'organization list with %s: fails closed, check says corrupt, PUT repairs it',
    async (_what, attributes, claimed) => {
      // prepare
      const org = `orgc${Math.random().toString(36).slice(2, 8)}`;
      await putListItem(organizationAllowlistPk(org), attributes);
      const { body } = await h.call('POST', keysPath(org, 'web'), { body: { name: 'k' } });
      const base = `/v1/organizations/${org}/ip_allowlist`;

      // act
      const before = await decide(body.key, '203.0.113.9');
      const checkOrg = await h.call('POST', `${base}/check`, { body: { ip: '203.0.113.9' } });
      // The project's check reads the organization's list too, as the authorizer does, and names it.
      const checkProject = await h.call('POST', `/v1/organizations/${org}/projects/web/ip_allowlist/check`, {
        body: { ip: '203.0.113.9' },
      });
      const repaired = await h.call('PUT', base, { body: { entries: ['203.0.113.0/24'], enabled: true } });
      const after = [await decide(body.key, '203.0.113.9'), await decide(body.key, '198.51.100.7')];

      // assess
      expect(before).toBe('fails closed');
      for (const res of [checkOrg, checkProject]) {
        expect(expectError(res, 409, 'allowlist_corrupt').message).toContain(
          `The stored allowlist of organization ${org} is corrupt`,
        );
      }
      expect(repaired.status).toBe(200);
      expect(repaired.body.version).toBe(claimed + 1);
      expect(after).toEqual(['allow', 'deny']);
    },
  );

  test('a corrupt project list is named as such by the check of a key of that project', async () => {
    // prepare
    await putListItem(projectAllowlistPk('projc', 'web'), { ...goodList, entries: { S: 'x' } });
    const { body } = await h.call('POST', keysPath('projc', 'web'), { body: { name: 'k' } });

    // act
    const res = await h.call('POST', `${keysPath('projc', 'web')}/${body.id}/ip_allowlist/check`, {
      body: { ip: '203.0.113.9' },
    });
    const withDraft = await h.call('POST', `${keysPath('projc', 'web')}/${body.id}/ip_allowlist/check`, {
      body: { ip: '203.0.113.9', entries: ['203.0.113.0/24'] },
    });

    // assess
    for (const reply of [res, withDraft]) {
      expect(expectError(reply, 409, 'allowlist_corrupt').message).toContain(
        'The stored allowlist of project projc/web is corrupt (entries is not a list)',
      );
    }
  });
});
