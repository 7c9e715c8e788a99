import { DynamoDbAuthorizerStore } from '../../lambda/adapters/dynamodb-store';
import { StageCacheFlusher } from '../../lambda/adapters/stage-cache';
import { Authorizer, createAuthorizer } from '../../lambda/authorizer/authorizer';
import { splitPropagationDelay } from '../../lambda/core/propagation';
import { localClient, testEndpoint } from '../support/dynamodb-local';
import { DynamoDbProxy, ProxyFault, startDynamoDbProxy } from '../support/dynamodb-proxy';
import { Harness, makeHarness } from './admin/fixtures';
import { authorizerEvent } from './authorizer/fixtures';

/**
 * The propagation promises with decisions in flight: the real admin handler revokes a key while the real
 * authorizer is deciding a request on the data from before the revoke, its table reads going through a proxy that
 * delays DynamoDB Local's replies or answers "unprocessed" (throttling), as a loaded table does.
 *
 * API Gateway's authorizer cache is modelled with local mode's semantics (local/gateway/authorizer-cache.ts): a decision is cached
 * per (key, source IP) for the gateway TTL from when the authorizer RETURNS it, an error is not cached, and a
 * flush (local/control-plane.ts -> flushAuthorizerCache) empties the cache at once.
 *
 * One clock for everyone (authorizer, gateway model, admin, proxy): real time plus an offset the test can jump,
 * so "P seconds after the commit" is reached without waiting P seconds.
 */

let offset = 0;
const clock = () => Date.now() + offset;
let proxy: DynamoDbProxy;

beforeAll(async () => {
  proxy = await startDynamoDbProxy(testEndpoint(), clock);
});

afterAll(() => proxy.close());

beforeEach(() => {
  offset = 0;
  proxy.faults = [];
});

type Outcome = 'Allow' | 'Deny' | '5xx';

/** API Gateway's authorizer result cache as local mode emulates it. */
class GatewayCache {
  private readonly cache = new Map<string, { outcome: Outcome; expiresAt: number }>();
  constructor(
    private readonly ttlSeconds: number,
    /** Read on each miss: the authorizer is built after the admin harness whose flusher is this cache's. */
    private readonly authorizerOf: () => Authorizer,
  ) {}

  async request(key: string, sourceIp: string): Promise<Outcome> {
    const identity = `${key}\n${sourceIp}`;
    const hit = this.cache.get(identity);
    if (hit && hit.expiresAt > clock()) return hit.outcome;
    let outcome: Outcome;
    try {
      outcome = (await this.authorizerOf().handle(authorizerEvent({ key, sourceIp }))).policyDocument.Statement[0]
        .Effect;
    } catch {
      return '5xx';
    }
    if (this.ttlSeconds > 0) this.cache.set(identity, { outcome, expiresAt: clock() + this.ttlSeconds * 1000 });
    return outcome;
  }

  readonly flusher: StageCacheFlusher = {
    flush: () => {
      this.cache.clear();
      return Promise.resolve(true);
    },
  };
}

const STAGE = { restApiId: 'abc123defg', stageName: 'prod' };
const X = '203.0.113.1';
const Y = '203.0.113.2';

interface World {
  readonly h: Harness;
  readonly gateway: GatewayCache;
  readonly key: string;
  readonly keyPath: string;
  readonly memoryTtlMs: number;
  destroy(): void;
}

async function world(label: string, propagationDelaySeconds: number, flush: boolean): Promise<World> {
  const budget = splitPropagationDelay(propagationDelaySeconds);
  const authorizerClient = localClient(proxy.endpoint);
  const adminClient = localClient(proxy.endpoint);
  const gateway: GatewayCache = new GatewayCache(budget.gatewayTtlSeconds, () => authorizer);
  const h = await makeHarness(label, {
    propagationDelaySeconds,
    memoryCacheTtlSeconds: budget.memoryTtlSeconds,
    maxDecisionAgeSeconds: budget.maxDecisionAgeSeconds,
    protectedStages: flush ? [STAGE] : [],
    flusher: { flush: () => gateway.flusher.flush() },
    // The admin's table calls go through the proxy too: it records when DynamoDB acknowledged the commit.
    handlerClient: adminClient,
    now: clock,
  });
  const authorizer = createAuthorizer({
    // As lambda/authorizer/index.ts builds it (maxAttempts 2 is what localClient sets, as in the Lambda).
    store: new DynamoDbAuthorizerStore({
      client: authorizerClient,
      allowlistsTableName: h.names.allowlists,
      apiKeysTableName: h.names.apiKeys,
      timeoutMs: budget.maxDecisionAgeSeconds * 1000,
    }),
    logger: { warn: () => undefined, error: () => undefined },
    memoryCacheTtlSeconds: budget.memoryTtlSeconds,
    maxDecisionAgeSeconds: budget.maxDecisionAgeSeconds,
    clock,
  });
  const created = await h.call('POST', '/v1/organizations/acme/projects/web/api_keys', { body: { name: 'k' } });
  expect(created.status).toBe(201);
  return {
    h,
    gateway,
    key: created.body.key,
    keyPath: `/v1/organizations/acme/projects/web/api_keys/${created.body.id}`,
    memoryTtlMs: budget.memoryTtlSeconds * 1000,
    destroy() {
      h.destroy();
      authorizerClient.destroy();
      adminClient.destroy();
    },
  };
}

interface Race {
  /** The decision that was under way across the commit (Allow, or 5xx when it outlived the bound). */
  readonly inFlight: Outcome;
  /** When DynamoDB's acknowledgement of the commit passed the proxy: the commit happened no later. */
  readonly committedBy: number;
  readonly answer: { status: number; body: Record<string, unknown> };
  readonly answeredAt: number;
}

/**
 * X's decision is cached at the gateway; then Y's request starts a table read (through the faults), the revoke
 * commits while that read is under way, and everything settles.
 */
async function revokeWhileDeciding(
  w: World,
  faults: ProxyFault[],
  options: { fromMemory?: boolean } = {},
): Promise<Race> {
  expect(await w.gateway.request(w.key, X)).toBe('Allow');
  let inFlight: Promise<Outcome>;
  let answer: Race['answer'];
  if (options.fromMemory) {
    // The key and lists are in the authorizer's memory, loaded just before the commit; Y is decided from them.
    offset += Math.max(0, w.memoryTtlMs - 300);
    answer = await w.h.call('DELETE', w.keyPath);
    inFlight = w.gateway.request(w.key, Y);
  } else {
    offset += w.memoryTtlMs; // the authorizer's memory has expired: Y's decision reads the tables
    proxy.faults = faults.map((f) => ({ ...f }));
    const reading = proxy.nextRequest('BatchGetItem');
    inFlight = w.gateway.request(w.key, Y);
    await reading;
    answer = await w.h.call('DELETE', w.keyPath);
  }
  const answeredAt = clock();
  expect(answer.status).toBe(200);
  const commit = proxy.exchanges.filter((e) => e.operation === 'TransactWriteItems').pop()!;
  return { inFlight: await inFlight, committedBy: commit.replyAt!, answer, answeredAt };
}

/** Moves the shared clock to `at` if it is not there yet. */
function advanceTo(at: number): void {
  offset += Math.max(0, at - clock());
}

// Every row has all four values: jest passes a `done` callback to a test function with more parameters than that.
const CASES: [string, number, ProxyFault[], { fromMemory?: boolean }][] = [
  [
    'P 9 s, the reply of a read made before the commit arrives 300 ms after it',
    9,
    [{ operation: 'BatchGetItem', releaseAfter: { operation: 'TransactWriteItems', delayMs: 300 }, times: 1 }],
    {},
  ],
  [
    'P 300 s (the default), the lists left unprocessed twice at 1.4 s a reply',
    300,
    // The key record comes back at once (read before the commit), the lists only on the third attempt.
    [{ operation: 'BatchGetItem', delayMs: 1400, unprocessedExcept: 'ApiKeys', times: 2 }],
    {},
  ],
  [
    'P 60 s, a reply held past the decision age bound',
    60,
    [{ operation: 'BatchGetItem', delayMs: 5000, times: 1 }],
    {},
  ],
  ['P 300 s, decided from memory loaded just before the commit', 300, [], { fromMemory: true }],
];

describe('from the commit, no request is decided on the old data later than the propagation delay (no flush)', () => {
  test.each(CASES)('%s', async (label, propagationDelaySeconds, faults, options) => {
    const w = await world(`inflight-p-${propagationDelaySeconds}`, propagationDelaySeconds, false);
    try {
      const race = await revokeWhileDeciding(w, faults, options);
      expect(race.answer.body.propagation).toEqual({ flushed: false, maxDelaySeconds: propagationDelaySeconds });

      advanceTo(race.committedBy + propagationDelaySeconds * 1000);
      const late = { X: await w.gateway.request(w.key, X), Y: await w.gateway.request(w.key, Y) };
      expect(late).toEqual({ X: 'Deny', Y: 'Deny' });
      if (label.includes('held past')) expect(race.inFlight).toBe('5xx');
    } finally {
      w.destroy();
    }
  });
});

describe('after an answer "flushed: true, maxDelaySeconds: N", no request is allowed on the old data N s later', () => {
  test.each(CASES)('%s', async (_label, propagationDelaySeconds, faults, options) => {
    const w = await world(`inflight-f-${propagationDelaySeconds}`, propagationDelaySeconds, true);
    try {
      const race = await revokeWhileDeciding(w, faults, options);
      const propagation = race.answer.body.propagation as { flushed: boolean; maxDelaySeconds: number };
      expect(propagation.flushed).toBe(true);

      advanceTo(race.answeredAt + propagation.maxDelaySeconds * 1000);
      const after = { X: await w.gateway.request(w.key, X), Y: await w.gateway.request(w.key, Y) };
      expect(after).toEqual({ X: 'Deny', Y: 'Deny' });
      // What the answer can promise is exactly that: in force from the answer on.
      expect(propagation.maxDelaySeconds).toBe(0);
    } finally {
      w.destroy();
    }
  });
});

describe('P 0 s: nothing is cached, so no decision is made on a read begun before a commit it arrived after', () => {
  test('a request arriving 200 ms after a list change does not join a list read begun before it', async () => {
    const w = await world('inflight-join-0', 0, false);
    try {
      const orgList = '/v1/organizations/acme/ip_allowlist';
      const before = await w.h.call('PUT', orgList, { body: { entries: [`${X}/32`, `${Y}/32`], enabled: true } });
      expect(before.status).toBe(200);
      expect(await w.gateway.request(w.key, Y)).toBe('Allow');

      // The first request's read of the lists is answered only 800 ms after the change below commits.
      proxy.faults = [
        {
          operation: 'BatchGetItem',
          bodyIncludes: w.h.names.allowlists,
          releaseAfter: { operation: 'TransactWriteItems', delayMs: 800 },
          times: 1,
        },
      ];
      const listRead = new Promise<void>((resolve) => {
        const wait = (): void => {
          void proxy
            .nextRequest('BatchGetItem')
            .then((e) => (e.body.includes(w.h.names.allowlists) ? resolve() : wait()));
        };
        wait();
      });
      const first = w.gateway.request(w.key, Y);
      await listRead;
      const change = await w.h.call('PUT', orgList, { body: { entries: [`${X}/32`], enabled: true } });
      expect(change.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Arrived after the commit: it must be decided on the new list, whatever the first request is still reading.
      expect(await w.gateway.request(w.key, Y)).toBe('Deny');
      expect(['Allow', '5xx']).toContain(await first);
    } finally {
      w.destroy();
    }
  });
});
