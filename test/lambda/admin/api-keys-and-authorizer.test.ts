import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { Authorizer, createAuthorizer } from '../../../lambda/authorizer/authorizer';
import { hashApiKey, parseApiKeyRoute } from '../../../lambda/core/api-key';
import { ERRORS } from '../../../lambda/core/errors';
import { authorizerEvent } from '../authorizer/fixtures';
import { ADMIN_ARN, authorizerStore, expectError, Harness, keysPath, makeHarness, recordingLogger } from './fixtures';

/**
 * API keys through the admin API, and what the real authorizer (its factory, the real DynamoDB store, memory
 * cache off) then does with them: the key lifecycle, per-key narrowing, and the check tool agreeing with it.
 */

let h: Harness;
let authorizer: Authorizer;

beforeAll(async () => {
  h = await makeHarness('admin-keys');
  authorizer = createAuthorizer({
    store: authorizerStore(h),
    logger: recordingLogger(),
    memoryCacheTtlSeconds: 0,
  });
});

afterAll(() => h.destroy());

async function createKey(org: string, project: string, name = 'k'): Promise<{ id: string; key: string }> {
  const res = await h.call('POST', keysPath(org, project), { body: { name } });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

interface Outcome {
  readonly allowed: boolean;
  /** Error code of a deny, from the policy's context. */
  readonly code?: string;
  readonly message?: string;
}

async function authorize(key: string, sourceIp: string): Promise<Outcome> {
  const result: APIGatewayAuthorizerResult = await authorizer.handle(authorizerEvent({ key, sourceIp }));
  const allowed = result.policyDocument.Statement.every((s) => s.Effect === 'Allow');
  return allowed
    ? { allowed }
    : { allowed, code: String(result.context?.errorCode), message: String(result.context?.errorMessage) };
}

describe('create, list, get', () => {
  let created: { status: number; body: Record<string, unknown> & { id: string } };

  beforeAll(async () => {
    created = await h.call('POST', keysPath('acme', 'web'), { body: { name: ' backend ' } });
  });

  test('create returns the secret once: sk- prefix, 256 random bits, routed to its project', () => {
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    // 43 base64url characters carry 258 bits, of which 256 are the 32 random bytes.
    expect(Buffer.from(key.split('.')[1], 'base64url')).toHaveLength(32);
    expect(parseApiKeyRoute(key)).toEqual({ organizationId: 'acme', projectId: 'web' });
    expect(created.body).toMatchObject({
      object: 'api_key',
      id: expect.stringMatching(/^key_/),
      name: 'backend',
      status: 'active',
      organizationId: 'acme',
      projectId: 'web',
      createdBy: ADMIN_ARN,
      redactedValue: `sk-...${key.slice(-4)}`,
      revokedAt: null,
      propagation: { flushed: false, maxDelaySeconds: 300 },
    });
  });

  test('only the hash is stored', async () => {
    const key = created.body.key as string;
    const item = await h.ddb.send(
      new GetItemCommand({ TableName: h.names.apiKeys, Key: { keyHash: { S: hashApiKey(key) } } }),
    );
    expect(item.Item?.keyId?.S).toBe(created.body.id);
    const everything = JSON.stringify(await h.ddb.send(new ScanCommand({ TableName: h.names.apiKeys })));
    expect(everything).not.toContain(key);
    expect(everything).not.toContain(key.split('.')[1]);
  });

  test('list and get show ids, names, redacted values, status and createdAt, never a secret or hash', async () => {
    await createKey('acme', 'web', 'second');
    await createKey('acme', 'other', 'elsewhere');
    const list = await h.call('GET', keysPath('acme', 'web'));
    expect(list.status).toBe(200);
    expect(list.body.data.map((k: { name: string }) => k.name).sort()).toEqual(['backend', 'second']);
    for (const k of list.body.data) {
      expect(Object.keys(k).sort()).toEqual(
        [
          'allowlist',
          'createdAt',
          'createdBy',
          'id',
          'name',
          'object',
          'organizationId',
          'projectId',
          'redactedValue',
          'revokedAt',
          'status',
        ].sort(),
      );
    }
    expect(JSON.stringify(list.body)).not.toMatch(/sk-[A-Za-z0-9_-]{10}|[0-9a-f]{64}/);
    const one = await h.call('GET', `${keysPath('acme', 'web')}/${created.body.id}`);
    expect(one.body).toEqual(list.body.data.find((k: { id: string }) => k.id === created.body.id));
  });

  test('list pages with limit and cursor', async () => {
    for (let i = 0; i < 4; i++) await createKey('paged', 'p', `k${i}`);
    const first = await h.call('GET', keysPath('paged', 'p'), { query: { limit: '3' } });
    expect(first.body.data).toHaveLength(3);
    const second = await h.call('GET', keysPath('paged', 'p'), {
      query: { limit: '3', cursor: first.body.next_cursor },
    });
    expect(second.body.data).toHaveLength(1);
    const ids = [...first.body.data, ...second.body.data].map((k: { id: string }) => k.id);
    expect(new Set(ids).size).toBe(4);
  });
});

describe('key lifecycle at the authorizer', () => {
  test('create -> accepted -> revoke -> rejected as an invalid key', async () => {
    const { id, key } = await createKey('life', 'p');
    expect(await authorize(key, '203.0.113.9')).toEqual({ allowed: true });

    const revoked = await h.call('DELETE', `${keysPath('life', 'p')}/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, status: 'revoked', revokedAt: expect.any(String) });
    expect(revoked.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 300 });

    expect(await authorize(key, '203.0.113.9')).toEqual({
      allowed: false,
      code: ERRORS.invalidApiKey.code,
      message: ERRORS.invalidApiKey.message,
    });
    expect((await h.call('GET', keysPath('life', 'p'))).body.data[0].status).toBe('revoked');
  });
});

describe('per-key narrowing at the authorizer', () => {
  let narrow: { id: string; key: string };
  let plain: { id: string; key: string };
  const KEY_LIST = () => `${keysPath('narrow', 'web')}/${narrow.id}/ip_allowlist`;

  beforeAll(async () => {
    expect(
      (
        await h.call('PUT', '/v1/organizations/narrow/ip_allowlist', {
          body: { entries: ['198.51.100.0/24'], enabled: true },
        })
      ).status,
    ).toBe(200);
    narrow = await createKey('narrow', 'web', 'backend only');
    plain = await createKey('narrow', 'web', 'everyone in the org list');
    expect(
      (await h.call('PUT', KEY_LIST(), { body: { entries: ['198.51.100.7', '203.0.113.5'], enabled: true } })).status,
    ).toBe(200);
  });

  test('the key list narrows: only its IPs, and only those the org list also allows', async () => {
    expect(await authorize(narrow.key, '198.51.100.7')).toEqual({ allowed: true });
    expect(await authorize(narrow.key, '198.51.100.8')).toEqual({
      allowed: false,
      code: 'ip_not_authorized',
      message: ERRORS.ipNotAuthorizedKey.message,
    });
    // In the key's list but outside the organization's: the key list cannot widen.
    expect(await authorize(narrow.key, '203.0.113.5')).toMatchObject({
      allowed: false,
      message: ERRORS.ipNotAuthorizedOrganization.message,
    });
    // Other keys of the project are not affected.
    expect(await authorize(plain.key, '198.51.100.8')).toEqual({ allowed: true });
  });

  test('disabling the key list lifts the narrowing; the org list still applies', async () => {
    expect((await h.call('POST', `${KEY_LIST()}/disable`)).status).toBe(200);
    expect(await authorize(narrow.key, '198.51.100.8')).toEqual({ allowed: true });
    expect(await authorize(narrow.key, '203.0.113.5')).toMatchObject({ allowed: false });
    expect((await h.call('POST', `${KEY_LIST()}/enable`)).status).toBe(200);
    expect(await authorize(narrow.key, '198.51.100.8')).toMatchObject({ allowed: false });
  });
});

describe('the check tool agrees with the authorizer', () => {
  const ORG_LIST = '/v1/organizations/chk/ip_allowlist';
  const PROJECT_LIST = '/v1/organizations/chk/projects/web/ip_allowlist';
  let key: { id: string; key: string };
  const KEY_LIST = () => `${keysPath('chk', 'web')}/${key.id}/ip_allowlist`;
  const IPS = ['198.51.100.7', '198.51.100.200', '203.0.113.5', '2001:db8::1', '::ffff:198.51.100.7', '192.0.2.1'];

  /** The check's answer on the key route against the authorizer's decision, for every IP. */
  async function expectAgreement(): Promise<{ ip: string; allowed: boolean; scope: string }[]> {
    const answers = [];
    for (const ip of IPS) {
      const check = await h.call('POST', `${KEY_LIST()}/check`, { body: { ip } });
      expect(check.status).toBe(200);
      const actual = await authorize(key.key, ip);
      expect({ ip, allowed: check.body.allowed }).toEqual({ ip, allowed: actual.allowed });
      if (!actual.allowed) {
        const expectedMessage = {
          organization: ERRORS.ipNotAuthorizedOrganization.message,
          project: ERRORS.ipNotAuthorizedProject.message,
          key: ERRORS.ipNotAuthorizedKey.message,
        }[check.body.scope as string];
        expect({ ip, message: actual.message }).toEqual({ ip, message: expectedMessage });
      }
      answers.push({ ip, allowed: check.body.allowed, scope: check.body.scope });
    }
    return answers;
  }

  beforeAll(async () => {
    key = await createKey('chk', 'web');
  });

  test('no list enabled: everything allowed, scope none', async () => {
    const answers = await expectAgreement();
    expect(answers.every((a) => a.allowed && a.scope === 'none')).toBe(true);
    const res = await h.call('POST', `${ORG_LIST}/check`, { body: { ip: '::ffff:192.0.2.1' } });
    expect(res.body).toEqual({
      object: 'ip_allowlist_check',
      allowed: true,
      ip: '192.0.2.1',
      scope: 'none',
      matchedEntry: null,
      enabled: false,
      mode: 'off',
      wouldBlock: null,
      draft: false,
    });
  });

  test("org list, then project list overriding it, then a key list: always the authorizer's answer", async () => {
    await h.call('PUT', ORG_LIST, { body: { entries: ['198.51.100.0/24', '2001:db8::/32'], enabled: true } });
    let answers = await expectAgreement();
    expect(answers.find((a) => a.ip === '203.0.113.5')).toEqual({
      ip: '203.0.113.5',
      allowed: false,
      scope: 'organization',
    });

    await h.call('PUT', PROJECT_LIST, { body: { entries: ['203.0.113.0/24', '198.51.100.7'], enabled: true } });
    answers = await expectAgreement();
    expect(answers.find((a) => a.ip === '203.0.113.5')).toMatchObject({ allowed: true, scope: 'project' });
    expect(answers.find((a) => a.ip === '198.51.100.200')).toMatchObject({ allowed: false, scope: 'project' });

    await h.call('PUT', KEY_LIST(), { body: { entries: ['198.51.100.7'], enabled: true } });
    answers = await expectAgreement();
    expect(answers.find((a) => a.ip === '203.0.113.5')).toMatchObject({ allowed: false, scope: 'key' });
    expect(answers.find((a) => a.ip === '::ffff:198.51.100.7')).toMatchObject({ allowed: true });
  });

  test('the answer names the matched entry (most specific) and the normalized ip', async () => {
    const project = await h.call('POST', `${PROJECT_LIST}/check`, { body: { ip: ' ::FFFF:198.51.100.7 ' } });
    expect(project.body).toMatchObject({
      allowed: true,
      ip: '198.51.100.7',
      scope: 'project',
      matchedEntry: '198.51.100.7/32',
      enabled: true,
    });
    const keyed = await h.call('POST', `${KEY_LIST()}/check`, { body: { ip: '198.51.100.7' } });
    expect(keyed.body).toMatchObject({
      allowed: true,
      scope: 'project',
      matchedEntry: '198.51.100.7/32',
      keyMatchedEntry: '198.51.100.7/32',
    });
    const org = await h.call('POST', `${ORG_LIST}/check`, { body: { ip: '2001:db8::1' } });
    expect(org.body).toMatchObject({ allowed: true, scope: 'organization', matchedEntry: '2001:db8::/32' });
  });

  test('a draft list is evaluated as if saved and enabled; saving it makes the authorizer agree', async () => {
    const draft = ['192.0.2.0/24'];
    const before = await h.call('POST', `${PROJECT_LIST}/check`, { body: { ip: '192.0.2.1' } });
    expect(before.body).toMatchObject({ allowed: false, draft: false });
    const withDraft = await h.call('POST', `${PROJECT_LIST}/check`, { body: { ip: '192.0.2.1', entries: draft } });
    expect(withDraft.body).toMatchObject({
      allowed: true,
      scope: 'project',
      matchedEntry: '192.0.2.0/24',
      enabled: true,
      draft: true,
    });
    // The draft changed nothing.
    expect((await h.call('POST', `${PROJECT_LIST}/check`, { body: { ip: '192.0.2.1' } })).body.allowed).toBe(false);

    // Key list off, then save the draft as the project list: the authorizer now allows what the draft allowed.
    await h.call('POST', `${KEY_LIST()}/disable`);
    expect((await authorize(key.key, '192.0.2.1')).allowed).toBe(false);
    await h.call('PUT', PROJECT_LIST, { body: { entries: draft } });
    expect((await authorize(key.key, '192.0.2.1')).allowed).toBe(true);
  });

  test('an empty draft blocks everything (as an enabled empty list would)', async () => {
    const res = await h.call('POST', `${ORG_LIST}/check`, { body: { ip: '198.51.100.7', entries: [] } });
    expect(res.body).toMatchObject({ allowed: false, scope: 'organization', draft: true });
  });

  test('a revoked key: the check says so instead of answering about the IP', async () => {
    const gone = await createKey('chk', 'web', 'gone');
    await h.call('DELETE', `${keysPath('chk', 'web')}/${gone.id}`);
    expectError(
      await h.call('POST', `${keysPath('chk', 'web')}/${gone.id}/ip_allowlist/check`, { body: { ip: '198.51.100.7' } }),
      409,
      'api_key_revoked',
    );
  });
});
