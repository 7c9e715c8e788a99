import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SightingUpdate } from '../../../lambda/core/traffic';
import { localClient, testEndpoint } from '../../support/dynamodb-local';
import { startDynamoDbProxy } from '../../support/dynamodb-proxy';
import { expectError, Harness, makeHarness } from './fixtures';

/**
 * GET /v1/organizations/{org}/traffic through the real handler on DynamoDB Local: sightings recorded exactly as the
 * authorizer writes them (harness.recordSightings), read back newest first, filtered and paginated; bad input is a
 * 400 naming the field; one organization never reads another's traffic, with or without a forged cursor.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const traffic = (org: string) => `/v1/organizations/${org}/traffic`;

function sighting(minutesAgo: number, overrides: Partial<SightingUpdate> = {}): SightingUpdate {
  const at = NOW - minutesAgo * MINUTE;
  return {
    organizationId: 'acme',
    projectId: 'web',
    keyId: 'key_a',
    sourceIp: `198.51.100.${minutesAgo % 250}`,
    outcome: 'allowed',
    scope: 'organization',
    matched: { organization: '198.51.100.0/24' },
    count: 1,
    firstSeen: at,
    lastSeen: at,
    ...overrides,
  };
}

interface Page {
  data: { sourceIp: string; lastSeen: string; projectId: string; keyId: string; outcome: string }[];
  next_cursor: string | null;
}

/** Every page of a query, following next_cursor; fails on a page that is not a 200. */
async function allPages(h: Harness, org: string, query: Record<string, string>) {
  const pages: Page[] = [];
  let cursor: string | undefined;
  do {
    const res = await h.call('GET', traffic(org), { query: { ...query, ...(cursor ? { cursor } : {}) } });
    expect(res.status).toBe(200);
    pages.push(res.body as Page);
    cursor = res.body.next_cursor ?? undefined;
    expect(pages.length).toBeLessThan(200);
  } while (cursor);
  return pages;
}

describe('the traffic log', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness('traffic-log', { now: () => NOW });
    await h.recordSightings([
      sighting(5, { sourceIp: '198.51.100.5', outcome: 'blocked', scope: 'project', matched: {} }),
      sighting(1, { sourceIp: '198.51.100.1' }),
      sighting(3, { sourceIp: '198.51.100.3', projectId: 'api', keyId: 'key_b', outcome: 'would_block' }),
      sighting(2, { sourceIp: '198.51.100.2', keyId: 'key_c' }),
      sighting(4, { sourceIp: '198.51.100.4', projectId: 'api', keyId: 'key_b' }),
      // Another organization's traffic, newer than all of acme's.
      sighting(0, { organizationId: 'globex', sourceIp: '203.0.113.9', outcome: 'blocked' }),
    ]);
  });
  afterAll(() => h.destroy());

  test('lists the sightings newest first, each with its identity, outcome, matches, times and count', async () => {
    const res = await h.call('GET', traffic('acme'));
    expect(res.status).toBe(200);
    expect(res.body.data.map((s: { sourceIp: string }) => s.sourceIp)).toEqual([
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.3',
      '198.51.100.4',
      '198.51.100.5',
    ]);
    expect(res.body.data[4]).toEqual({
      object: 'traffic_sighting',
      organizationId: 'acme',
      projectId: 'web',
      keyId: 'key_a',
      sourceIp: '198.51.100.5',
      outcome: 'blocked',
      scope: 'project',
      matched: { organization: null, project: null, key: null },
      firstSeen: new Date(NOW - 5 * MINUTE).toISOString(),
      lastSeen: new Date(NOW - 5 * MINUTE).toISOString(),
      count: 1,
    });
    expect(res.body.data[0].matched).toEqual({ organization: '198.51.100.0/24', project: null, key: null });
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.unreadable).toBe(0);
    // No since: the whole retention (30 days by default), and the answer says from when.
    expect(res.body.since).toBe(new Date(NOW - 30 * DAY).toISOString());
  });

  test('filters by project, key and outcome, alone and together', async () => {
    const ips = async (query: Record<string, string>) =>
      (await h.call('GET', traffic('acme'), { query })).body.data.map((s: { sourceIp: string }) => s.sourceIp);
    expect(await ips({ project: 'api' })).toEqual(['198.51.100.3', '198.51.100.4']);
    expect(await ips({ key: 'key_b' })).toEqual(['198.51.100.3', '198.51.100.4']);
    expect(await ips({ project: 'web', key: 'key_c' })).toEqual(['198.51.100.2']);
    expect(await ips({ project: 'web', key: 'key_b' })).toEqual([]);
    expect(await ips({ outcome: 'blocked' })).toEqual(['198.51.100.5']);
    expect(await ips({ outcome: 'would_block', project: 'api' })).toEqual(['198.51.100.3']);
    expect(await ips({ outcome: 'allowed' })).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.4']);
  });

  test('since leaves out what was last seen before it; an older since is moved to the start of the retention', async () => {
    const recent = await h.call('GET', traffic('acme'), {
      query: { since: new Date(NOW - 3 * MINUTE).toISOString() },
    });
    expect(recent.body.data.map((s: { sourceIp: string }) => s.sourceIp)).toEqual([
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.3',
    ]);
    expect(recent.body.since).toBe(new Date(NOW - 3 * MINUTE).toISOString());
    // With an offset, and exactly now.
    const offset = await h.call('GET', traffic('acme'), { query: { since: '2026-11-30T13:58:00+02:00' } });
    expect(offset.body.data.map((s: { sourceIp: string }) => s.sourceIp)).toEqual(['198.51.100.1', '198.51.100.2']);
    expect((await h.call('GET', traffic('acme'), { query: { since: new Date(NOW).toISOString() } })).status).toBe(200);
    const old = await h.call('GET', traffic('acme'), { query: { since: '2020-01-01T00:00:00Z' } });
    expect(old.status).toBe(200);
    expect(old.body.since).toBe(new Date(NOW - 30 * DAY).toISOString());
    expect(old.body.data).toHaveLength(5);
  });

  test("one organization never sees another organization's traffic", async () => {
    const acme = await allPages(h, 'acme', { limit: '1' });
    const acmeIps = acme.flatMap((p) => p.data.map((s) => s.sourceIp));
    expect(acmeIps).toHaveLength(5);
    expect(acmeIps).not.toContain('203.0.113.9');
    const globex = await h.call('GET', traffic('globex'));
    expect(globex.body.data.map((s: { sourceIp: string }) => s.sourceIp)).toEqual(['203.0.113.9']);
    expect((await h.call('GET', traffic('initech'))).body).toEqual({
      object: 'list',
      data: [],
      next_cursor: null,
      since: new Date(NOW - 30 * DAY).toISOString(),
      unreadable: 0,
    });
  });

  test("a cursor is bound to its organization: acme's cursor on globex's route is a 400, not globex's data", async () => {
    const first = await h.call('GET', traffic('acme'), { query: { limit: '2' } });
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const foreign = await h.call('GET', traffic('globex'), { query: { cursor: first.body.next_cursor } });
    expect(expectError(foreign, 400, 'invalid_cursor').param).toBe('cursor');
    // A cursor forged to point into globex's partition, used on acme's route.
    const forged = Buffer.from(
      JSON.stringify({
        pk: { S: 'ORG#globex' },
        sk: { S: 'web#key_a#203.0.113.9#blocked' },
        lastSeen: { S: new Date(NOW).toISOString() },
      }),
    ).toString('base64url');
    expect(
      expectError(await h.call('GET', traffic('acme'), { query: { cursor: forged } }), 400, 'invalid_cursor').param,
    ).toBe('cursor');
  });

  test('a tampered or foreign cursor is a 400 naming cursor, never a 500 or a 503', async () => {
    const first = await h.call('GET', traffic('acme'), { query: { limit: '2' } });
    const decoded = JSON.parse(Buffer.from(first.body.next_cursor as string, 'base64url').toString('utf8')) as Record<
      string,
      { S: string }
    >;
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const tampered = [
      'not base64 !',
      encode('a string'),
      encode([1, 2]),
      encode({ ...decoded, extra: { S: 'x' } }),
      encode({ pk: decoded.pk, sk: decoded.sk }),
      encode({ ...decoded, lastSeen: { N: '1' } }),
      encode({ ...decoded, sk: { S: '' } }),
      // Older than since: DynamoDB would refuse the start key as outside the query's range.
      encode({ ...decoded, lastSeen: { S: '2019-01-01T00:00:00.000Z' } }),
      first.body.next_cursor.slice(0, -3),
      'A'.repeat(5000),
    ];
    for (const cursor of tampered) {
      const res = await h.call('GET', traffic('acme'), { query: { cursor } });
      expect({ cursor, status: res.status, code: res.body.error?.code, param: res.body.error?.param }).toEqual({
        cursor,
        status: 400,
        code: 'invalid_cursor',
        param: 'cursor',
      });
    }
    // Well-formed values DynamoDB has never seen still read from that point on, within acme's partition.
    const odd = await h.call('GET', traffic('acme'), {
      query: { cursor: encode({ ...decoded, sk: { S: 'zz#zz' }, lastSeen: { S: 'zzzz' } }) },
    });
    expect(odd.status).toBe(200);
    expect(odd.body.data.every((s: { organizationId: string }) => s.organizationId === 'acme')).toBe(true);
  });

  test('bad filters are 400s naming the parameter', async () => {
    const cases: [Record<string, string>, string, string][] = [
      [{ since: 'yesterday' }, 'since', 'invalid_value'],
      [{ since: '2026-11-30' }, 'since', 'invalid_value'],
      [{ since: '2026-11-30T10:00:00' }, 'since', 'invalid_value'],
      [{ since: '2026-13-45T10:00:00Z' }, 'since', 'invalid_value'],
      [{ since: '2026-02-30T10:00:00Z' }, 'since', 'invalid_value'],
      [{ since: '2026-11-01T24:00:00Z' }, 'since', 'invalid_value'],
      [{ since: '2026-11-01T10:00:00+25:00' }, 'since', 'invalid_value'],
      [{ since: new Date(NOW + 60_000).toISOString() }, 'since', 'invalid_value'],
      [{ outcome: 'denied' }, 'outcome', 'invalid_value'],
      [{ project: 'a#b' }, 'project', 'invalid_value'],
      [{ key: '' }, 'key', 'invalid_value'],
      [{ limit: '0' }, 'limit', 'invalid_value'],
      [{ limit: '101' }, 'limit', 'invalid_value'],
      [{ sort: 'asc' }, 'sort', 'unknown_parameter'],
    ];
    for (const [query, param, code] of cases) {
      const res = await h.call('GET', traffic('acme'), { query });
      expect({ query, status: res.status, code: res.body.error?.code, param: res.body.error?.param }).toEqual({
        query,
        status: 400,
        code,
        param,
      });
      expect(res.body.error.message).toContain(param);
    }
    const future = await h.call('GET', traffic('acme'), { query: { since: '2027-01-01T00:00:00Z' } });
    expect(future.body.error.message).toBe(
      'since is in the future (2027-01-01T00:00:00.000Z, now 2026-11-30T12:00:00.000Z): send a time at or before now, or omit it.',
    );
    const malformed = await h.call('GET', traffic('acme'), { query: { since: 'yesterday' } });
    expect(malformed.body.error.message).toBe(
      'since must be an ISO-8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z, got "yesterday".',
    );
  });
});

describe('pagination through filters', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness('traffic-pages', { now: () => NOW });
    // 300 sightings, one minute apart; every 7th is blocked, every 50th belongs to project rare.
    const updates: SightingUpdate[] = [];
    for (let n = 0; n < 300; n += 1) {
      updates.push(
        sighting(n + 1, {
          sourceIp: `10.0.${Math.floor(n / 250)}.${n % 250}`,
          outcome: n % 7 === 0 ? 'blocked' : 'allowed',
          projectId: n % 50 === 0 ? 'rare' : 'web',
        }),
      );
    }
    await h.recordSightings(updates);
  });
  afterAll(() => h.destroy());

  const pageCases: [Record<string, string>, number][] = [
    [{ limit: '7' }, 300],
    [{ limit: '100' }, 300],
    [{ limit: '3', outcome: 'blocked' }, 43],
    [{ limit: '2', project: 'rare' }, 6],
    [{ limit: '100', project: 'rare', outcome: 'blocked' }, 1],
  ];
  test.each(pageCases)(
    'every page of %j, followed to the end, lists each sighting exactly once, newest first',
    async (query, expected) => {
      const pages = await allPages(h, 'acme', query);
      const all = pages.flatMap((p) => p.data);
      expect(all).toHaveLength(expected);
      expect(new Set(all.map((s) => s.sourceIp)).size).toBe(expected);
      const times = all.map((s) => s.lastSeen);
      expect([...times].sort().reverse()).toEqual(times);
      for (const page of pages) expect(page.data.length).toBeLessThanOrEqual(Number(query.limit));
      if (query.outcome) expect(all.every((s) => s.outcome === query.outcome)).toBe(true);
      if (query.project) expect(all.every((s) => s.projectId === query.project)).toBe(true);
    },
  );

  test('a full page without filters carries a cursor exactly when more follow', async () => {
    const page = await h.call('GET', traffic('acme'), {
      query: { limit: '100', since: new Date(NOW - 100 * MINUTE).toISOString() },
    });
    expect(page.body.data).toHaveLength(100);
    expect(page.body.next_cursor).toBeNull();
  });

  test('a page reads at most 1000 items: a filter matching nothing answers an empty page with a cursor, not a timeout', async () => {
    const updates: SightingUpdate[] = [];
    for (let n = 0; n < 1100; n += 1) {
      updates.push(sighting(400 + n, { organizationId: 'wide', sourceIp: `10.1.${Math.floor(n / 250)}.${n % 250}` }));
    }
    await h.recordSightings(updates);
    const first = await h.call('GET', traffic('wide'), { query: { outcome: 'blocked' } });
    expect(first.status).toBe(200);
    expect(first.body.data).toEqual([]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await h.call('GET', traffic('wide'), {
      query: { outcome: 'blocked', cursor: first.body.next_cursor },
    });
    expect(second.body.data).toEqual([]);
    expect(second.body.next_cursor).toBeNull();
  });
});

describe('what the log cannot show', () => {
  test('expired sightings are left out and unreadable items are counted, not guessed at', async () => {
    const h = await makeHarness('traffic-gaps', { now: () => NOW });
    try {
      // Last seen 2 days ago with a 1-day retention: expired, though DynamoDB's TTL has not deleted it yet.
      await h.recordSightings([sighting(2 * 24 * 60, { sourceIp: '192.0.2.1' })], 86_400);
      await h.recordSightings([sighting(1, { sourceIp: '192.0.2.2' })]);
      await h.ddb.send(
        new PutItemCommand({
          TableName: h.names.traffic,
          Item: { pk: { S: 'ORG#acme' }, sk: { S: 'junk' }, lastSeen: { S: new Date(NOW - MINUTE).toISOString() } },
        }),
      );
      const res = await h.call('GET', traffic('acme'));
      expect(res.body.data.map((s: { sourceIp: string }) => s.sourceIp)).toEqual(['192.0.2.2']);
      expect(res.body.unreadable).toBe(1);
    } finally {
      h.destroy();
    }
  });

  test('a deployment that records no traffic answers 409 traffic_not_recorded (bad input is still a 400)', async () => {
    const h = await makeHarness('traffic-none', { traffic: 'none', now: () => NOW });
    try {
      const res = await h.call('GET', traffic('acme'));
      const error = expectError(res, 409, 'traffic_not_recorded');
      expect(error.message).toContain('records no traffic');
      expectError(await h.call('GET', traffic('acme'), { query: { since: 'soon' } }), 400, 'invalid_value');
    } finally {
      h.destroy();
    }
  });

  test('a failed read of the Traffic table is a 503 storage_unavailable, logged', async () => {
    const proxy = await startDynamoDbProxy(testEndpoint());
    const client = localClient(proxy.endpoint, { maxAttempts: 1 });
    const h = await makeHarness('traffic-down', { handlerClient: client, now: () => NOW });
    try {
      proxy.inject({ operation: 'Query', bodyIncludes: h.names.traffic, refuseWith: 'ResourceNotFoundException' });
      const res = await h.call('GET', traffic('acme'));
      expectError(res, 503, 'storage_unavailable');
      expect(h.logger.records.some((r) => r.level === 'error' && r.message === 'admin request failed')).toBe(true);
    } finally {
      h.destroy();
      client.destroy();
      await proxy.close();
    }
  });
});
