import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { TRAFFIC_BY_LAST_SEEN_INDEX } from '../../../lambda/adapters/schema';
import { sightingFromItem, trafficPk, writeSighting } from '../../../lambda/adapters/traffic-items';
import { TrafficReader } from '../../../lambda/adapters/traffic-store';
import { StoreUnavailableError } from '../../../lambda/adapters/admin-store';
import { SightingUpdate } from '../../../lambda/core/traffic';
import { createTables, localClient, TableNames, testEndpoint, uniquePrefix } from '../../support/dynamodb-local';

/** The Traffic table's items and the admin API's reader, on DynamoDB Local with the real SDK. */

const DAY = 86_400;
const T0 = Date.parse('2026-11-20T10:00:00.000Z');

let ddb: DynamoDBClient;
let names: TableNames;
let reader: TrafficReader;

function sighting(overrides: Partial<SightingUpdate> = {}): SightingUpdate {
  return {
    organizationId: 'acme',
    projectId: 'web',
    keyId: 'key_1',
    sourceIp: '127.0.0.1',
    outcome: 'allowed',
    scope: 'organization',
    matched: { organization: '127.0.0.0/8' },
    count: 1,
    firstSeen: T0,
    lastSeen: T0,
    ...overrides,
  };
}

async function record(update: SightingUpdate, retentionSeconds = 30 * DAY): Promise<void> {
  await writeSighting(ddb, names.traffic, update, retentionSeconds);
}

beforeAll(async () => {
  ddb = localClient(testEndpoint());
  names = await createTables(ddb, uniquePrefix('traffic'));
  reader = new TrafficReader(ddb, names.traffic);
});

afterAll(() => ddb.destroy());

test('updates of one sighting add their counts, keep the first time and move the last time and the expiry', async () => {
  await record(sighting({ organizationId: 'sum', count: 2, firstSeen: T0, lastSeen: T0 + 1000 }));
  await record(sighting({ organizationId: 'sum', count: 3, firstSeen: T0 + 5000, lastSeen: T0 + 9000 }), 7 * DAY);
  const { sightings, unreadable, truncated } = await reader.readScope({ organizationId: 'sum', since: 0 }, T0);
  expect({ unreadable, truncated }).toEqual({ unreadable: 0, truncated: false });
  expect(sightings).toEqual([
    {
      organizationId: 'sum',
      projectId: 'web',
      keyId: 'key_1',
      sourceIp: '127.0.0.1',
      outcome: 'allowed',
      scope: 'organization',
      matched: { organization: '127.0.0.0/8' },
      count: 5,
      firstSeen: new Date(T0).toISOString(),
      lastSeen: new Date(T0 + 9000).toISOString(),
      expiresAt: Math.ceil((T0 + 9000) / 1000) + 7 * DAY,
    },
  ]);
});

test('a late write never moves a sighting back: its decisions are counted, lastSeen and the expiry stay', async () => {
  await record(sighting({ organizationId: 'late', count: 1, firstSeen: T0 + 8000, lastSeen: T0 + 9000 }));
  // Flushed late (a frozen container's buffer), with older decisions.
  await record(sighting({ organizationId: 'late', count: 2, firstSeen: T0, lastSeen: T0 + 1000 }));
  const { sightings } = await reader.readScope({ organizationId: 'late', since: 0 }, T0);
  expect(sightings).toEqual([
    expect.objectContaining({
      count: 3,
      lastSeen: new Date(T0 + 9000).toISOString(),
      expiresAt: Math.ceil((T0 + 9000) / 1000) + 30 * DAY,
    }),
  ]);
});

test('the matched entries are those of the latest update: a list that no longer matched loses its entry', async () => {
  await record(sighting({ organizationId: 'match', matched: { organization: '127.0.0.0/8', key: '127.0.0.1/32' } }));
  await record(sighting({ organizationId: 'match', matched: { project: '127.0.0.0/24' }, lastSeen: T0 + 1 }));
  const { sightings } = await reader.readScope({ organizationId: 'match', since: 0 }, T0);
  expect(sightings.map((s) => s.matched)).toEqual([{ project: '127.0.0.0/24' }]);
});

test('each outcome of a (key, address) is its own sighting, and scopes narrow to a project or a key', async () => {
  const org = 'scopes';
  await record(sighting({ organizationId: org, outcome: 'allowed' }));
  await record(sighting({ organizationId: org, outcome: 'blocked', scope: 'project', matched: {} }));
  await record(sighting({ organizationId: org, keyId: 'key_2', outcome: 'would_block', scope: 'key' }));
  await record(sighting({ organizationId: org, projectId: 'web2', keyId: 'key_3' }));
  await record(sighting({ organizationId: 'other', keyId: 'key_9' }));

  const all = await reader.readScope({ organizationId: org, since: 0 }, T0);
  expect(all.sightings.map((s) => `${s.projectId}/${s.keyId}/${s.outcome}`)).toEqual([
    'web/key_1/allowed',
    'web/key_1/blocked',
    'web/key_2/would_block',
    'web2/key_3/allowed',
  ]);
  // `web` is a prefix of `web2`: the sort-key prefix ends at the separator, so one project never reads another's.
  const project = await reader.readScope({ organizationId: org, projectId: 'web', since: 0 }, T0);
  expect(project.sightings.map((s) => s.keyId)).toEqual(['key_1', 'key_1', 'key_2']);
  const key = await reader.readScope({ organizationId: org, projectId: 'web', keyId: 'key_1', since: 0 }, T0);
  expect(key.sightings.map((s) => s.outcome)).toEqual(['allowed', 'blocked']);
});

test('sightings last seen before `since`, or past their expiry, are left out', async () => {
  const org = 'window';
  await record(sighting({ organizationId: org, keyId: 'old', lastSeen: T0 - 2 * DAY * 1000 }));
  await record(sighting({ organizationId: org, keyId: 'expired', lastSeen: T0 - 1000 }), 1);
  await record(sighting({ organizationId: org, keyId: 'recent', lastSeen: T0 - 1000 }));
  const { sightings } = await reader.readScope({ organizationId: org, since: T0 - DAY * 1000 }, T0);
  expect(sightings.map((s) => s.keyId)).toEqual(['recent']);
});

test('an item that is not a sighting is counted as unreadable, never read as one', async () => {
  const org = 'corrupt';
  await record(sighting({ organizationId: org }));
  await ddb.send(
    new PutItemCommand({
      TableName: names.traffic,
      Item: { pk: { S: trafficPk(org) }, sk: { S: 'web#key_1#127.0.0.9#allowed' }, count: { S: 'many' } },
    }),
  );
  const { sightings, unreadable } = await reader.readScope({ organizationId: org, since: 0 }, T0);
  expect(sightings).toHaveLength(1);
  expect(unreadable).toBe(1);
  expect(() => sightingFromItem({ pk: { S: 'x' } })).toThrow(/corrupt DynamoDB item/);
});

test('maxItems bounds a read and says so', async () => {
  const org = 'many';
  for (let i = 0; i < 5; i++) await record(sighting({ organizationId: org, sourceIp: `127.0.0.${i + 1}` }));
  const capped = await reader.readScope({ organizationId: org, since: 0 }, T0, 3);
  expect(capped.sightings).toHaveLength(3);
  expect(capped.truncated).toBe(true);
  expect((await reader.readScope({ organizationId: org, since: 0 }, T0, 5)).truncated).toBe(false);
});

test('the byLastSeen index lists an organization newest first', async () => {
  const org = 'newest';
  await record(sighting({ organizationId: org, keyId: 'a', lastSeen: T0 + 1 }));
  await record(sighting({ organizationId: org, keyId: 'b', lastSeen: T0 + 3 }));
  await record(sighting({ organizationId: org, keyId: 'c', lastSeen: T0 + 2 }));
  const out = await ddb.send(
    new QueryCommand({
      TableName: names.traffic,
      IndexName: TRAFFIC_BY_LAST_SEEN_INDEX,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: trafficPk(org) } },
      ScanIndexForward: false,
    }),
  );
  expect((out.Items ?? []).map((i) => sightingFromItem(i).keyId)).toEqual(['b', 'c', 'a']);
});

test('a store that cannot be read is StoreUnavailableError', async () => {
  const dead = localClient('http://127.0.0.1:9', { maxAttempts: 1 });
  try {
    await expect(
      new TrafficReader(dead, names.traffic).readScope({ organizationId: 'x', since: 0 }, T0),
    ).rejects.toThrow(StoreUnavailableError);
  } finally {
    dead.destroy();
  }
});
