import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { DynamoDbAuthorizerStore } from '../../../lambda/adapters/dynamodb-store';
import { Authorizer, createAuthorizer } from '../../../lambda/authorizer/authorizer';
import { splitPropagationDelay } from '../../../lambda/core/propagation';
import {
  authorizerEvent,
  captureOutput,
  countingClient,
  CountingClient,
  list,
  makeTables,
  putKey,
  putOrgList,
  Tables,
} from './fixtures';

/**
 * "Caching is the propagation delay", proven on a controllable clock with the real handler and DynamoDB Local.
 *
 * The authorizer's in-memory cache is the real one. API Gateway's authorizer result cache cannot run here, so it
 * is modelled by `GatewayCacheModel` below with the documented behaviour the construct configures: decisions
 * cached per identity source (the key header AND the source IP) for the gateway TTL.
 */

let t: Tables;
let ddb: CountingClient;
let now = 0;
let output: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  t = await makeTables('propagation');
  ddb = countingClient();
});

afterAll(() => {
  ddb.client.destroy();
  t.admin.destroy();
});

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => output.restore());

function authorizer(memoryTtlSeconds: number): Authorizer {
  return createAuthorizer({
    store: new DynamoDbAuthorizerStore({
      client: ddb.client,
      allowlistsTableName: t.names.allowlists,
      apiKeysTableName: t.names.apiKeys,
    }),
    logger: new Logger({ serviceName: 'propagation-test' }),
    memoryCacheTtlSeconds: memoryTtlSeconds,
    clock: () => now,
  });
}

/** API Gateway's authorizer result cache: per (key header, source IP), for `ttlSeconds`; 0 disables it. */
class GatewayCacheModel {
  private readonly cache = new Map<string, { result: APIGatewayAuthorizerResult; expiresAt: number }>();
  constructor(
    private readonly ttlSeconds: number,
    private readonly lambda: Authorizer,
  ) {}

  async effect(event: APIGatewayRequestAuthorizerEvent): Promise<string> {
    const identity = `${event.headers?.Authorization}\n${event.requestContext.identity.sourceIp}`;
    const hit = this.cache.get(identity);
    if (hit && now < hit.expiresAt) return hit.result.policyDocument.Statement[0].Effect;
    const result = await this.lambda.handle(event);
    if (this.ttlSeconds > 0) this.cache.set(identity, { result, expiresAt: now + this.ttlSeconds * 1000 });
    return result.policyDocument.Statement[0].Effect;
  }
}

const A = '203.0.113.1';
const B = '203.0.113.2';
const BEFORE = list(true, '203.0.113.0/24');
/** The change under test: B's range is replaced by A alone, so B must become denied. */
const AFTER = list(true, `${A}/32`);

async function seed(org: string): Promise<string> {
  await putOrgList(t, org, BEFORE);
  return (await putKey(t, org, 'p')).key;
}

describe.each([0, 5, 60, 300, 3600])('propagation delay %i s', (propagationDelay) => {
  const { gatewayTtlSeconds, memoryTtlSeconds, maxDecisionAgeSeconds } = splitPropagationDelay(propagationDelay);

  test('the gateway TTL and the decision age bound fit in the propagation delay; memory is at most half the bound', () => {
    if (propagationDelay > 0) expect(gatewayTtlSeconds + maxDecisionAgeSeconds).toBeLessThanOrEqual(propagationDelay);
    else expect(gatewayTtlSeconds + memoryTtlSeconds).toBe(0);
    expect(memoryTtlSeconds * 2).toBeLessThanOrEqual(maxDecisionAgeSeconds);
  });

  test(`the handler sees a DynamoDB change no later than the memory TTL (${memoryTtlSeconds} s) after it was made`, async () => {
    const org = `mem${propagationDelay}`;
    const key = await seed(org);
    const lambda = authorizer(memoryTtlSeconds);
    const t0 = (now = 1_000_000 * (propagationDelay + 1));
    const effectFor = async (ip: string) =>
      (await lambda.handle(authorizerEvent({ key, sourceIp: ip }))).policyDocument.Statement[0].Effect;

    expect(await effectFor(A)).toBe('Allow'); // loads key and lists at t0
    await putOrgList(t, org, AFTER); // the change, acknowledged at t0
    if (memoryTtlSeconds > 0) {
      // The in-memory cache is real: just before its TTL the old list still answers.
      now = t0 + memoryTtlSeconds * 1000 - 1;
      expect(await effectFor(B)).toBe('Allow');
    }
    now = t0 + memoryTtlSeconds * 1000;
    expect(await effectFor(B)).toBe('Deny');
    expect(await effectFor(A)).toBe('Allow');
  });

  test('through API Gateway and the handler together, the worst case stays within the propagation delay', async () => {
    const org = `sum${propagationDelay}`;
    const key = await seed(org);
    const gateway = new GatewayCacheModel(gatewayTtlSeconds, authorizer(memoryTtlSeconds));
    const effectFor = (ip: string) => gateway.effect(authorizerEvent({ key, sourceIp: ip }));
    const t0 = (now = 1_000_000 * (propagationDelay + 1));

    // Worst case: the handler loads the list at t0 (for A), the change lands right after, and B's first request
    // reaches the handler at the last moment its memory is stale; API Gateway then keeps that answer its full TTL.
    expect(await effectFor(A)).toBe('Allow');
    if (memoryTtlSeconds === 0) expect(await effectFor(B)).toBe('Allow');
    await putOrgList(t, org, AFTER);
    if (memoryTtlSeconds > 0) {
      now = t0 + memoryTtlSeconds * 1000 - 1;
      expect(await effectFor(B)).toBe('Allow');
    }

    if (propagationDelay > 0) {
      // Stale until just before g + m. On this millisecond clock each of
      // the two caches' boundaries costs 1 ms (the handler's last stale answer is at m - 1 ms, the gateway keeps
      // it while now < that + g), so the last stale instant is 2 ms before the delay.
      // (Both caches together: the bound is P, the age bound's share of it going to decisions in flight.)
      for (const at of [0.5, 0.9, 1].map((f) => Math.floor((gatewayTtlSeconds + memoryTtlSeconds) * 1000 * f) - 2)) {
        now = t0 + Math.max(at, memoryTtlSeconds * 1000 - 1);
        expect(await effectFor(B)).toBe('Allow');
      }
    }
    // ...and never after it (nor is A affected).
    for (const at of [propagationDelay * 1000, propagationDelay * 1000 + 1, propagationDelay * 2000 + 5]) {
      now = t0 + at;
      expect(await effectFor(B)).toBe('Deny');
    }
    expect(await effectFor(A)).toBe('Allow');
  });
});

test('for every whole second from 0 to 3600: gateway TTL + decision age bound <= P, memory TTL <= bound / 2, bound <= 4 s', () => {
  let previousBound = 0;
  for (let p = 0; p <= 3600; p++) {
    const b = splitPropagationDelay(p);
    // Never shrinks as P grows: an admin API serving several authorizers waits the bound of the longest delay.
    expect(b.maxDecisionAgeSeconds).toBeGreaterThanOrEqual(previousBound);
    previousBound = b.maxDecisionAgeSeconds;
    expect(Number.isInteger(b.gatewayTtlSeconds) && b.gatewayTtlSeconds >= 0).toBe(true);
    expect(b.gatewayTtlSeconds + (p === 0 ? 0 : b.maxDecisionAgeSeconds)).toBeLessThanOrEqual(p);
    expect(b.memoryTtlSeconds * 2).toBeLessThanOrEqual(b.maxDecisionAgeSeconds);
    expect(b.maxDecisionAgeSeconds).toBeGreaterThanOrEqual(1);
    expect(b.maxDecisionAgeSeconds).toBeLessThanOrEqual(4);
    if (p === 0) expect(b).toEqual({ gatewayTtlSeconds: 0, memoryTtlSeconds: 0, maxDecisionAgeSeconds: 1 });
  }
});
