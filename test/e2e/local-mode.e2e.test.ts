import { ERRORS, errorBody } from '../../lambda/core/errors';
import { AdminClient } from '../../cli/admin-client';
import { RunningLocalMode } from '../../local/local-mode';
import { bearer, call } from '../local/support/http';
import { E2eLocalMode, startE2eLocalMode } from './support/local-mode';

/*
 * The product end to end through local mode: the example app's real authorizer, admin and echo Lambdas behind
 * the emulated gateway, driven by real HTTP clients from different loopback source addresses. Every change
 * goes through the admin API (which flushes the emulated authorizer cache), except where a test says otherwise.
 */

let e2e: E2eLocalMode;
let local: RunningLocalMode;
let admin: AdminClient;

beforeAll(async () => {
  const frozen = Date.now();
  e2e = await startE2eLocalMode('e2e', {
    // Under 10 s the authorizer keeps no in-memory cache (lambda/core/propagation.ts), so admin writes need no
    // second flush and return at once; the gateway's clock is frozen, so its cache never expires by itself and
    // every change seen below was made visible by the admin API's flush alone.
    propagationDelaySeconds: 9,
    now: () => frozen,
  });
  local = e2e.local;
  admin = new AdminClient({ endpoint: local.adminUrl!, localUser: 'e2e' });
});

afterAll(async () => {
  await e2e?.stop();
});

const api = (path = '/hello') => `${local.url}${path}`;
const authorizerRunner = () => [...local.runners.values()].find((r) => r.spec.functionName.includes('Authorizer'))!;

async function newKey(org: string, project: string): Promise<string> {
  return (await admin.createKey(org, project, 'e2e')).body.key;
}

describe('the seeded demo', () => {
  test('allows its key from 127.0.0.1 and passes the authorizer context to the upstream', async () => {
    const res = await call(api(), { headers: bearer(local.demo!.key) });

    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      sourceIp: '127.0.0.1',
      organizationId: local.demo!.organizationId,
      projectId: local.demo!.projectId,
      apiKeyId: local.demo!.keyId,
    });
  });

  test('blocks the same key from 127.0.0.2 and from ::1 with 401 ip_not_authorized', async () => {
    const fromOther = await call(api(), { headers: bearer(local.demo!.key), localAddress: '127.0.0.2' });
    const fromV6 = await call(`${local.urlIpv6}/hello`, { headers: bearer(local.demo!.key) });

    expect(fromOther.status).toBe(401);
    expect(fromOther.headers['content-type']).toBe('application/json');
    expect(fromOther.json).toEqual(errorBody(ERRORS.ipNotAuthorizedOrganization));
    expect(fromV6.status).toBe(401);
    expect(fromV6.json).toEqual(errorBody(ERRORS.ipNotAuthorizedOrganization));
  });

  test('ignores a spoofed X-Forwarded-For: the TCP source decides', async () => {
    const res = await call(api(), {
      headers: { ...bearer(local.demo!.key), 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1' },
      localAddress: '127.0.0.2',
    });

    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('ip_not_authorized');
  });
});

describe('keys', () => {
  test('a request without a key is 401 missing_api_key and never reaches the authorizer Lambda', async () => {
    const before = authorizerRunner().invocations;

    const res = await call(api());

    expect(res.status).toBe(401);
    expect(res.json).toEqual(errorBody(ERRORS.missingApiKey));
    expect(authorizerRunner().invocations).toBe(before);
  });

  test('an unknown key is 401 invalid_api_key', async () => {
    const res = await call(api(), { headers: bearer(`${local.demo!.key.slice(0, -4)}AAAA`) });

    expect(res.status).toBe(401);
    expect(res.json).toEqual(errorBody(ERRORS.invalidApiKey));
  });

  test('a revoked key stops working right after the revoke (the admin API flushes the cache)', async () => {
    const key = await admin.createKey('demo-org', 'revoke-me', 'temp');
    const before = await call(api(), { headers: bearer(key.body.key) });
    const flushes = local.gateway.stats.authorizerCacheFlushes;

    await admin.revokeKey('demo-org', 'revoke-me', key.body.id);
    const after = await call(api(), { headers: bearer(key.body.key) });

    expect(before.status).toBe(200);
    expect(local.gateway.stats.authorizerCacheFlushes).toBeGreaterThan(flushes);
    expect(after.status).toBe(401);
    expect(after.json).toEqual(errorBody(ERRORS.invalidApiKey));
  });
});

describe('which list applies', () => {
  test("a project's enabled list replaces the organization's (never merged)", async () => {
    const key = await newKey('demo-org', 'proj-own-list');
    await admin.replaceAllowlist({ org: 'demo-org', project: 'proj-own-list' }, [{ value: '127.0.0.2' }], true);

    const fromProjectIp = await call(api(), { headers: bearer(key), localAddress: '127.0.0.2' });
    const fromOrgIp = await call(api(), { headers: bearer(key) });

    expect(fromProjectIp.status).toBe(200);
    expect(fromOrgIp.status).toBe(401);
    expect(fromOrgIp.json).toEqual(errorBody(ERRORS.ipNotAuthorizedProject));
  });

  test("a key's own list can only narrow what the organization allows", async () => {
    await admin.addEntries({ org: 'narrow-org' }, [{ value: '127.0.0.0/29' }]);
    await admin.setEnabled({ org: 'narrow-org' }, true);
    const narrowed = await admin.createKey('narrow-org', 'p', 'narrowed');
    const plain = await newKey('narrow-org', 'p');
    await admin.replaceAllowlist(
      { org: 'narrow-org', project: 'p', keyId: narrowed.body.id },
      [{ value: '127.0.0.3' }, { value: '127.0.0.9' }],
      true,
    );

    const inBoth = await call(api(), { headers: bearer(narrowed.body.key), localAddress: '127.0.0.3' });
    const orgOnly = await call(api(), { headers: bearer(narrowed.body.key), localAddress: '127.0.0.2' });
    const keyOnly = await call(api(), { headers: bearer(narrowed.body.key), localAddress: '127.0.0.9' });
    const plainKey = await call(api(), { headers: bearer(plain), localAddress: '127.0.0.2' });

    expect(inBoth.status).toBe(200);
    expect(orgOnly.status).toBe(401);
    expect(orgOnly.json).toEqual(errorBody(ERRORS.ipNotAuthorizedKey));
    expect(keyOnly.status).toBe(401);
    expect(keyOnly.json).toEqual(errorBody(ERRORS.ipNotAuthorizedOrganization));
    expect(plainKey.status).toBe(200);
  });

  test('a change made through the admin API applies to the next request: the cached Allow is flushed', async () => {
    const key = await newKey('flush-org', 'p');
    const open = await call(api(), { headers: bearer(key), localAddress: '127.0.0.2' });
    const cachedHits = local.gateway.stats.authorizerCacheHits;
    const cachedAgain = await call(api('/again'), { headers: bearer(key), localAddress: '127.0.0.2' });

    // 127.0.0.2 just went through, so the lockout guard refuses the change until it is forced.
    const guarded = admin.replaceAllowlist({ org: 'flush-org' }, [{ value: '127.0.0.1' }], true);
    await expect(guarded).rejects.toMatchObject({ status: 409, code: 'would_block_recent_traffic' });
    await admin.replaceAllowlist({ org: 'flush-org' }, [{ value: '127.0.0.1' }], true, undefined, true);
    const blocked = await call(api(), { headers: bearer(key), localAddress: '127.0.0.2' });
    await admin.setEnabled({ org: 'flush-org' }, false);
    const reopened = await call(api(), { headers: bearer(key), localAddress: '127.0.0.2' });

    expect(open.status).toBe(200);
    // The second request was served from the gateway cache: without the flush, the change would wait for the TTL.
    expect(cachedAgain.status).toBe(200);
    expect(local.gateway.stats.authorizerCacheHits).toBeGreaterThan(cachedHits);
    expect(blocked.status).toBe(401);
    expect(blocked.json).toEqual(errorBody(ERRORS.ipNotAuthorizedOrganization));
    expect(reopened.status).toBe(200);
    expect(local.gateway.stats.authorizerCacheFlushes).toBeGreaterThanOrEqual(2);
  });

  test("the admin API's check tool agrees with the gateway", async () => {
    const demoOrg = { org: 'demo-org', project: 'demo-project' };
    const allowed = await admin.check(demoOrg, '127.0.0.1');
    const blocked = await admin.check(demoOrg, '127.0.0.2');

    expect(allowed.body).toMatchObject({ allowed: true, scope: 'organization', matchedEntry: '127.0.0.1/32' });
    expect(blocked.body).toMatchObject({ allowed: false, scope: 'organization' });
  });
});

describe('admin API in local mode', () => {
  test('records the local caller as local:<user> in the audit log', async () => {
    await admin.addEntries({ org: 'audit-org' }, [{ value: '192.0.2.0/24', description: 'docs' }]);

    const audit = await admin.audit('audit-org');

    expect(audit.body.data[0]).toMatchObject({ actor: 'local:e2e', action: 'ip_allowlist.entries.add' });
  });

  test('the allowlist never blocks the admin API (it is a separate API)', async () => {
    const res = await call(`${local.adminUrl}/v1/organizations/demo-org/ip_allowlist`, { localAddress: '127.0.0.2' });

    expect(res.status).toBe(200);
    expect(res.json.entries.map((e: { value: string }) => e.value)).toContain('127.0.0.1/32');
  });
});
