import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { allowlistToAttributes } from '../../../lambda/adapters/items';
import { organizationAllowlistPk } from '../../../lambda/adapters/schema';
import { createAuthorizer } from '../../../lambda/authorizer/authorizer';
import { authorizerEvent } from '../authorizer/fixtures';
import { authorizerStore, expectError, Harness, makeHarness, recordingLogger } from './fixtures';

/**
 * No list may admit a whole address family: entries that together cover every IPv4 or every IPv6 address are
 * refused like a `/0` entry (422 naming them), on every route that would store or put such a list in force, and
 * nothing is written. The real handler and store against DynamoDB Local.
 */

let h: Harness;
let keyId: string;

beforeAll(async () => {
  h = await makeHarness('admin-whole-family', { maxEntries: 40 });
  const created = await h.call('POST', '/v1/organizations/acme/projects/web/api_keys', { body: { name: 'backend' } });
  expect(created.status).toBe(201);
  keyId = created.body.id;
});

afterAll(() => h.destroy());

const scopes = [
  { scope: 'organization', base: () => '/v1/organizations/fam1/ip_allowlist', org: 'fam1' },
  { scope: 'project', base: () => '/v1/organizations/fam2/projects/web/ip_allowlist', org: 'fam2' },
  { scope: 'key', base: () => `/v1/organizations/acme/projects/web/api_keys/${keyId}/ip_allowlist`, org: 'acme' },
] as const;

/** Asserts the list and the audit log are as they were. */
async function expectNothingWritten(base: string, org: string, version: number, auditCount: number): Promise<void> {
  expect((await h.call('GET', base)).body.version).toBe(version);
  expect(await h.auditRecords(org)).toHaveLength(auditCount);
}

describe.each(scopes)('$scope list', ({ base, org }) => {
  test('PUT of two IPv4 halves is 422 naming both entries and saying why; nothing is written', async () => {
    // prepare
    const before = (await h.call('GET', base())).body.version;
    const audits = (await h.auditRecords(org)).length;

    // act
    const res = await h.call('PUT', base(), {
      body: { entries: ['0.0.0.0/1', '128.0.0.0/1', '10.0.0.0/8'], enabled: true },
    });

    // assess
    const error = expectError(res, 422, 'allowlist_covers_all_addresses');
    expect(error.message).toBe(
      'The entries together cover every IPv4 address (0.0.0.0/1, 128.0.0.0/1), so the list would restrict nothing for ' +
        'that family. To allow every address, disable the allowlist instead. Nothing was changed.',
    );
    expect(error.param).toBe('entries');
    expect(error.rejected).toEqual([
      expect.objectContaining({ value: '0.0.0.0/1', code: 'covers_whole_family' }),
      expect.objectContaining({ value: '128.0.0.0/1', code: 'covers_whole_family' }),
    ]);
    await expectNothingWritten(base(), org, before, audits);
  });

  test('adding the last missing piece, one request after another, is refused on the complete list', async () => {
    // prepare
    const first = await h.call('POST', `${base()}/entries`, { body: { entries: ['::/1', '8000::/2'] } });
    expect(first.status).toBe(200);
    const audits = (await h.auditRecords(org)).length;

    // act
    const res = await h.call('POST', `${base()}/entries`, { body: { value: 'c000::/2' } });

    // assess
    const error = expectError(res, 422, 'allowlist_covers_all_addresses');
    expect(error.message).toMatch(/^The entries together cover every IPv6 address \(::\/1, 8000::\/2, c000::\/2\)/);
    await expectNothingWritten(base(), org, first.body.version, audits);
  });

  test('IPv4-mapped spellings are IPv4: their halves are refused as IPv4 halves', async () => {
    // act
    const res = await h.call('PUT', base(), { body: { entries: ['::ffff:0.0.0.0/97', '::ffff:128.0.0.0/97'] } });

    // assess
    expect(expectError(res, 422, 'allowlist_covers_all_addresses').message).toMatch(
      /every IPv4 address \(0\.0\.0\.0\/1, 128\.0\.0\.0\/1\)/,
    );
  });

  test('IPv6 entries around the IPv4-mapped range are accepted: they admit no IPv4 caller', async () => {
    // act
    const res = await h.call('PUT', base(), {
      body: { entries: ['::/64', '::fffe:0:0/95', '0.0.0.0/1'], enabled: true },
    });

    // assess
    expect(res.status).toBe(200);
    const check = await h.call('POST', `${base()}/check`, { body: { ip: '203.0.113.10' } });
    expect(check.body).toMatchObject({ allowed: false, scope: expect.any(String) });
  });

  test('the check tool refuses a draft that could never be saved, with the same 422', async () => {
    // act
    const res = await h.call('POST', `${base()}/check`, {
      body: { ip: '203.0.113.10', entries: ['0.0.0.0/1', '128.0.0.0/1'] },
    });

    // assess
    expectError(res, 422, 'allowlist_covers_all_addresses');
  });
});

test('a list stored before the rule that covers IPv4 cannot be enabled (422), and can be disabled or trimmed', async () => {
  // prepare: written straight to the table, as an older version of the admin API could have
  await h.ddb.send(
    new PutItemCommand({
      TableName: h.names.allowlists,
      Item: {
        pk: { S: organizationAllowlistPk('legacy') },
        ...allowlistToAttributes({
          enabled: false,
          entries: ['0.0.0.0/1', '128.0.0.0/1'].map((value) => ({
            value,
            description: '',
            createdAt: '',
            createdBy: '',
          })),
          version: 3,
        }),
      },
    }),
  );
  const base = '/v1/organizations/legacy/ip_allowlist';

  // act
  const enable = await h.call('POST', `${base}/enable`);
  const trim = await h.call('DELETE', `${base}/entries/128.0.0.0%2F1`);
  const enableAfterTrim = await h.call('POST', `${base}/enable`);

  // assess
  expectError(enable, 422, 'allowlist_covers_all_addresses');
  expect(trim.status).toBe(200);
  expect(enableAfterTrim.status).toBe(200);
  expect(enableAfterTrim.body).toMatchObject({
    enabled: true,
    version: 5,
    entries: [expect.objectContaining({ value: '0.0.0.0/1' })],
  });
});

test('at the authorizer, an IPv6 list around the IPv4-mapped range admits IPv6 callers inside it and no IPv4 caller', async () => {
  // prepare
  const created = await h.call('POST', '/v1/organizations/v6only/projects/web/api_keys', { body: { name: 'k' } });
  const put = await h.call('PUT', '/v1/organizations/v6only/ip_allowlist', {
    body: { entries: ['::/64', '::fffe:0:0/95'], enabled: true },
  });
  expect(put.status).toBe(200);
  const authorizer = createAuthorizer({
    store: authorizerStore(h),
    logger: recordingLogger(),
    memoryCacheTtlSeconds: 0,
  });
  const effect = async (sourceIp: string) =>
    (await authorizer.handle(authorizerEvent({ key: created.body.key, sourceIp }))).policyDocument.Statement[0].Effect;

  // act
  const effects = await Promise.all(['::1', '::fffe:1:2', '203.0.113.9', '::ffff:203.0.113.9', '0.0.0.1'].map(effect));

  // assess
  expect(effects).toEqual(['Allow', 'Allow', 'Deny', 'Deny', 'Deny']);
});
