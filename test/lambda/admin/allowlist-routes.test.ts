import { ADMIN_ARN, expectError, Harness, makeHarness } from './fixtures';

/**
 * The allowlist routes, run identically for the three scopes (organization, project, API key): the real
 * handler and store against DynamoDB Local.
 */

let h: Harness;
let keyId: string;

beforeAll(async () => {
  h = await makeHarness('admin-allowlist', { maxEntries: 5 });
  const created = await h.call('POST', '/v1/organizations/acme/projects/web/api_keys', { body: { name: 'backend' } });
  expect(created.status).toBe(201);
  keyId = created.body.id;
});

afterAll(() => h.destroy());

// Each scope gets its own organization/project so the cases do not see each other's lists.
const scopes = [
  { scope: 'organization', base: () => '/v1/organizations/org1/ip_allowlist', org: 'org1' },
  { scope: 'project', base: () => '/v1/organizations/org2/projects/web/ip_allowlist', org: 'org2' },
  { scope: 'key', base: () => `/v1/organizations/acme/projects/web/api_keys/${keyId}/ip_allowlist`, org: 'acme' },
] as const;

describe.each(scopes)('$scope allowlist', ({ scope, base }) => {
  test('a list never written is empty, disabled, version 0, with the limits and the propagation delay', async () => {
    const res = await h.call('GET', base());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: 'ip_allowlist',
      scope,
      enabled: false,
      entries: [],
      version: 0,
      updatedAt: null,
      updatedBy: null,
      maxEntries: 5,
      propagationDelaySeconds: 300,
    });
    expect(res.headers.ETag).toBe('"0"');
  });

  test('enabling an empty list is refused with 400 and writes nothing', async () => {
    const res = await h.call('POST', `${base()}/enable`);
    const error = expectError(res, 400, 'empty_allowlist');
    expect(error.message).toMatch(/block every request/);
    expect((await h.call('GET', base())).body.version).toBe(0);
  });

  test('POST one entry stores its canonical form, description, creator and time; version and ETag advance', async () => {
    const res = await h.call('POST', `${base()}/entries`, { body: { value: ' 203.0.113.7 ', description: 'office' } });
    expect(res.status).toBe(200);
    expect(res.body.entries).toEqual([
      {
        value: '203.0.113.7/32',
        description: 'office',
        createdAt: expect.any(String),
        createdBy: ADMIN_ARN,
        expiresAt: null,
        expired: false,
      },
    ]);
    expect(res.body).toMatchObject({ version: 1, updatedBy: ADMIN_ARN, enabled: false });
    expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 300 });
    expect(res.headers.ETag).toBe('"1"');
    expect(Date.parse(res.body.entries[0].createdAt)).not.toBeNaN();
  });

  test('POST many entries (strings and objects) adds them all', async () => {
    const res = await h.call('POST', `${base()}/entries`, {
      body: { entries: ['2001:DB8:0:0::/64', { value: '198.51.100.0/24', description: 'vpn' }] },
    });
    expect(res.status).toBe(200);
    expect(res.body.entries.map((e: { value: string }) => e.value)).toEqual([
      '203.0.113.7/32',
      '2001:db8::/64',
      '198.51.100.0/24',
    ]);
    expect(res.body.version).toBe(2);
  });

  test('an equivalent entry is a duplicate: 409 naming it, nothing written', async () => {
    const res = await h.call('POST', `${base()}/entries`, { body: { value: '203.0.113.7/32' } });
    const error = expectError(res, 409, 'duplicate_entry');
    expect(error.message).toContain('203.0.113.7/32');
    const mapped = await h.call('POST', `${base()}/entries`, { body: { value: '::ffff:203.0.113.7' } });
    expectError(mapped, 409, 'duplicate_entry');
    expect((await h.call('GET', base())).body.version).toBe(2);
  });

  test('a bulk add with duplicates of stored entries lists every one; nothing is added', async () => {
    const res = await h.call('POST', `${base()}/entries`, {
      body: { entries: ['192.0.2.1', '2001:db8::/64', '198.51.100.0/24'] },
    });
    const error = expectError(res, 409, 'duplicate_entry');
    expect(error.rejected).toEqual([
      expect.objectContaining({ index: 1, code: 'duplicate_entry' }),
      expect.objectContaining({ index: 2, code: 'duplicate_entry' }),
    ]);
    expect((await h.call('GET', base())).body.entries).toHaveLength(3);
  });

  test('invalid entries are all listed with their reasons (400); nothing is added', async () => {
    const res = await h.call('POST', `${base()}/entries`, {
      body: {
        entries: [
          '10.0.0.1/8',
          '192.0.2.1',
          'not-an-ip',
          { value: '192.0.2.2', description: 'x'.repeat(141) },
          '192.0.2.1/32',
          { value: 7 },
        ],
      },
    });
    const error = expectError(res, 400, 'invalid_entries');
    const rejected = error.rejected as { index: number; code: string; reason: string }[];
    expect(rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'invalid_ip_allowlist_entry'],
      [2, 'invalid_ip_allowlist_entry'],
      [3, 'description_too_long'],
      [4, 'duplicate_in_request'],
      [5, 'invalid_type'],
    ]);
    expect(rejected[0].reason).toContain('did you mean 10.0.0.0/8?');
    expect(error.message).toContain('entries[2]');
    expect((await h.call('GET', base())).body.entries).toHaveLength(3);
  });

  test("a single invalid entry gets its own code and the parser's reason", async () => {
    const res = await h.call('POST', `${base()}/entries`, { body: { value: '010.0.0.1' } });
    const error = expectError(res, 400, 'invalid_ip_allowlist_entry');
    expect(error.param).toBe('value');
    expect(error.message).toMatch(/leading zeros/);
  });

  test('a description of exactly 140 characters is accepted; 141 is not', async () => {
    const ok = await h.call('POST', `${base()}/entries`, {
      body: { value: '192.0.2.64/26', description: 'd'.repeat(140) },
    });
    expect(ok.status).toBe(200);
    const tooLong = await h.call('POST', `${base()}/entries`, {
      body: { value: '192.0.2.128/26', description: 'd'.repeat(141) },
    });
    const error = expectError(tooLong, 400, 'description_too_long');
    expect(error.message).toMatch(/140/);
  });

  test('the maxEntries limit refuses an add that would exceed it (422 naming the limit)', async () => {
    // 4 stored, limit 5: two more is one too many.
    const res = await h.call('POST', `${base()}/entries`, { body: { entries: ['192.0.2.200', '192.0.2.201'] } });
    const error = expectError(res, 422, 'allowlist_limit_exceeded');
    expect(error.message).toMatch(/at most 5 entries/);
    expect(error.message).toMatch(/maxEntries/);
    expect((await h.call('GET', base())).body.entries).toHaveLength(4);
  });

  test('enable, then disable; each is a new version', async () => {
    const on = await h.call('POST', `${base()}/enable`);
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ enabled: true, version: 4 });
    const off = await h.call('POST', `${base()}/disable`, { body: {} });
    expect(off.body).toMatchObject({ enabled: false, version: 5 });
    expect((await h.call('POST', `${base()}/enable`)).body.enabled).toBe(true);
  });

  test('DELETE by URL-encoded path, in any form that normalizes to the entry', async () => {
    const res = await h.call('DELETE', `${base()}/entries/${encodeURIComponent('2001:0db8:0000::/64')}`);
    expect(res.status).toBe(200);
    expect(res.body.entries.map((e: { value: string }) => e.value)).not.toContain('2001:db8::/64');
  });

  test('DELETE by path with a literal slash (a proxy that decodes %2F) works too', async () => {
    const res = await h.call('DELETE', `${base()}/entries/192.0.2.64/26`);
    expect(res.status).toBe(200);
    expect(res.body.entries).toHaveLength(2);
  });

  test('DELETE by ?value= query', async () => {
    const res = await h.call('DELETE', `${base()}/entries`, { query: { value: '198.51.100.0/24' } });
    expect(res.status).toBe(200);
    expect(res.body.entries.map((e: { value: string }) => e.value)).toEqual(['203.0.113.7/32']);
  });

  test('DELETE of an entry that is not there is 404; of garbage is 400; without a value is 400', async () => {
    expectError(
      await h.call('DELETE', `${base()}/entries/${encodeURIComponent('10.9.9.0/24')}`),
      404,
      'entry_not_found',
    );
    expectError(await h.call('DELETE', `${base()}/entries/not-an-ip`), 400, 'invalid_ip_allowlist_entry');
    expectError(await h.call('DELETE', `${base()}/entries`), 400, 'missing_required_parameter');
  });

  test('removing the last entry of an enabled list is refused (it would block everyone)', async () => {
    const res = await h.call('DELETE', `${base()}/entries/203.0.113.7`);
    expectError(res, 400, 'empty_allowlist');
    expect((await h.call('GET', base())).body.entries).toHaveLength(1);
  });

  test('PUT replaces the list; entries kept keep their createdAt/createdBy', async () => {
    const before = (await h.call('GET', base())).body;
    const kept = before.entries[0];
    const res = await h.call('PUT', base(), {
      body: { entries: [{ value: '203.0.113.7/32', description: 'renamed' }, '192.0.2.0/24'] },
      userArn: 'arn:aws:sts::123456789012:assumed-role/Admin/bob',
    });
    expect(res.status).toBe(200);
    expect(res.body.entries).toEqual([
      {
        value: '203.0.113.7/32',
        description: 'renamed',
        createdAt: kept.createdAt,
        createdBy: kept.createdBy,
        expiresAt: null,
        expired: false,
      },
      {
        value: '192.0.2.0/24',
        description: '',
        createdAt: expect.any(String),
        createdBy: 'arn:aws:sts::123456789012:assumed-role/Admin/bob',
        expiresAt: null,
        expired: false,
      },
    ]);
    expect(res.body.enabled).toBe(true);
    expect(res.body.updatedBy).toBe('arn:aws:sts::123456789012:assumed-role/Admin/bob');
  });

  test('PUT is all-or-nothing: one bad entry rejects the whole import, listing every bad entry', async () => {
    const before = (await h.call('GET', base())).body;
    const res = await h.call('PUT', base(), { body: { entries: ['192.0.2.1', 'bad', '300.1.1.1', '0.0.0.0/0'] } });
    const error = expectError(res, 400, 'invalid_entries');
    expect((error.rejected as { index: number }[]).map((r) => r.index)).toEqual([1, 2, 3]);
    expect((await h.call('GET', base())).body).toEqual(before);
  });

  test('PUT over the limit is 422; PUT [] on an enabled list is 400; PUT [] with enabled:false empties it', async () => {
    const six = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'];
    expectError(await h.call('PUT', base(), { body: { entries: six } }), 422, 'allowlist_limit_exceeded');
    expectError(await h.call('PUT', base(), { body: { entries: [] } }), 400, 'empty_allowlist');
    expectError(await h.call('PUT', base(), { body: { entries: [], enabled: true } }), 400, 'empty_allowlist');
    const cleared = await h.call('PUT', base(), { body: { entries: [], enabled: false } });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ enabled: false, entries: [] });
    const five = await h.call('PUT', base(), { body: { entries: six.slice(0, 5), enabled: true } });
    expect(five.status).toBe(200);
    expect(five.body).toMatchObject({ enabled: true });
    expect(five.body.entries).toHaveLength(5);
  });

  test('PUT body checks: entries required and an array; enabled a boolean; no unknown fields', async () => {
    expectError(await h.call('PUT', base(), { body: {} }), 400, 'missing_required_parameter');
    expectError(await h.call('PUT', base(), { body: { entries: '192.0.2.1' } }), 400, 'invalid_type');
    expectError(await h.call('PUT', base(), { body: { entries: [], enabled: 'yes' } }), 400, 'invalid_type');
    const unknown = expectError(
      await h.call('PUT', base(), { body: { entries: [], enable: false } }),
      400,
      'unknown_parameter',
    );
    expect(unknown.param).toBe('enable');
    expectError(
      await h.call('PUT', base(), { body: { entries: [{ value: '192.0.2.1', note: 'x' }] } }),
      400,
      'unknown_parameter',
    );
  });

  test('POST entries body checks', async () => {
    expectError(await h.call('POST', `${base()}/entries`), 400, 'missing_body');
    expectError(await h.call('POST', `${base()}/entries`, { body: {} }), 400, 'missing_required_parameter');
    expectError(await h.call('POST', `${base()}/entries`, { body: { entries: [] } }), 400, 'invalid_value');
    expectError(await h.call('POST', `${base()}/entries`, { body: { value: 1 } }), 400, 'invalid_type');
    expectError(
      await h.call('POST', `${base()}/entries`, { body: { value: '192.0.2.9', entries: ['192.0.2.8'] } }),
      400,
      'conflicting_parameters',
    );
    expectError(await h.call('POST', `${base()}/entries`, { body: ['192.0.2.9'] }), 400, 'invalid_type');
    expectError(
      await h.call('POST', `${base()}/entries`, { body: { entries: [{ description: 'no value' }] } }),
      400,
      'missing_required_parameter',
    );
  });

  test('enable takes only an optional mode; disable takes no body', async () => {
    // Before report-only mode, enable took no body either (unexpected_body); now it names the unknown field.
    const error = expectError(
      await h.call('POST', `${base()}/enable`, { body: { enabled: true } }),
      400,
      'unknown_parameter',
    );
    expect(error.param).toBe('enabled');
    expectError(await h.call('POST', `${base()}/disable`, { body: { enabled: true } }), 400, 'unexpected_body');
  });
});

describe('per-key lists', () => {
  test('an unknown key is 404 on every allowlist route', async () => {
    const base = '/v1/organizations/acme/projects/web/api_keys/key_doesnotexist/ip_allowlist';
    expectError(await h.call('GET', base), 404, 'api_key_not_found');
    expectError(await h.call('POST', `${base}/entries`, { body: { value: '192.0.2.1' } }), 404, 'api_key_not_found');
    expectError(await h.call('POST', `${base}/check`, { body: { ip: '192.0.2.1' } }), 404, 'api_key_not_found');
  });

  test('a key of another project is not found under this one', async () => {
    const base = `/v1/organizations/acme/projects/other/api_keys/${keyId}/ip_allowlist`;
    expectError(await h.call('GET', base), 404, 'api_key_not_found');
  });

  test('a revoked key keeps its list readable but no longer writable', async () => {
    const created = await h.call('POST', '/v1/organizations/acme/projects/web/api_keys', { body: { name: 'temp' } });
    const base = `/v1/organizations/acme/projects/web/api_keys/${created.body.id}/ip_allowlist`;
    expect((await h.call('POST', `${base}/entries`, { body: { value: '192.0.2.1' } })).status).toBe(200);
    expect((await h.call('DELETE', `/v1/organizations/acme/projects/web/api_keys/${created.body.id}`)).status).toBe(
      200,
    );
    expect((await h.call('GET', base)).body.entries).toHaveLength(1);
    expectError(await h.call('POST', `${base}/entries`, { body: { value: '192.0.2.2' } }), 409, 'api_key_revoked');
  });

  test('the key list shows up in the key view as a summary', async () => {
    const res = await h.call('GET', `/v1/organizations/acme/projects/web/api_keys/${keyId}`);
    expect(res.body.allowlist).toEqual({ enabled: true, mode: 'enforce', entryCount: 5, version: expect.any(Number) });
  });
});

describe('the path API Gateway passes', () => {
  const list = '/v1/organizations/paths/ip_allowlist';

  beforeAll(async () => {
    expect(
      (await h.call('PUT', list, { body: { entries: ['10.0.0.0/8', '192.0.2.0/24', '2001:db8::/32'] } })).status,
    ).toBe(200);
  });

  test('behind a custom domain, event.path carries the base path mapping: the proxy parameter decides', async () => {
    const got = await h.call('GET', list, { eventPath: `/admin${list}` });
    expect(got.status).toBe(200);
    expect(got.body.organizationId).toBe('paths');

    const value = encodeURIComponent('10.0.0.0/8');
    const removed = await h.call('DELETE', `${list}/entries/${value}`, { eventPath: `/admin${list}/entries/${value}` });
    expect(removed.status).toBe(200);
    expect(removed.body.entries.map((e: { value: string }) => e.value)).toEqual(['192.0.2.0/24', '2001:db8::/32']);
  });

  test('a %2F kept in event.path and a / decoded into proxy name the same entry', async () => {
    // event.path decoded too (no encoded tail matches proxy): the decoded proxy is routed, the rest taken as {value}.
    const decoded = await h.call('DELETE', `${list}/entries/192.0.2.0%2F24`, {
      eventPath: `${list}/entries/192.0.2.0/24/x`,
    });
    expect(decoded.status).toBe(200);
    expect(decoded.body.entries.map((e: { value: string }) => e.value)).toEqual(['2001:db8::/32']);
  });

  test('an id with an encoded slash stays one (invalid) id behind a base path too', async () => {
    const error = expectError(
      await h.call('GET', '/v1/organizations/a%2Fb/ip_allowlist', {
        eventPath: '/admin/v1/organizations/a%2Fb/ip_allowlist',
      }),
      400,
      'invalid_id',
    );
    expect(error.param).toBe('org');
  });
});
