import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { TrafficReader } from '../../../lambda/adapters/traffic-store';
import type { SightingUpdate } from '../../../lambda/core/traffic';
import { localClient, testEndpoint } from '../../support/dynamodb-local';
import { startDynamoDbProxy } from '../../support/dynamodb-proxy';
import { Harness, keysPath, makeHarness } from './fixtures';

/**
 * `lastMatchedAt` on GET of the organization, project and key lists, through the real handler on DynamoDB Local:
 * computed from the sightings the authorizer records (harness.recordSightings writes them the same way), per
 * list scope, within the retention; and the list is answered whatever happens to the traffic, with a warning
 * saying why the times are missing or may be incomplete.
 */

const MINUTE = 60_000;
const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const iso = (minutesAgo: number) => new Date(NOW - minutesAgo * MINUTE).toISOString();

function sighting(minutesAgo: number, overrides: Partial<SightingUpdate> = {}): SightingUpdate {
  const at = NOW - minutesAgo * MINUTE;
  return {
    organizationId: 'acme',
    projectId: 'web',
    keyId: 'key_a',
    sourceIp: '198.51.100.7',
    outcome: 'allowed',
    scope: 'organization',
    matched: {},
    count: 1,
    firstSeen: at,
    lastSeen: at,
    ...overrides,
  };
}

type Entry = { value: string; lastMatchedAt: string | null };
const times = (body: { entries: Entry[] }) => Object.fromEntries(body.entries.map((e) => [e.value, e.lastMatchedAt]));

const ORG_LIST = '/v1/organizations/acme/ip_allowlist';
const PROJECT_LIST = '/v1/organizations/acme/projects/web/ip_allowlist';

describe('lastMatchedAt', () => {
  let h: Harness;
  let keyList: string;
  let keyId: string;
  beforeAll(async () => {
    h = await makeHarness('last-matched', { now: () => NOW, trafficRetentionSeconds: 7 * 86_400 });
    const entries = ['198.51.100.0/24', '203.0.113.0/24', '192.0.2.0/24'];
    await h.call('PUT', ORG_LIST, { body: { entries } });
    await h.call('PUT', PROJECT_LIST, { body: { entries } });
    const key = await h.call('POST', keysPath('acme', 'web'), { body: { name: 'backend' } });
    keyId = key.body.id as string;
    keyList = `${keysPath('acme', 'web')}/${keyId}/ip_allowlist`;
    await h.call('PUT', keyList, { body: { entries } });
    await h.recordSightings([
      // The organization list's 198.51.100.0/24 matched three times: the latest wins, whatever the outcome.
      sighting(30, { matched: { organization: '198.51.100.0/24' } }),
      sighting(10, { sourceIp: '198.51.100.8', outcome: 'blocked', matched: { organization: '198.51.100.0/24' } }),
      sighting(20, { projectId: 'api', keyId: 'key_z', matched: { organization: '198.51.100.0/24' } }),
      // The project list's 203.0.113.0/24 in project web, and in project api (another list).
      sighting(15, { sourceIp: '203.0.113.1', matched: { project: '203.0.113.0/24' }, outcome: 'would_block' }),
      sighting(5, {
        sourceIp: '203.0.113.1',
        projectId: 'api',
        keyId: 'key_z',
        matched: { project: '203.0.113.0/24' },
      }),
      // The key list's 192.0.2.0/24, for this key, and for another key of the project.
      sighting(25, { sourceIp: '192.0.2.1', keyId: 'key_stale', matched: { key: '192.0.2.0/24' } }),
      sighting(3, { sourceIp: '192.0.2.1', keyId: 'key_other', matched: { key: '192.0.2.0/24' } }),
      // 203.0.113.0/24 of the organization list, 8 days ago: older than the 7-day retention.
      sighting(8 * 24 * 60, { sourceIp: '203.0.113.1', matched: { organization: '203.0.113.0/24' } }),
      // Another organization's traffic never counts.
      sighting(1, { organizationId: 'globex', matched: { organization: '192.0.2.0/24', project: '192.0.2.0/24' } }),
    ]);
    // The key's sightings carry its real id.
    await h.recordSightings([sighting(25, { sourceIp: '192.0.2.1', keyId, matched: { key: '192.0.2.0/24' } })]);
  });
  afterAll(() => h.destroy());

  test('the organization list: the latest sighting whose organization match is the entry, in any project', async () => {
    const res = await h.call('GET', ORG_LIST);
    expect(res.status).toBe(200);
    expect(times(res.body)).toEqual({ '198.51.100.0/24': iso(10), '203.0.113.0/24': null, '192.0.2.0/24': null });
    expect(res.body.warnings).toEqual([]);
  });

  test("the project list: only this project's sightings, by their project match", async () => {
    const res = await h.call('GET', PROJECT_LIST);
    expect(times(res.body)).toEqual({ '198.51.100.0/24': null, '203.0.113.0/24': iso(15), '192.0.2.0/24': null });
  });

  test("the key list: only this key's sightings, by their key match", async () => {
    const res = await h.call('GET', keyList);
    expect(times(res.body)).toEqual({ '198.51.100.0/24': null, '203.0.113.0/24': null, '192.0.2.0/24': iso(25) });
  });

  test('writes answer the list without lastMatchedAt or traffic warnings: only a GET reads the traffic', async () => {
    const res = await h.call('POST', `${ORG_LIST}/disable`);
    expect(res.status).toBe(200);
    expect(res.body.entries[0]).not.toHaveProperty('lastMatchedAt');
    expect(res.body).toHaveProperty('propagation');
  });
});

describe('when the traffic cannot tell', () => {
  test('a deployment that records no traffic: every lastMatchedAt is null and a warning says why', async () => {
    const h = await makeHarness('last-matched-none', { traffic: 'none', now: () => NOW });
    try {
      await h.call('PUT', ORG_LIST, { body: { entries: ['198.51.100.0/24'] } });
      const res = await h.call('GET', ORG_LIST);
      expect(res.status).toBe(200);
      expect(times(res.body)).toEqual({ '198.51.100.0/24': null });
      expect(res.body.warnings).toEqual([
        {
          code: 'traffic_not_recorded',
          message:
            'This deployment records no traffic (its tables have no Traffic table), so lastMatchedAt is null for every entry: it does not mean the entries are unused.',
        },
      ]);
    } finally {
      h.destroy();
    }
  });

  test('a failed traffic read: the list is still answered (200, its ETag), lastMatchedAt null, a warning, a log line', async () => {
    const proxy = await startDynamoDbProxy(testEndpoint());
    const client = localClient(proxy.endpoint, { maxAttempts: 1 });
    const h = await makeHarness('last-matched-down', { handlerClient: client, now: () => NOW });
    try {
      await h.call('PUT', ORG_LIST, { body: { entries: ['198.51.100.0/24'] } });
      await h.recordSightings([sighting(1, { matched: { organization: '198.51.100.0/24' } })]);
      proxy.inject({ operation: 'Query', bodyIncludes: h.names.traffic, refuseWith: 'ThrottlingException' });
      const res = await h.call('GET', ORG_LIST);
      expect(res.status).toBe(200);
      expect(res.headers.ETag).toBe('"1"');
      expect(times(res.body)).toEqual({ '198.51.100.0/24': null });
      expect(res.body.warnings.map((w: { code: string }) => w.code)).toEqual(['traffic_unavailable']);
      expect(h.logger.records).toContainEqual(
        expect.objectContaining({ level: 'warn', message: 'traffic unreadable for lastMatchedAt' }),
      );
      // The fault gone, the time is there.
      proxy.clear();
      expect(times((await h.call('GET', ORG_LIST)).body)).toEqual({ '198.51.100.0/24': iso(1) });
    } finally {
      h.destroy();
      client.destroy();
      await proxy.close();
    }
  });

  test('a traffic read slower than the request may wait: the list answered in time, with a warning', async () => {
    const proxy = await startDynamoDbProxy(testEndpoint());
    const client = localClient(proxy.endpoint, { maxAttempts: 1 });
    const h = await makeHarness('last-matched-slow', { handlerClient: client, now: () => NOW });
    try {
      await h.call('PUT', ORG_LIST, { body: { entries: ['198.51.100.0/24'] } });
      proxy.inject({ operation: 'Query', bodyIncludes: h.names.traffic, delayMs: 3000 });
      // 1.5 s left in the Lambda, less the response margin: 0.5 s for the reads.
      const res = await h.call('GET', ORG_LIST, { remainingMs: 1500 });
      expect(res.status).toBe(200);
      expect(times(res.body)).toEqual({ '198.51.100.0/24': null });
      expect(res.body.warnings).toEqual([
        {
          code: 'traffic_unavailable',
          message:
            'The traffic could not be read in time for this answer, so lastMatchedAt is null for every entry: it does not mean the entries are unused. Retry to see them.',
        },
      ]);
    } finally {
      h.destroy();
      client.destroy();
      await proxy.close();
    }
  });

  test('the list read failing is still a 503: the traffic never stands in for the list', async () => {
    const proxy = await startDynamoDbProxy(testEndpoint());
    const client = localClient(proxy.endpoint, { maxAttempts: 1 });
    const h = await makeHarness('last-matched-list-down', { handlerClient: client, now: () => NOW });
    try {
      proxy.inject({ operation: 'GetItem', refuseWith: 'ResourceNotFoundException' });
      const res = await h.call('GET', ORG_LIST);
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 503, code: 'storage_unavailable' });
    } finally {
      h.destroy();
      client.destroy();
      await proxy.close();
    }
  });

  test('a read cut short (too many sightings) or unreadable items: the times shown, and a warning that they may be incomplete', async () => {
    // The real reader with a bound of 2 sightings per scope read, in place of 10,000.
    class SmallReader extends TrafficReader {
      override readScope(...[scope, now]: Parameters<TrafficReader['readScope']>) {
        return super.readScope(scope, now, 2);
      }
    }
    const h = await makeHarness('last-matched-cut', { now: () => NOW, traffic: (c, t) => new SmallReader(c, t) });
    try {
      await h.call('PUT', ORG_LIST, { body: { entries: ['198.51.100.0/24'] } });
      await h.recordSightings(
        [1, 2, 3].map((n) =>
          sighting(n, { sourceIp: `198.51.100.${n}`, matched: { organization: '198.51.100.0/24' } }),
        ),
      );
      const cut = await h.call('GET', ORG_LIST);
      expect(cut.status).toBe(200);
      expect(cut.body.warnings).toEqual([
        {
          code: 'traffic_incomplete',
          message:
            'lastMatchedAt may be missing or too old for some entries: only the first 2 sightings of this scope were read.',
        },
      ]);
      expect(cut.body.entries[0].lastMatchedAt).toEqual(expect.any(String));
    } finally {
      h.destroy();
    }
    const h2 = await makeHarness('last-matched-junk', { now: () => NOW });
    try {
      await h2.call('PUT', ORG_LIST, { body: { entries: ['198.51.100.0/24'] } });
      await h2.ddb.send(
        new PutItemCommand({ TableName: h2.names.traffic, Item: { pk: { S: 'ORG#acme' }, sk: { S: 'junk' } } }),
      );
      const res = await h2.call('GET', ORG_LIST);
      expect(res.body.warnings).toEqual([
        {
          code: 'traffic_incomplete',
          message: 'lastMatchedAt may be missing or too old for some entries: 1 traffic item(s) could not be read.',
        },
      ]);
    } finally {
      h2.destroy();
    }
  });
});
