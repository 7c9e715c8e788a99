import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { bodyLimitBytes } from '../../../lambda/admin/app';
import { localClient, freePort } from '../../support/dynamodb-local';
import { expectError, Harness, makeHarness } from './fixtures';

/**
 * Bad input of every kind gets a 4xx JSON error that says what to fix, never a 500, and nothing is written.
 * After all of them, the tables are checked to be empty.
 */

let h: Harness;
const ORG = '/v1/organizations/acme/ip_allowlist';

beforeAll(async () => {
  h = await makeHarness('admin-bad-input');
});

afterAll(() => h.destroy());

describe('routing', () => {
  test('unknown route: 404 unknown_route', async () => {
    const error = expectError(await h.call('GET', '/v1/organizations/acme/allowlist'), 404, 'unknown_route');
    expect(error.message).toContain('GET /v1/organizations/acme/allowlist');
    expectError(await h.call('GET', '/'), 404, 'unknown_route');
    expectError(await h.call('GET', '/v2/organizations/acme/ip_allowlist'), 404, 'unknown_route');
    expectError(await h.call('GET', '/v1/organizations//ip_allowlist'), 404, 'unknown_route');
    expectError(await h.call('GET', '/v1/organizations/acme/../other/ip_allowlist'), 404, 'unknown_route');
  });

  test('wrong method on a known path: 405 with an Allow header', async () => {
    const res = await h.call('PATCH', ORG);
    const error = expectError(res, 405, 'method_not_allowed');
    expect(res.headers.Allow).toBe('GET, PUT');
    expect(error.message).toContain('PATCH');
    expect((await h.call('GET', `${ORG}/enable`)).headers.Allow).toBe('POST');
    expect((await h.call('DELETE', '/v1/organizations/acme/projects/p/api_keys')).headers.Allow).toBe('POST, GET');
  });

  test('a trailing slash is tolerated', async () => {
    expect((await h.call('GET', `${ORG}/`)).status).toBe(200);
  });

  test.each([
    ['org', '/v1/organizations/ac%23me/ip_allowlist'],
    ['org', '/v1/organizations/acme%2F..%2Fother/ip_allowlist'],
    ['org', `/v1/organizations/${'a'.repeat(65)}/ip_allowlist`],
    ['project', '/v1/organizations/acme/projects/we.b/ip_allowlist'],
    ['keyId', '/v1/organizations/acme/projects/web/api_keys/key%20x/ip_allowlist'],
  ])('a malformed %s in the path is a 400 naming it', async (param, path) => {
    const error = expectError(await h.call('GET', path), 400, 'invalid_id');
    expect(error.param).toBe(param);
    expect(error.message).toMatch(/A-Z, a-z, 0-9/);
  });

  test('ids of up to 64 characters of A-Z, a-z, 0-9, _ and - are accepted', async () => {
    const id = `A-z_9${'x'.repeat(59)}`;
    expect((await h.call('GET', `/v1/organizations/${id}/projects/${id}/ip_allowlist`)).status).toBe(200);
  });

  test('broken percent-encoding is a 400', async () => {
    expectError(await h.call('DELETE', `${ORG}/entries/10.0.0.0%2`), 400, 'invalid_path');
  });
});

describe('bodies', () => {
  test("malformed JSON: 400 invalid_json with the parser's detail", async () => {
    const error = expectError(
      await h.call('POST', `${ORG}/entries`, { body: '{"value": "10.0.0.1",' }),
      400,
      'invalid_json',
    );
    expect(error.message).toMatch(/not valid JSON/);
  });

  test('a non-object body: 400', async () => {
    expectError(await h.call('POST', `${ORG}/entries`, { body: '"10.0.0.1"' }), 400, 'invalid_type');
    expectError(await h.call('POST', `${ORG}/entries`, { body: 'null' }), 400, 'invalid_type');
  });

  test('unknown fields: 400 naming the field and the allowed ones', async () => {
    const error = expectError(
      await h.call('POST', `${ORG}/entries`, { body: { value: '10.0.0.1', comment: 'x' } }),
      400,
      'unknown_parameter',
    );
    expect(error.param).toBe('comment');
    expect(error.message).toContain('value');
  });

  test('the body limit is 64 KiB, or 1 KiB per allowed entry when that is larger', () => {
    expect([bodyLimitBytes(50), bodyLimitBytes(64), bodyLimitBytes(65), bodyLimitBytes(1000)]).toEqual([
      65_536, 65_536, 66_560, 1_024_000,
    ]);
  });

  test('an oversized body: 413 stating the limit', async () => {
    const limit = bodyLimitBytes(50);
    const body = JSON.stringify({ value: '10.0.0.1', description: 'x'.repeat(limit) });
    const error = expectError(await h.call('POST', `${ORG}/entries`, { body }), 413, 'request_too_large');
    expect(error.message).toContain(String(limit));
  });

  test('a base64-encoded body (binary media types) is decoded', async () => {
    const res = await h.call('POST', '/v1/organizations/b64/ip_allowlist/entries', {
      body: { value: '10.0.0.1' },
      base64: true,
    });
    expect(res.status).toBe(200);
    expect(res.body.entries[0].value).toBe('10.0.0.1/32');
  });

  test('a body on a route that takes none: 400', async () => {
    expectError(await h.call('GET', ORG, { body: { x: 1 } }), 400, 'unexpected_body');
    expectError(await h.call('DELETE', `${ORG}/entries/10.0.0.1`, { body: 'not json' }), 400, 'invalid_json');
  });
});

describe('query strings and headers', () => {
  test('an unknown query parameter: 400', async () => {
    const error = expectError(await h.call('GET', ORG, { query: { verbose: 'true' } }), 400, 'unknown_parameter');
    expect(error.message).toMatch(/takes no arguments/);
    expectError(
      await h.call('GET', '/v1/organizations/acme/audit_log', { query: { limt: '5' } }),
      400,
      'unknown_parameter',
    );
  });

  test('a repeated query parameter: 400', async () => {
    expectError(
      await h.call('DELETE', `${ORG}/entries`, { query: { value: ['10.0.0.1', '10.0.0.2'] } }),
      400,
      'invalid_value',
    );
  });

  test.each(['0', '101', 'ten', '-1', '1.5'])('limit=%s: 400', async (limit) => {
    const error = expectError(
      await h.call('GET', '/v1/organizations/acme/audit_log', { query: { limit } }),
      400,
      'invalid_value',
    );
    expect(error.param).toBe('limit');
  });

  test.each(['abc', '"x"', '1, 2', '*', '"1'])('If-Match %s: 400', async (value) => {
    const error = expectError(
      await h.call('POST', `${ORG}/entries`, { body: { value: '10.0.0.1' }, headers: { 'If-Match': value } }),
      400,
      'invalid_if_match',
    );
    expect(error.param).toBe('If-Match');
  });
});

describe('the check tool', () => {
  test('ip required, a string, a single address', async () => {
    expectError(await h.call('POST', `${ORG}/check`, { body: {} }), 400, 'missing_required_parameter');
    expectError(await h.call('POST', `${ORG}/check`, { body: { ip: 4 } }), 400, 'invalid_type');
    const range = expectError(
      await h.call('POST', `${ORG}/check`, { body: { ip: '10.0.0.0/8' } }),
      400,
      'invalid_ip_address',
    );
    expect(range.message).toMatch(/single IP address/);
    expectError(await h.call('POST', `${ORG}/check`, { body: { ip: '127.1' } }), 400, 'invalid_ip_address');
    expectError(
      await h.call('POST', `${ORG}/check`, { body: { ip: '10.0.0.1', entries: ['nope'] } }),
      400,
      'invalid_entries',
    );
    expectError(
      await h.call('POST', `${ORG}/check`, { body: { ip: '10.0.0.1', mode: 'x' } }),
      400,
      'unknown_parameter',
    );
  });
});

describe('API keys', () => {
  test('create: name required, a string, 1-100 characters; nothing else', async () => {
    const base = '/v1/organizations/acme/projects/web/api_keys';
    expectError(await h.call('POST', base, { body: {} }), 400, 'missing_required_parameter');
    expectError(await h.call('POST', base, { body: { name: 3 } }), 400, 'invalid_type');
    expectError(await h.call('POST', base, { body: { name: '   ' } }), 400, 'invalid_value');
    expectError(await h.call('POST', base, { body: { name: 'n'.repeat(101) } }), 400, 'invalid_value');
    expectError(await h.call('POST', base, { body: { name: 'ok', scopes: [] } }), 400, 'unknown_parameter');
  });

  test('unknown key: 404 on get and revoke', async () => {
    expectError(await h.call('GET', '/v1/organizations/acme/projects/web/api_keys/key_nope'), 404, 'api_key_not_found');
    expectError(
      await h.call('DELETE', '/v1/organizations/acme/projects/web/api_keys/key_nope'),
      404,
      'api_key_not_found',
    );
  });

  test.each([
    ['garbage', 'not-base64!'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    [
      'another project',
      Buffer.from(
        JSON.stringify({ projectScope: { S: 'ORG#acme#PROJECT#other' }, keyId: { S: 'k' }, keyHash: { S: 'h' } }),
      ).toString('base64url'),
    ],
    [
      'extra attributes',
      Buffer.from(
        JSON.stringify({
          projectScope: { S: 'ORG#acme#PROJECT#web' },
          keyId: { S: 'k' },
          keyHash: { S: 'h' },
          x: { S: 'y' },
        }),
      ).toString('base64url'),
    ],
    [
      'a number attribute',
      Buffer.from(
        JSON.stringify({ projectScope: { S: 'ORG#acme#PROJECT#web' }, keyId: { N: '1' }, keyHash: { S: 'h' } }),
      ).toString('base64url'),
    ],
  ])('a forged cursor (%s) is a 400, not a storage error', async (_what, cursor) => {
    const error = expectError(
      await h.call('GET', '/v1/organizations/acme/projects/web/api_keys', { query: { cursor } }),
      400,
      'invalid_cursor',
    );
    expect(error.param).toBe('cursor');
  });
});

test('nothing above wrote anything except the one base64 add', async () => {
  const counts: Record<string, number> = {};
  for (const [name, table] of Object.entries(h.names)) {
    counts[name] = (await h.ddb.send(new ScanCommand({ TableName: table, Select: 'COUNT' }))).Count ?? -1;
  }
  expect(counts).toEqual({ allowlists: 1, apiKeys: 0, auditLog: 1, traffic: 0 });
  expect(h.logger.records.filter((r) => r.level === 'error')).toEqual([]);
});

test('storage down: 503 JSON storage_unavailable, and the handler says why in its log', async () => {
  const dead = localClient(`http://127.0.0.1:${await freePort()}`, { maxAttempts: 1 });
  const down = await makeHarness('admin-store-down', { handlerClient: dead });
  try {
    for (const [method, path, body] of [
      ['GET', ORG, undefined],
      ['POST', `${ORG}/entries`, { value: '10.0.0.1' }],
      ['POST', '/v1/organizations/acme/projects/web/api_keys', { name: 'k' }],
      ['GET', '/v1/organizations/acme/audit_log', undefined],
    ] as const) {
      const res = await down.call(method, path, { body });
      const error = expectError(res, 503, 'storage_unavailable');
      expect(error.type).toBe('server_error');
      expect(res.headers['Retry-After']).toBe('1');
    }
    expect(down.logger.records.filter((r) => r.level === 'error')).toHaveLength(4);
    expect(String(down.logger.records[0].extra.error)).toMatch(/StoreUnavailableError/);
  } finally {
    dead.destroy();
    down.destroy();
  }
});
