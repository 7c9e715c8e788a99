import { BatchGetItemCommandInput } from '@aws-sdk/client-dynamodb';
import { generateApiKey } from '../lambda/core/api-key';
import { splitPropagationDelay } from '../lambda/core/propagation';
import { DynamoDbAuthorizerStore } from '../lambda/adapters/dynamodb-store';
import { createAuthorizer } from '../lambda/authorizer/authorizer';
import { createTables, localClient, uniquePrefix } from '../test/support/dynamodb-local';
import { allowlist, authorizerEvent, makeTenant, seedTenant, Tenant } from './fixture';
import { RoundTripCounter } from './round-trips';
import { median, percentile, round } from './stats';

/**
 * Cold decisions: the real authorizer and the real DynamoDB store adapter on a real SDK client against DynamoDB
 * Local, with empty in-memory caches (a new authorizer per decision, as after a cold start or a cache expiry).
 * Round trips are counted by a middleware on that client (round-trips.ts).
 */

interface ColdScenario {
  readonly name: string;
  readonly tenant: Tenant;
  /** The key as presented (defaults to the tenant's). */
  readonly presented?: string;
  readonly ip: string;
  readonly expect: 'Allow' | 'Deny';
  /** Whether the tenant is written to the tables (false: a well-formed key nobody created). */
  readonly stored: boolean;
}

export interface ColdCaseResult {
  readonly name: string;
  readonly effect: string;
  readonly round_trips: number;
  readonly sequential_round_trips: number;
  readonly commands: string[];
  /** A second decision by the same (now warm) authorizer. */
  readonly warm_round_trips: number;
}

export interface ColdResult {
  /** Most sequential DynamoDB round trips any cold decision needed. */
  readonly round_trips: number;
  /** Most HTTP requests (parallel ones included) any cold decision sent. */
  readonly total_round_trips_max: number;
  readonly median_ms: number;
  readonly p90_ms: number;
  readonly latency_samples: number;
  readonly method: string;
  readonly cases: ColdCaseResult[];
  /** The forged-key flood: made-up keys naming one real tenant. */
  readonly forged: ForgedFloodResult;
}

export interface ForgedFloodResult {
  readonly requests: number;
  /** In-memory windows the flood spanned (the authorizer's memory TTL at the default delay, 2 s). */
  readonly windows: number;
  readonly store_calls: number;
  readonly key_items_read: number;
  readonly list_items_read: number;
  /** Reads of each of the tenant's lists per in-memory window (the target: at most 1). */
  readonly list_reads_per_tenant_window: number;
  readonly tenant_list_entries: number;
  readonly method: string;
}

const silentLogger = { warn: () => {}, error: () => {} };

function scenarios(): ColdScenario[] {
  const both = makeTenant({
    organizationId: 'org-cold',
    projectId: 'proj-both',
    organization: allowlist(['198.51.100.0/24']),
    project: allowlist(['203.0.113.0/24', '2001:db8:1::/48']),
  });
  const orgOnly = makeTenant({
    organizationId: 'org-cold2',
    projectId: 'proj-org',
    organization: allowlist(['203.0.113.0/24']),
  });
  const none = makeTenant({ organizationId: 'org-cold3', projectId: 'proj-none' });
  const keyList = makeTenant({
    organizationId: 'org-cold4',
    projectId: 'proj-key',
    project: allowlist(['203.0.113.0/24']),
    keyList: allowlist(['203.0.113.7/32']),
  });
  const revoked = makeTenant({ organizationId: 'org-cold5', projectId: 'proj-rev', status: 'revoked' });
  const unknownKey = makeTenant({ organizationId: 'org-cold', projectId: 'proj-both' }); // never stored
  return [
    {
      name: 'allow, project list (org list also enabled)',
      tenant: both,
      ip: '203.0.113.10',
      expect: 'Allow',
      stored: true,
    },
    { name: 'allow, IPv6 caller', tenant: both, ip: '2001:db8:1::42', expect: 'Allow', stored: true },
    { name: 'deny, IP outside the project list', tenant: both, ip: '198.51.100.9', expect: 'Deny', stored: true },
    { name: 'allow, organization list only', tenant: orgOnly, ip: '203.0.113.10', expect: 'Allow', stored: true },
    { name: 'allow, no list enabled', tenant: none, ip: '192.0.2.1', expect: 'Allow', stored: true },
    { name: 'allow, per-key list narrows', tenant: keyList, ip: '203.0.113.7', expect: 'Allow', stored: true },
    { name: 'deny, revoked key', tenant: revoked, ip: '192.0.2.1', expect: 'Deny', stored: true },
    { name: 'deny, unknown well-formed key', tenant: unknownKey, ip: '203.0.113.10', expect: 'Deny', stored: false },
    {
      name: 'deny, malformed key (no storage)',
      tenant: both,
      presented: 'sk-not-a-key',
      ip: '203.0.113.10',
      expect: 'Deny',
      stored: true,
    },
  ];
}

export async function runCold(
  endpoint: string,
  options: { latencySamples: number } = { latencySamples: 40 },
): Promise<ColdResult> {
  const client = localClient(endpoint, { maxAttempts: 2 });
  const counter = new RoundTripCounter(client);
  try {
    const tables = await createTables(client, uniquePrefix('bench-cold'));
    const list = scenarios();
    const stored = new Set<Tenant>();
    for (const s of list) {
      if (!s.stored || stored.has(s.tenant)) continue;
      await seedTenant(client, tables, s.tenant);
      stored.add(s.tenant);
    }
    const store = new DynamoDbAuthorizerStore({
      client,
      allowlistsTableName: tables.allowlists,
      apiKeysTableName: tables.apiKeys,
    });
    const fresh = () => createAuthorizer({ store, logger: silentLogger, memoryCacheTtlSeconds: 2 });

    const cases: ColdCaseResult[] = [];
    for (const s of list) {
      const authorizer = fresh();
      const event = authorizerEvent(s.presented ?? s.tenant.key, s.ip);
      const end = counter.window();
      const result = await authorizer.handle(event);
      const w = end();
      const effect = (result.policyDocument.Statement[0] as { Effect?: string }).Effect ?? '?';
      if (effect !== s.expect) throw new Error(`cold "${s.name}": expected ${s.expect}, got ${effect}`);
      const endWarm = counter.window();
      await authorizer.handle(event);
      cases.push({
        name: s.name,
        effect,
        round_trips: w.roundTrips,
        sequential_round_trips: w.sequential,
        commands: w.commands,
        warm_round_trips: endWarm().roundTrips,
      });
    }

    // Latency of a cold decision against DynamoDB Local (loopback, so this is the client + Local's own cost,
    // not a network figure): the first scenario, a new authorizer each time, over the same kept-alive client.
    const first = list[0];
    const event = authorizerEvent(first.tenant.key, first.ip);
    const ms: number[] = [];
    for (let i = 0; i < options.latencySamples + 3; i++) {
      const authorizer = fresh();
      const t0 = process.hrtime.bigint();
      await authorizer.handle(event);
      if (i >= 3) ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const forged = await forgedFlood(client, tables, store);
    return {
      forged,
      round_trips: Math.max(...cases.map((c) => c.sequential_round_trips)),
      total_round_trips_max: Math.max(...cases.map((c) => c.round_trips)),
      median_ms: round(median(ms), 2),
      p90_ms: round(percentile(ms, 90), 2),
      latency_samples: ms.length,
      method:
        'createAuthorizer() + DynamoDbAuthorizerStore on an SDK v3 DynamoDBClient against DynamoDB Local; a new authorizer per decision ' +
        '(empty in-memory cache); round trips counted by a deserialize-step middleware (one per HTTP attempt); sequential = waits one after another',
      cases,
    };
  } finally {
    client.destroy();
  }
}

/**
 * 1,000 made-up (well-formed) keys naming one real tenant whose lists hold 1,000 entries each, over two in-memory
 * windows of the default delay's split, half of them arriving together (concurrent bursts of 50). Counts every
 * BatchGetItem the real store sends and the items it asks for, per table.
 */
async function forgedFlood(
  client: ReturnType<typeof localClient>,
  tables: Awaited<ReturnType<typeof createTables>>,
  store: DynamoDbAuthorizerStore,
): Promise<ForgedFloodResult> {
  const big = Array.from({ length: 1000 }, (_, i) => `10.${Math.floor(i / 250)}.${i % 250}.0/24`);
  const tenant = makeTenant({
    organizationId: 'org-flood',
    projectId: 'proj-flood',
    organization: allowlist(big),
    project: allowlist(big),
  });
  await seedTenant(client, tables, tenant);
  const inputs: BatchGetItemCommandInput[] = [];
  const spy =
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: unknown }) => {
      if (context.commandName === 'BatchGetItemCommand') inputs.push(args.input as BatchGetItemCommandInput);
      return next(args);
    };
  client.middlewareStack.add(spy as never, { step: 'initialize', name: 'benchForgedSpy' });
  const { memoryTtlSeconds } = splitPropagationDelay(300);
  let now = Date.parse('2026-01-01T00:00:00Z');
  const authorizer = createAuthorizer({
    store,
    logger: silentLogger,
    memoryCacheTtlSeconds: memoryTtlSeconds,
    clock: () => now,
  });
  const forged = () =>
    authorizer.handle(
      authorizerEvent(generateApiKey({ organizationId: 'org-flood', projectId: 'proj-flood' }).key, '192.0.2.1'),
    );
  const requests = 1000;
  const windows = 2;
  try {
    for (let w = 0; w < windows; w++) {
      const perWindow = requests / windows;
      for (let i = 0; i < perWindow / 2; i++) await forged();
      for (let i = 0; i < perWindow / 2; i += 50) await Promise.all(Array.from({ length: 50 }, forged));
      now += memoryTtlSeconds * 1000;
    }
  } finally {
    client.middlewareStack.remove('benchForgedSpy');
  }
  let keyItems = 0;
  let listItems = 0;
  for (const input of inputs) {
    keyItems += input.RequestItems?.[tables.apiKeys]?.Keys?.length ?? 0;
    listItems += input.RequestItems?.[tables.allowlists]?.Keys?.length ?? 0;
  }
  return {
    requests,
    windows,
    store_calls: inputs.length,
    key_items_read: keyItems,
    list_items_read: listItems,
    list_reads_per_tenant_window: listItems / 2 / windows,
    tenant_list_entries: big.length,
    method:
      'createAuthorizer() (memory TTL of the default 300 s split) + DynamoDbAuthorizerStore against DynamoDB Local; 1,000 made-up keys ' +
      'naming one tenant (two lists of 1,000 entries), half sequential, half in concurrent bursts of 50, over 2 windows; items counted ' +
      'from the BatchGetItem inputs the real store sends',
  };
}
