import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ADMIN_ARN, expectError, Harness, makeHarness } from './fixtures';

/**
 * The audit trail: every successful write has exactly one record (written in the same transaction as the
 * change), failed writes have none, before/after are the states around the change, the log reads newest first
 * and pages with an opaque cursor.
 */

let h: Harness;
const ORG = 'audited';
const ORG_LIST = `/v1/organizations/${ORG}/ip_allowlist`;
const PROJECT_LIST = `/v1/organizations/${ORG}/projects/web/ip_allowlist`;
const KEYS = `/v1/organizations/${ORG}/projects/web/api_keys`;

beforeAll(async () => {
  h = await makeHarness('admin-audit');
});

afterAll(() => h.destroy());

describe('completeness', () => {
  const successes: { action: string; target: string }[] = [];
  let keyId: string;

  test('a scripted session of successes and failures leaves one record per success, in order', async () => {
    const ok = async (
      method: string,
      path: string,
      action: string,
      target: string,
      body?: unknown,
      userArn?: string,
    ) => {
      const res = await h.call(method, path, { body, userArn });
      expect([200, 201]).toContain(res.status);
      successes.push({ action, target });
      return res;
    };
    const fail = async (method: string, path: string, status: number, body?: unknown) => {
      expect((await h.call(method, path, { body })).status).toBe(status);
    };

    await ok('POST', `${ORG_LIST}/entries`, 'ip_allowlist.entries.add', `organizations/${ORG}/ip_allowlist`, {
      value: '192.0.2.0/24',
    });
    await fail('POST', `${ORG_LIST}/entries`, 409, { value: '192.0.2.0/24' });
    await fail('POST', `${ORG_LIST}/entries`, 400, { value: 'bad' });
    await ok('POST', `${ORG_LIST}/enable`, 'ip_allowlist.enable', `organizations/${ORG}/ip_allowlist`);
    await fail('POST', `${PROJECT_LIST}/enable`, 400);
    await ok('PUT', PROJECT_LIST, 'ip_allowlist.replace', `organizations/${ORG}/projects/web/ip_allowlist`, {
      entries: ['198.51.100.1', '198.51.100.2'],
      enabled: true,
    });
    await fail('DELETE', `${PROJECT_LIST}/entries/203.0.113.1`, 404);
    await ok(
      'DELETE',
      `${PROJECT_LIST}/entries/198.51.100.1`,
      'ip_allowlist.entry.delete',
      `organizations/${ORG}/projects/web/ip_allowlist`,
    );
    const key = await h.call('POST', KEYS, {
      body: { name: 'backend' },
      userArn: 'arn:aws:sts::123456789012:assumed-role/Ops/carol',
    });
    keyId = key.body.id;
    successes.push({ action: 'api_key.create', target: `organizations/${ORG}/projects/web/api_keys/${keyId}` });
    await ok(
      'POST',
      `${KEYS}/${keyId}/ip_allowlist/entries`,
      'ip_allowlist.entries.add',
      `organizations/${ORG}/projects/web/api_keys/${keyId}/ip_allowlist`,
      {
        value: '198.51.100.2',
      },
    );
    await ok('DELETE', `${KEYS}/${keyId}`, 'api_key.revoke', `organizations/${ORG}/projects/web/api_keys/${keyId}`);
    await fail('DELETE', `${KEYS}/${keyId}`, 409);
    await ok('POST', `${ORG_LIST}/disable`, 'ip_allowlist.disable', `organizations/${ORG}/ip_allowlist`);

    const records = await h.auditRecords(ORG);
    expect(records.map((r) => ({ action: r.action, target: r.target }))).toEqual([...successes].reverse());
    expect(new Set(records.map((r) => r.eventId)).size).toBe(records.length);
    // Newest first: the sort key starts with the ISO time.
    const times = records.map((r) => r.at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  test('each record says who, when, what scope, and carries the request id', async () => {
    const records = await h.auditRecords(ORG);
    for (const r of records) {
      expect(r.actor).toMatch(/^arn:aws:/);
      expect(Date.parse(r.at)).not.toBeNaN();
      expect(r.eventId.startsWith(`${r.at}#`)).toBe(true);
      expect(r.requestId).toMatch(/^req-/);
    }
    expect(records.find((r) => r.action === 'api_key.create')!.actor).toBe(
      'arn:aws:sts::123456789012:assumed-role/Ops/carol',
    );
    expect(records.find((r) => r.action === 'ip_allowlist.enable')!.actor).toBe(ADMIN_ARN);
    expect(
      records.filter((r) => r.target.includes('/api_keys/') && r.action.startsWith('ip_allowlist')).map((r) => r.scope),
    ).toEqual(['key']);
    expect(records.find((r) => r.action === 'ip_allowlist.replace')!.scope).toBe('project');
    expect(records.find((r) => r.action === 'ip_allowlist.enable')!.scope).toBe('organization');
  });

  test('before and after are the list around the change', async () => {
    const records = await h.auditRecords(ORG);
    const del = records.find((r) => r.action === 'ip_allowlist.entry.delete')!;
    const values = (s: unknown) => (s as { entries: { value: string }[] }).entries.map((e) => e.value);
    expect(values(del.before)).toEqual(['198.51.100.1/32', '198.51.100.2/32']);
    expect(values(del.after)).toEqual(['198.51.100.2/32']);
    expect(del.before).toMatchObject({ enabled: true, version: 1 });
    expect(del.after).toMatchObject({ enabled: true, version: 2, updatedBy: ADMIN_ARN });

    const first = records.at(-1)!;
    expect(first.before).toEqual({
      enabled: false,
      mode: 'off',
      entries: [],
      version: 0,
      updatedAt: null,
      updatedBy: null,
    });
    expect(values(first.after)).toEqual(['192.0.2.0/24']);

    const enable = records.find((r) => r.action === 'ip_allowlist.enable')!;
    expect([(enable.before as { enabled: boolean }).enabled, (enable.after as { enabled: boolean }).enabled]).toEqual([
      false,
      true,
    ]);
  });

  test('key records never contain the secret or its hash', async () => {
    const records = await h.auditRecords(ORG);
    const create = records.find((r) => r.action === 'api_key.create')!;
    expect(create.before).toBeNull();
    expect(create.after).toMatchObject({ id: keyId, name: 'backend', status: 'active' });
    const revoke = records.find((r) => r.action === 'api_key.revoke')!;
    expect(revoke.before).toMatchObject({ status: 'active', revokedAt: null });
    expect(revoke.after).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
    const text = JSON.stringify(records);
    expect(text).not.toMatch(/sk-[A-Za-z0-9_-]{10,}\./);
    expect(text).not.toMatch(/keyHash|[0-9a-f]{64}/);
  });
});

test('the actor is the IAM user ARN, else the IAM caller id, else "anonymous"', async () => {
  const path = '/v1/organizations/who/ip_allowlist/entries';
  await h.call('POST', path, { body: { value: '192.0.2.1' }, userArn: 'local:dev' });
  await h.call('POST', path, { body: { value: '192.0.2.2' }, userArn: null, caller: 'AROAEXAMPLE:session' });
  await h.call('POST', path, { body: { value: '192.0.2.3' }, userArn: null, caller: null });
  expect((await h.auditRecords('who')).map((r) => r.actor)).toEqual(['anonymous', 'AROAEXAMPLE:session', 'local:dev']);
  const list = (await h.call('GET', '/v1/organizations/who/ip_allowlist')).body;
  expect(list.entries.map((e: { createdBy: string }) => e.createdBy)).toEqual([
    'local:dev',
    'AROAEXAMPLE:session',
    'anonymous',
  ]);
});

describe('GET audit_log', () => {
  test('returns the records newest first, in the API shape', async () => {
    const res = await h.call('GET', `/v1/organizations/${ORG}/audit_log`);
    expect(res.status).toBe(200);
    const stored = await h.auditRecords(ORG);
    expect(res.body.object).toBe('list');
    expect(res.body.data.map((e: { id: string }) => e.id)).toEqual(stored.map((r) => r.eventId));
    expect(res.body.data[0]).toEqual({
      object: 'audit_event',
      id: stored[0].eventId,
      at: stored[0].at,
      actor: stored[0].actor,
      action: stored[0].action,
      scope: stored[0].scope,
      target: stored[0].target,
      before: stored[0].before,
      after: stored[0].after,
      requestId: stored[0].requestId,
    });
    expect(res.body.next_cursor).toBeNull();
  });

  test('pages with limit and cursor: every record once, in order', async () => {
    const stored = (await h.auditRecords(ORG)).map((r) => r.eventId);
    expect(stored.length).toBeGreaterThan(5);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await h.call('GET', `/v1/organizations/${ORG}/audit_log`, {
        query: cursor ? { limit: '3', cursor } : { limit: '3' },
      });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.data.map((e: { id: string }) => e.id));
      cursor = res.body.next_cursor ?? undefined;
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toEqual(stored);
  });

  test('a cursor from one organization is refused for another', async () => {
    const page = await h.call('GET', `/v1/organizations/${ORG}/audit_log`, { query: { limit: '1' } });
    expect(page.body.next_cursor).toEqual(expect.any(String));
    expectError(
      await h.call('GET', '/v1/organizations/someone-else/audit_log', { query: { cursor: page.body.next_cursor } }),
      400,
      'invalid_cursor',
    );
  });

  test('an organization without changes has an empty log', async () => {
    const res = await h.call('GET', '/v1/organizations/quiet/audit_log');
    expect(res.body).toEqual({ object: 'list', data: [], next_cursor: null });
  });
});

describe('large lists', () => {
  test('a 1000-entry list with full descriptions is stored and audited in full', async () => {
    const big = await makeHarness('admin-audit-big', { maxEntries: 1000 });
    try {
      const entries = Array.from({ length: 1000 }, (_, i) => ({
        value: `10.${Math.floor(i / 250)}.${i % 250}.0/24`,
        description: `${String(i).padStart(4, '0')} ${'d'.repeat(135)}`,
      }));
      const put = await big.call('PUT', '/v1/organizations/big/ip_allowlist', { body: { entries } });
      expect(put.status).toBe(200);
      const add = await big.call('POST', '/v1/organizations/big/ip_allowlist/entries', {
        body: { value: '192.0.2.1' },
      });
      expectError(add, 422, 'allowlist_limit_exceeded');
      const del = await big.call('DELETE', '/v1/organizations/big/ip_allowlist/entries/10.0.0.0%2F24');
      expect(del.status).toBe(200);

      const log = await big.call('GET', '/v1/organizations/big/audit_log');
      const [deletion, replace] = log.body.data;
      expect(deletion.before.entries).toHaveLength(1000);
      expect(deletion.after.entries).toHaveLength(999);
      expect(replace.after.entries[999].description).toBe(entries[999].description);
      // The deletion's before+after is too large to store inline: it went through the compressed form.
      const raw = await big.ddb.send(new ScanCommand({ TableName: big.names.auditLog }));
      expect(raw.Items!.map((i) => (i.snapshotGzip ? 'gzip' : 'inline')).sort()).toEqual(['gzip', 'inline']);
    } finally {
      big.destroy();
    }
  });

  test('a list too large for one DynamoDB item is refused with 422, nothing written', async () => {
    const big = await makeHarness('admin-audit-huge', { maxEntries: 1000 });
    try {
      // 140 four-byte characters per description: about 560 KB, over the 400 KB item limit.
      const entries = Array.from({ length: 1000 }, (_, i) => ({
        value: `10.${Math.floor(i / 250)}.${i % 250}.0/24`,
        description: '😀'.repeat(140),
      }));
      const put = await big.call('PUT', '/v1/organizations/huge/ip_allowlist', { body: { entries } });
      const error = expectError(put, 422, 'allowlist_too_large');
      expect(error.message).toMatch(/400 KB/);
      expect(await big.auditRecords('huge')).toHaveLength(0);
      expect((await big.call('GET', '/v1/organizations/huge/ip_allowlist')).body.version).toBe(0);
    } finally {
      big.destroy();
    }
  });
});
