import { AdminClient } from '../../cli/admin-client';
import { TrafficReader } from '../../lambda/adapters/traffic-store';
import { Sighting } from '../../lambda/core/traffic';
import { RunningLocalMode } from '../../local/local-mode';
import { localClient, testEndpoint } from '../support/dynamodb-local';
import { bearer, call } from '../local/support/http';
import { E2eLocalMode, startE2eLocalMode } from './support/local-mode';

/*
 * The authorizer records what it sees, end to end through local mode: the Traffic table created in DynamoDB Local
 * from the synthesized template, the real authorizer Lambda behind the emulated gateway, real HTTP clients bound
 * to 127.0.0.1 and 127.0.0.2, and the sightings read back with the admin API's reader.
 */

jest.setTimeout(120_000);

let e2e: E2eLocalMode;
let local: RunningLocalMode;
let admin: AdminClient;

beforeAll(async () => {
  e2e = await startE2eLocalMode('traffic', { propagationDelaySeconds: 9, seed: false });
  local = e2e.local;
  admin = new AdminClient({ endpoint: local.adminUrl!, localUser: 'e2e' });
});

afterAll(async () => {
  await e2e?.stop();
});

function trafficTableName(): string {
  const names = Object.entries(local.tables).filter(([logicalId]) => /Traffic/.test(logicalId));
  expect(names).toHaveLength(1);
  return names[0][1];
}

async function sightings(org: string): Promise<Sighting[]> {
  const client = localClient(testEndpoint());
  try {
    return [
      ...(await new TrafficReader(client, trafficTableName()).readScope({ organizationId: org, since: 0 }, Date.now()))
        .sightings,
    ];
  } finally {
    client.destroy();
  }
}

test('the Traffic table comes from the template, with its byLastSeen index', async () => {
  const client = localClient(testEndpoint());
  try {
    const { DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');
    const table = (await client.send(new DescribeTableCommand({ TableName: trafficTableName() }))).Table!;
    expect(table.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['byLastSeen']);
  } finally {
    client.destroy();
  }
});

test('requests from 127.0.0.1 and 127.0.0.2 are recorded per address: allowed, would_block, then blocked', async () => {
  const org = 'traffic-e2e';
  const key = (await admin.createKey(org, 'app', 'backend')).body;
  await admin.addEntries({ org, project: 'app' }, [{ value: '127.0.0.1' }]);
  await admin.setMode({ org, project: 'app' }, 'report_only');

  const fromListed = await call(`${local.url}/hello`, { headers: bearer(key.key), localAddress: '127.0.0.1' });
  const fromOther = await call(`${local.url}/hello`, { headers: bearer(key.key), localAddress: '127.0.0.2' });
  await admin.setMode({ org, project: 'app' }, 'enforce');
  const blocked = await call(`${local.url}/hello`, { headers: bearer(key.key), localAddress: '127.0.0.2' });

  expect([fromListed.status, fromOther.status, blocked.status]).toEqual([200, 200, 401]);
  const seen = (await sightings(org)).map((s) => ({
    keyId: s.keyId,
    sourceIp: s.sourceIp,
    outcome: s.outcome,
    scope: s.scope,
    matched: s.matched,
    count: s.count,
  }));
  expect(seen).toEqual([
    {
      keyId: key.id,
      sourceIp: '127.0.0.1',
      outcome: 'allowed',
      scope: 'none',
      matched: { project: '127.0.0.1/32' },
      count: 1,
    },
    { keyId: key.id, sourceIp: '127.0.0.2', outcome: 'blocked', scope: 'project', matched: {}, count: 1 },
    { keyId: key.id, sourceIp: '127.0.0.2', outcome: 'would_block', scope: 'project', matched: {}, count: 1 },
  ]);
});
