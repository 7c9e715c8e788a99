import { expectError, Harness, makeHarness } from './fixtures';

/**
 * Optimistic concurrency: If-Match, and the guarantees without it: no update is ever lost and the entry limit
 * holds exactly under parallel writers. Writers run concurrently through the real handler and store against
 * DynamoDB Local, so the conflicts are real conditional-check and transaction conflicts.
 */

let h: Harness;

beforeAll(async () => {
  h = await makeHarness('admin-concurrency');
});

afterAll(() => h.destroy());

const ips = (n: number, third = 0) =>
  Array.from({ length: n }, (_, i) => `10.${third}.${Math.floor(i / 250)}.${(i % 250) + 1}`);

describe('If-Match', () => {
  const base = '/v1/organizations/ifmatch/ip_allowlist';

  test('the current version (as ETag, weak ETag or bare number) is accepted', async () => {
    const first = await h.call('POST', `${base}/entries`, {
      body: { value: '192.0.2.1' },
      headers: { 'If-Match': '"0"' },
    });
    expect(first.status).toBe(200);
    expect(first.headers.ETag).toBe('"1"');
    const second = await h.call('POST', `${base}/entries`, {
      body: { value: '192.0.2.2' },
      headers: { 'if-match': 'W/"1"' },
    });
    expect(second.body.version).toBe(2);
    const third = await h.call('POST', `${base}/enable`, { headers: { 'If-Match': '2' } });
    expect(third.body).toMatchObject({ version: 3, enabled: true });
  });

  test('a stale version is 412, and nothing is written (no change, no audit record)', async () => {
    const before = (await h.call('GET', base)).body;
    const auditBefore = (await h.auditRecords('ifmatch')).length;
    for (const [method, path, body] of [
      ['POST', `${base}/entries`, { value: '192.0.2.3' }],
      ['PUT', base, { entries: ['192.0.2.9'] }],
      ['DELETE', `${base}/entries/192.0.2.1`, undefined],
      ['POST', `${base}/disable`, undefined],
    ] as const) {
      const res = await h.call(method, path, { body, headers: { 'If-Match': '"2"' } });
      const error = expectError(res, 412, 'version_mismatch');
      expect(error.message).toMatch(/version 2 is stale.*version 3/);
    }
    expect((await h.call('GET', base)).body).toEqual(before);
    expect(await h.auditRecords('ifmatch')).toHaveLength(auditBefore);
  });

  test('two writers with the same If-Match: exactly one wins, the other gets 412', async () => {
    const version = (await h.call('GET', base)).body.version;
    const results = await Promise.all(
      ['192.0.2.50', '192.0.2.51'].map((value) =>
        h.call('POST', `${base}/entries`, { body: { value }, headers: { 'If-Match': `"${version}"` } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    expect((await h.call('GET', base)).body.version).toBe(version + 1);
  });
});

describe('without If-Match', () => {
  test('10 parallel single-entry adds to a list of 45 end with exactly 50 entries; 5 are refused naming the limit', async () => {
    const base = '/v1/organizations/race/projects/p/ip_allowlist';
    const seeded = await h.call('PUT', base, { body: { entries: ips(45) } });
    expect(seeded.status).toBe(200);

    const candidates = ips(10, 1);
    const results = await Promise.all(
      candidates.map((value) => h.call('POST', `${base}/entries`, { body: { value } })),
    );

    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    expect(ok).toHaveLength(5);
    expect(refused).toHaveLength(5);
    for (const r of refused) {
      const error = expectError(r, 422, 'allowlist_limit_exceeded');
      expect(error.message).toMatch(/at most 50 entries/);
    }
    const final = (await h.call('GET', base)).body;
    expect(final.entries).toHaveLength(50);
    // Exactly the accepted values were added, each once, and the version counts every write.
    const added = final.entries.map((e: { value: string }) => e.value).filter((v: string) => v.startsWith('10.1.'));
    expect(added.sort()).toEqual(ok.map((r) => r.body.entries.at(-1).value).sort());
    expect(final.version).toBe(1 + 5);
    // One audit record per accepted write, none for the refused ones.
    const adds = (await h.auditRecords('race')).filter((e) => e.action === 'ip_allowlist.entries.add');
    expect(adds).toHaveLength(5);
  });

  test('no update is lost: 12 parallel writers on one list all land', async () => {
    const base = '/v1/organizations/lost/ip_allowlist';
    const values = ips(12, 2);
    const results = await Promise.all(values.map((value) => h.call('POST', `${base}/entries`, { body: { value } })));
    expect(results.map((r) => r.status)).toEqual(values.map(() => 200));
    const final = (await h.call('GET', base)).body;
    expect(final.entries.map((e: { value: string }) => e.value).sort()).toEqual(values.map((v) => `${v}/32`).sort());
    expect(final.version).toBe(12);
    // The writers really raced: some commits lost their condition and were re-run against fresh state.
    expect(h.logger.records.filter((r) => r.message.startsWith('write conflict')).length).toBeGreaterThan(0);
  });

  test('parallel writers on a key list all land too', async () => {
    const key = await h.call('POST', '/v1/organizations/lost/projects/p/api_keys', { body: { name: 'k' } });
    const base = `/v1/organizations/lost/projects/p/api_keys/${key.body.id}/ip_allowlist`;
    const values = ips(6, 3);
    const results = await Promise.all(values.map((value) => h.call('POST', `${base}/entries`, { body: { value } })));
    expect(results.map((r) => r.status)).toEqual(values.map(() => 200));
    expect((await h.call('GET', base)).body.entries).toHaveLength(6);
  });

  test('parallel revokes of one key: one succeeds, the rest are told it is already revoked', async () => {
    const key = await h.call('POST', '/v1/organizations/lost/projects/p/api_keys', { body: { name: 'twice' } });
    const path = `/v1/organizations/lost/projects/p/api_keys/${key.body.id}`;
    const results = await Promise.all([1, 2, 3].map(() => h.call('DELETE', path)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const revokes = (await h.auditRecords('lost')).filter((e) => e.action === 'api_key.revoke');
    expect(revokes).toHaveLength(1);
  });
});
