import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { allowlistToAttributes } from '../../lambda/adapters/items';
import { ENV, organizationAllowlistPk } from '../../lambda/adapters/schema';
import { ERRORS, errorBody } from '../../lambda/core/errors';
import { splitPropagationDelay } from '../../lambda/core/propagation';
import { AdminClient } from '../../cli/admin-client';
import { RunningLocalMode } from '../../local/local-mode';
import { localClient } from '../support/dynamodb-local';
import { bearer, call, CallResult } from '../local/support/http';
import { E2eLocalMode, startE2eLocalMode } from './support/local-mode';

/*
 * Without a flush, a change reaches callers when the gateway's cached decision expires: the TTL is the
 * propagation delay. Changes here are written straight to DynamoDB, bypassing the admin API (and its flush).
 */

const PROPAGATION_DELAY_SECONDS = 3;

let e2e: E2eLocalMode;
let local: RunningLocalMode;
let admin: AdminClient;
let clockOffsetMs = 0;

beforeAll(async () => {
  e2e = await startE2eLocalMode('ttl', {
    propagationDelaySeconds: PROPAGATION_DELAY_SECONDS,
    now: () => Date.now() + clockOffsetMs,
  });
  local = e2e.local;
  admin = new AdminClient({ endpoint: local.adminUrl! });
});

afterAll(async () => {
  await e2e?.stop();
});

const gatewayTtlSeconds = () => [...local.gateway.api.authorizers.values()][0].ttlSeconds;

/** Enables an organization list of 127.0.0.1 only, directly in the table the authorizer reads. */
async function enableListBehindTheAdminApisBack(org: string): Promise<void> {
  const authorizerFn = [...local.model.functions.values()].find(
    (f) => f.environment[ENV.allowlistsTable] && !f.environment[ENV.auditLogTable],
  )!;
  const client = localClient(local.dynamoDbEndpoint);
  await client.send(
    new PutItemCommand({
      TableName: authorizerFn.environment[ENV.allowlistsTable],
      Item: {
        pk: { S: organizationAllowlistPk(org) },
        ...allowlistToAttributes({
          enabled: true,
          entries: [
            {
              value: '127.0.0.1/32',
              description: 'direct write',
              createdAt: new Date().toISOString(),
              createdBy: 'test',
            },
          ],
          version: 1,
        }),
      },
    }),
  );
  client.destroy();
}

test('--ttl sets the authorizer cache TTL from the propagation delay, via the synthesized template', () => {
  // The delay minus the decision age bound (lambda/core/propagation.ts): 3 s -> 1 s at the gateway, bound 2 s.
  expect(gatewayTtlSeconds()).toBe(splitPropagationDelay(PROPAGATION_DELAY_SECONDS).gatewayTtlSeconds);
  expect(gatewayTtlSeconds()).toBe(1);
});

test('a direct change stays invisible while the decision is cached and applies once the TTL has passed', async () => {
  const key = (await admin.createKey('ttl-org', 'p', 'ttl')).body.key;
  const from2 = () => call(`${local.url}/hello`, { headers: bearer(key), localAddress: '127.0.0.2' });
  expect((await from2()).status).toBe(200);
  const flushes = local.gateway.stats.authorizerCacheFlushes;

  await enableListBehindTheAdminApisBack('ttl-org');
  const stillCached = await from2();
  clockOffsetMs += gatewayTtlSeconds() * 1000 + 1;
  // The authorizer's in-memory cache runs on the real clock in local mode's workers: let it expire too.
  await new Promise((r) =>
    setTimeout(r, splitPropagationDelay(PROPAGATION_DELAY_SECONDS).memoryTtlSeconds * 1000 + 50),
  );
  const afterTtl = await from2();

  expect(stillCached.status).toBe(200);
  expect(afterTtl.status).toBe(401);
  expect(afterTtl.json).toEqual(errorBody(ERRORS.ipNotAuthorizedOrganization));
  expect(local.gateway.stats.authorizerCacheFlushes).toBe(flushes);
});

test('on the real clock the same change applies within the short TTL, with no flush', async () => {
  const key = (await admin.createKey('ttl-org-real', 'p', 'ttl')).body.key;
  const from2 = () => call(`${local.url}/hello`, { headers: bearer(key), localAddress: '127.0.0.2' });
  expect((await from2()).status).toBe(200);
  const flushes = local.gateway.stats.authorizerCacheFlushes;

  await enableListBehindTheAdminApisBack('ttl-org-real');
  // Poll (bounded well past the TTL) until the cached Allow has expired.
  let last: CallResult = await from2();
  for (let i = 0; i < 60 && last.status === 200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    last = await from2();
  }

  expect(last.status).toBe(401);
  expect(last.json.error.code).toBe('ip_not_authorized');
  expect(local.gateway.stats.authorizerCacheFlushes).toBe(flushes);
});
