import * as fc from 'fast-check';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { DynamoDbAuthorizerStore } from '../../../lambda/adapters/dynamodb-store';
import { TrafficReader } from '../../../lambda/adapters/traffic-store';
import { AuthorizerReadRequest, AuthorizerReadResult, AuthorizerStore } from '../../../lambda/adapters/dynamodb-store';
import { Authorizer, createAuthorizer } from '../../../lambda/authorizer/authorizer';
import {
  createTrafficWriterClient,
  dynamoDbTrafficWriter,
  TRAFFIC_FLUSH_TIMEOUT_MS,
  TrafficRecorder,
  TrafficRecorderOptions,
} from '../../../lambda/authorizer/recorder';
import { generateApiKey } from '../../../lambda/core/api-key';
import { compileScopeList } from '../../../lambda/core/decision';
import { AllowlistSettings, ApiKeyRecord } from '../../../lambda/core/model';
import { Sighting } from '../../../lambda/core/traffic';
import { freePort, localClient, testEndpoint } from '../../support/dynamodb-local';
import { DynamoDbProxy, startDynamoDbProxy } from '../../support/dynamodb-proxy';
import {
  authorizerEvent,
  CountingClient,
  countingClient,
  list,
  makeTables,
  putKey,
  putOrgList,
  putProjectList,
  SeededKey,
  Tables,
} from './fixtures';

/**
 * The authorizer records what it sees (lambda/authorizer/recorder.ts): the real authorizer, store and SDK clients
 * against DynamoDB Local, the sightings read back with the admin API's TrafficReader. Faults on the Traffic table's
 * UpdateItem come from the loopback proxy (test/support/dynamodb-proxy.ts) or a port nothing listens on.
 */

const DAY = 86_400;
const RETENTION = 30 * DAY;
/** How long the proxy holds an UpdateItem reply: far beyond the bound, so a decision that waited for it shows. */
const HELD_MS = 5_000;
/**
 * The bound in tests of what is recorded: DynamoDB Local on a shared 2-core machine can take longer than the
 * production bound for a write, which would be counted as lost (correctly, but not what those tests look at).
 * The fault tests use the production bound.
 */
const GENEROUS_FLUSH_MS = 5_000;

let t: Tables;
let reads: CountingClient;
const keys: Record<string, SeededKey> = {};

beforeAll(async () => {
  t = await makeTables('recorder');
  reads = countingClient();
  // acme: enforced org list; project "web" report-only (would block outside 198.51.100.0/25); key "narrow" has an
  // enforced list of its own.
  await putOrgList(t, 'acme', list(true, '198.51.100.0/24', '2001:db8:1::/48'));
  await putProjectList(t, 'acme', 'web', { ...list(false, '198.51.100.0/25'), reportOnly: true });
  keys.web = await putKey(t, 'acme', 'web');
  keys.narrow = await putKey(t, 'acme', 'web', { allowlist: list(true, '198.51.100.7/32') });
  keys.open = await putKey(t, 'open', 'p');
});

afterAll(() => {
  reads.client.destroy();
  t.admin.destroy();
});

interface Rig {
  readonly authorizer: Authorizer;
  readonly recorder: TrafficRecorder;
  readonly errors: number[];
  readonly warnings: { message: string; attributes: Record<string, unknown> }[];
  readonly writes: CountingClient;
  setNow(ms: number): void;
}

function rig(options: { writeEndpoint?: string; recorder?: Partial<TrafficRecorderOptions> } = {}): Rig {
  let now = Date.parse('2026-11-30T03:00:00.000Z');
  const writes = countingClient(options.writeEndpoint ?? testEndpoint(), { maxAttempts: 1 });
  const errors: number[] = [];
  const warnings: Rig['warnings'] = [];
  const logger = {
    warn: (message: string, attributes: Record<string, unknown>) => warnings.push({ message, attributes }),
    error: (message: string, attributes: Record<string, unknown>) => warnings.push({ message, attributes }),
  };
  const recorder = new TrafficRecorder({
    tableName: t.names.traffic,
    retentionSeconds: RETENTION,
    writer: dynamoDbTrafficWriter(writes.client),
    logger,
    metrics: { recordTrafficWriteErrors: (count) => errors.push(count) },
    flushTimeoutMs: GENEROUS_FLUSH_MS,
    // Off unless a test is about it: these tests count exactly which invocation writes.
    idleFlushMs: 0,
    ...options.recorder,
  });
  const authorizer = createAuthorizer({
    store: new DynamoDbAuthorizerStore({
      client: reads.client,
      allowlistsTableName: t.names.allowlists,
      apiKeysTableName: t.names.apiKeys,
    }),
    logger,
    memoryCacheTtlSeconds: 2,
    clock: () => now,
    traffic: recorder,
  });
  return {
    authorizer,
    recorder,
    errors,
    warnings,
    writes,
    setNow: (ms) => {
      now = ms;
    },
  };
}

async function sightingsOf(organizationId: string): Promise<Sighting[]> {
  const reader = new TrafficReader(t.admin, t.names.traffic);
  return [...(await reader.readScope({ organizationId, since: 0 }, Date.now())).sightings];
}

const effect = (r: APIGatewayAuthorizerResult) => (r.policyDocument.Statement[0] as { Effect: string }).Effect;

describe('each decision on a valid key is a sighting', () => {
  test('allowed, would_block and blocked, with the deciding scope, the matched entries, count, first and last seen', async () => {
    const r = rig();
    const start = Date.parse('2026-11-30T03:00:00.000Z');
    // Cold: key read, then recorded at once (this invocation did I/O).
    expect(effect(await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.10' })))).toBe(
      'Allow',
    );
    // Warm (no I/O): buffered.
    r.setNow(start + 500);
    await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.10' }));
    r.setNow(start + 900);
    expect(effect(await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.200' })))).toBe(
      'Allow',
    );
    r.setNow(start + 1000);
    expect(effect(await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '203.0.113.9' })))).toBe(
      'Deny',
    );
    expect(r.recorder.buffered).toBe(3);
    expect(r.writes.commands.UpdateItemCommand).toBe(1);
    // The in-memory TTL (2 s) has passed: the next decision reads the store, and flushes what was buffered.
    r.setNow(start + 2500);
    await r.authorizer.handle(authorizerEvent({ key: keys.narrow.key, sourceIp: '198.51.100.7' }));
    expect(r.recorder.buffered).toBe(0);
    expect(r.writes.commands.UpdateItemCommand).toBe(5);
    expect(r.warnings.filter((w) => w.message.startsWith('traffic'))).toEqual([]);
    expect(r.errors).toEqual([]);

    const byIp = Object.fromEntries((await sightingsOf('acme')).map((s) => [`${s.keyId} ${s.sourceIp}`, s]));
    expect(byIp[`${keys.web.keyId} 198.51.100.10`]).toMatchObject({
      organizationId: 'acme',
      projectId: 'web',
      outcome: 'allowed',
      scope: 'organization',
      matched: { organization: '198.51.100.0/24', project: '198.51.100.0/25' },
      count: 2,
      firstSeen: '2026-11-30T03:00:00.000Z',
      lastSeen: '2026-11-30T03:00:00.500Z',
      expiresAt: Math.ceil((start + 500) / 1000) + RETENTION,
    });
    // Let through by the enforced org list; the report-only project list would block it.
    expect(byIp[`${keys.web.keyId} 198.51.100.200`]).toMatchObject({
      outcome: 'would_block',
      scope: 'project',
      matched: { organization: '198.51.100.0/24' },
      count: 1,
    });
    expect(byIp[`${keys.web.keyId} 203.0.113.9`]).toMatchObject({
      outcome: 'blocked',
      scope: 'organization',
      matched: {},
      count: 1,
    });
    expect(byIp[`${keys.narrow.keyId} 198.51.100.7`]).toMatchObject({
      outcome: 'allowed',
      matched: { organization: '198.51.100.0/24', project: '198.51.100.0/25', key: '198.51.100.7/32' },
    });
    r.writes.client.destroy();
  });

  test('a later flush adds to the stored sighting: counts add up, firstSeen stays, lastSeen moves', async () => {
    const r = rig();
    const start = Date.parse('2026-11-30T04:00:00.000Z');
    r.setNow(start);
    await r.authorizer.handle(authorizerEvent({ key: keys.open.key, sourceIp: '192.0.2.1' }));
    for (let i = 1; i <= 5; i++) {
      r.setNow(start + i * 100);
      await r.authorizer.handle(authorizerEvent({ key: keys.open.key, sourceIp: '192.0.2.1' }));
    }
    r.setNow(start + 3000);
    await r.authorizer.handle(authorizerEvent({ key: keys.open.key, sourceIp: '192.0.2.2' }));

    const sightings = await sightingsOf('open');
    expect(sightings.find((s) => s.sourceIp === '192.0.2.1')).toMatchObject({
      outcome: 'allowed',
      scope: 'none',
      matched: {},
      count: 6,
      firstSeen: '2026-11-30T04:00:00.000Z',
      lastSeen: '2026-11-30T04:00:00.500Z',
    });
    r.writes.client.destroy();
  });

  test('warm decisions send nothing to DynamoDB: the writes wait for an invocation that reads anyway', async () => {
    const r = rig();
    const start = Date.parse('2026-11-30T05:00:00.000Z');
    r.setNow(start);
    await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.20' }));
    reads.reset();
    r.writes.reset();
    for (let i = 0; i < 200; i++) {
      r.setNow(start + 1 + i);
      const pending = r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: `198.51.100.${i % 50}` }));
      await pending;
    }
    expect(reads.commands).toEqual({});
    expect(r.writes.commands).toEqual({});
    expect(r.recorder.buffered).toBe(50);
    r.writes.client.destroy();
  });

  test('when traffic stops, a timer writes what warm decisions buffered: a lone request from a new address is recorded', async () => {
    const r = rig({ recorder: { idleFlushMs: 300 } });
    const start = Date.parse('2026-11-30T05:30:00.000Z');
    r.setNow(start);
    await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.70' }));
    expect(r.recorder.buffered).toBe(0);
    r.writes.reset();
    r.setNow(start + 500);
    // Warm: decided from memory, buffered, nothing sent by the decision itself.
    await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.71' }));
    expect(r.writes.commands).toEqual({});
    expect(r.recorder.buffered).toBe(1);
    // No other request comes: the timer writes it.
    const deadline = Date.now() + 10_000;
    while (r.recorder.buffered > 0 || (r.writes.commands.UpdateItemCommand ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error('the idle flush never wrote the buffered sighting');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.writes.commands).toEqual({ UpdateItemCommand: 1 });
    expect((await sightingsOf('acme')).find((s) => s.sourceIp === '198.51.100.71')).toMatchObject({
      keyId: keys.web.keyId,
      count: 1,
      lastSeen: new Date(start + 500).toISOString(),
    });
    expect(r.errors).toEqual([]);
    r.writes.client.destroy();
  });

  test('invalid and missing keys are not sightings (no key id to record them under)', async () => {
    const r = rig();
    await r.authorizer.handle(
      authorizerEvent({
        key: generateApiKey({ organizationId: 'acme', projectId: 'web' }).key,
        sourceIp: '198.51.100.1',
      }),
    );
    await r.authorizer.handle(authorizerEvent({ sourceIp: '198.51.100.1' }));
    expect(r.recorder.buffered).toBe(0);
    expect(r.writes.commands.UpdateItemCommand).toBeUndefined();
    r.writes.client.destroy();
  });
});

describe('recording never fails or holds up a decision', () => {
  let proxy: DynamoDbProxy;
  beforeAll(async () => {
    proxy = await startDynamoDbProxy(testEndpoint());
  });
  afterAll(() => proxy.close());
  afterEach(() => proxy.clear());

  test(`a held UpdateItem reply: the decision does not wait for it (the ${TRAFFIC_FLUSH_TIMEOUT_MS} ms bound ends the flush), the write is counted and logged`, async () => {
    const r = rig({ writeEndpoint: proxy.endpoint, recorder: { flushTimeoutMs: TRAFFIC_FLUSH_TIMEOUT_MS } });
    proxy.inject({ operation: 'UpdateItem', delayMs: HELD_MS });
    const started = Date.now();
    const result = await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.30' }));
    const took = Date.now() - started;

    expect(effect(result)).toBe('Allow');
    // Returned while the reply was still held (no timing threshold of our own: the proxy's hold is the yardstick),
    // and only after the bound had run out (the flush waited for its writes that long, no longer).
    const update = proxy.exchanges.find((e) => e.operation === 'UpdateItem')!;
    expect(update.replyAt).toBeUndefined();
    expect(took).toBeLessThan(HELD_MS);
    expect(took).toBeGreaterThanOrEqual(TRAFFIC_FLUSH_TIMEOUT_MS - 5);
    expect(r.errors).toEqual([1]);
    expect(r.warnings.filter((w) => w.message.startsWith('traffic'))).toEqual([
      {
        message: 'traffic not recorded: sightings lost (decisions were not affected)',
        attributes: expect.objectContaining({ failed: 0, late: 1, dropped: 0, written: 0 }),
      },
    ]);
    r.writes.client.destroy();
  });

  test('a dead endpoint: the same decision, and the failure is counted and logged', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = rig({ writeEndpoint: dead, recorder: { flushTimeoutMs: TRAFFIC_FLUSH_TIMEOUT_MS } });
    const result = await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '203.0.113.50' }));

    expect(effect(result)).toBe('Deny');
    expect(r.errors).toEqual([1]);
    expect(r.warnings.map((w) => w.attributes)).toContainEqual(
      expect.objectContaining({ failed: 1, late: 0, cause: expect.stringContaining('ECONNREFUSED') }),
    );
    r.writes.client.destroy();
  });

  test('a throttled write is a count, not a retry: UpdateItem adds, so a repeat could count twice', async () => {
    const r = rig({ writeEndpoint: proxy.endpoint });
    proxy.inject({ operation: 'UpdateItem', refuseWith: 'ThrottlingException' });
    const result = await r.authorizer.handle(authorizerEvent({ key: keys.web.key, sourceIp: '198.51.100.31' }));

    expect(effect(result)).toBe('Allow');
    expect(r.errors).toEqual([1]);
    expect(r.writes.commands.UpdateItemCommand).toBe(1);
    expect(r.recorder.buffered).toBe(0);
    r.writes.client.destroy();
  });

  test('the buffer is bounded: a flood of addresses drops the sightings beyond it and counts them', async () => {
    const r = rig({ recorder: { maxBufferedSightings: 5, maxWritesPerFlush: 3 } });
    const start = Date.parse('2026-11-30T06:00:00.000Z');
    r.setNow(start);
    await r.authorizer.handle(authorizerEvent({ key: keys.open.key, sourceIp: '192.0.2.100' }));
    for (let i = 0; i < 40; i++) {
      r.setNow(start + 10 + i);
      await r.authorizer.handle(authorizerEvent({ key: keys.open.key, sourceIp: `2001:db8:ff::${i.toString(16)}` }));
    }
    expect(r.recorder.buffered).toBe(5);
    r.setNow(start + 3000);
    await r.authorizer.handle(authorizerEvent({ key: keys.open.key, sourceIp: '192.0.2.100' }));
    // 35 flooders dropped, and this decision's sighting too (its first was written, the buffer is full): 36. Then 3
    // written (the oldest); the other 2 wait for the next flush.
    expect(r.errors).toEqual([36]);
    expect(r.writes.commands.UpdateItemCommand).toBe(1 + 3);
    expect(r.recorder.buffered).toBe(2);
    r.writes.client.destroy();
  });
});

/** A store that answers from memory with the lists it is given (for many cases fast); counts nothing. */
class ListStore implements AuthorizerStore {
  constructor(
    private readonly record: ApiKeyRecord,
    private readonly organization: AllowlistSettings,
    private readonly project: AllowlistSettings,
  ) {}

  read(request: AuthorizerReadRequest): Promise<AuthorizerReadResult> {
    const result: { -readonly [K in keyof AuthorizerReadResult]: AuthorizerReadResult[K] } = {};
    if (request.keyHash !== undefined) result.key = request.keyHash === this.record.keyHash ? this.record : null;
    if (request.organizationList) result.organizationList = this.organization;
    if (request.projectList) result.projectList = this.project;
    return Promise.resolve(result);
  }
}

test("the writer's own client sends each UpdateItem once: a reply lost after DynamoDB applied it is a counted loss, never a second count", async () => {
  const proxy = await startDynamoDbProxy(testEndpoint());
  // What index.ts wires, pointed at the proxy.
  const client = createTrafficWriterClient({
    endpoint: proxy.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const errors: number[] = [];
    const recorder = new TrafficRecorder({
      tableName: t.names.traffic,
      retentionSeconds: RETENTION,
      writer: dynamoDbTrafficWriter(client),
      logger: { warn: () => undefined },
      metrics: { recordTrafficWriteErrors: (n) => errors.push(n) },
      flushTimeoutMs: GENEROUS_FLUSH_MS,
      idleFlushMs: 0,
    });
    const off = compileScopeList({ enabled: false, entries: [], version: 0 }, Date.now());
    const owner = { keyId: 'key_once', organizationId: 'once', projectId: 'p', keyList: undefined };
    for (let i = 0; i < 5; i++) {
      proxy.inject({ operation: 'UpdateItem', dropReply: true, times: 1 });
      recorder.note({ key: owner, organization: off, project: off }, `198.51.100.${i}`, 'allowed', 'none', Date.now());
      await recorder.flush(Date.now());
      proxy.clear();
    }
    expect(proxy.exchanges.filter((e) => e.operation === 'UpdateItem')).toHaveLength(5);
    expect(errors.reduce((a, b) => a + b, 0)).toBe(5);
    const stored = await sightingsOf('once');
    expect(stored.map((s) => s.count)).toEqual([1, 1, 1, 1, 1]);
  } finally {
    client.destroy();
    await proxy.close();
  }
});

test('decisions are identical with recording on and off, for any lists, modes and addresses', async () => {
  const writes = localClient(testEndpoint());
  const octet = fc.integer({ min: 0, max: 3 });
  // Valid entries that overlap in every way: nested, disjoint, single addresses inside and outside ranges.
  const cidr = fc.constantFrom(
    '10.0.0.0/8',
    '10.0.0.0/16',
    '10.0.1.0/24',
    '10.1.0.0/16',
    '10.0.0.0/30',
    '10.0.0.1',
    '10.1.2.3',
    '10.2.0.0/24',
    '10.3.3.3',
  );
  const mode = fc.constantFrom('enforce', 'report_only', 'off');
  const settings = (m: string, entries: string[]): AllowlistSettings => ({
    ...list(m === 'enforce', ...new Set(entries)),
    ...(m === 'report_only' ? { reportOnly: true } : {}),
  });
  const scopeList = fc.tuple(mode, fc.array(cidr, { minLength: 1, maxLength: 4 }));
  const ips = fc.array(
    fc.tuple(octet, octet, octet).map(([a, b, c]) => `10.${a}.${b}.${c}`),
    { minLength: 1, maxLength: 8 },
  );
  try {
    await fc.assert(
      fc.asyncProperty(scopeList, scopeList, fc.option(scopeList), ips, async (org, project, own, addresses) => {
        const generated = generateApiKey({ organizationId: 'prop', projectId: 'p' });
        const record: ApiKeyRecord = {
          keyHash: generated.keyHash,
          keyId: generated.keyId,
          organizationId: 'prop',
          projectId: 'p',
          name: 'prop',
          status: 'active',
          createdAt: '2026-01-01T00:00:00Z',
          createdBy: 'test',
          redactedValue: generated.redactedValue,
          ...(own === null ? {} : { allowlist: settings(own[0], own[1]) }),
        };
        const store = new ListStore(record, settings(org[0], org[1]), settings(project[0], project[1]));
        const logger = { warn: () => undefined, error: () => undefined };
        const off = createAuthorizer({ store, logger, memoryCacheTtlSeconds: 2 });
        const on = createAuthorizer({
          store,
          logger,
          memoryCacheTtlSeconds: 2,
          traffic: new TrafficRecorder({
            tableName: t.names.traffic,
            retentionSeconds: RETENTION,
            writer: dynamoDbTrafficWriter(writes),
            logger,
          }),
        });
        for (const sourceIp of addresses) {
          const event = authorizerEvent({ key: generated.key, sourceIp });
          expect(await on.handle(event)).toEqual(await off.handle(event));
        }
      }),
      { numRuns: 60 },
    );
  } finally {
    writes.destroy();
  }
});
