import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OPERATIONS, OperationName, OperationSpec } from '../../lambda/admin/contract/routes';
import { ErrorBody } from '../../lambda/admin/contract/schemas';
import { matchRoute, ROUTES } from '../../lambda/admin/routes';
import { Harness, makeHarness, Reply } from '../lambda/admin/fixtures';

/**
 * The contract's schemas (lambda/admin/contract) against what the real handler does, field by field: every route is
 * called through the real handler and store (DynamoDB Local), and each answer must parse with the schema the
 * contract gives for its status (strict objects: no undocumented field, every required one, types, enums,
 * nullability). Request bodies: the fields the handler accepts are exactly the ones the generated document shows.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document walked by $ref
type Json = any;
const doc: Json = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'openapi', 'admin-api.json'), 'utf8'));

function resolve(node: Json): Json {
  if (node && typeof node.$ref === 'string') {
    return resolve(node.$ref.replace(/^#\//, '').split('/').reduce((n: Json, k: string) => n?.[k], doc));
  }
  return node;
}

/** Where `body` departs from the contract's schema for `status`; empty when it conforms. */
function violations(operation: OperationName, status: number, body: unknown): string[] {
  const spec: OperationSpec = OPERATIONS[operation];
  const schema = status === spec.success.status ? spec.success.schema : ErrorBody;
  const result = schema.safeParse(body);
  return result.success ? [] : result.error.issues.map((i) => `$.${i.path.join('.')}: ${i.message}`);
}

function isDocumentedStatus(operation: OperationName, status: number): boolean {
  const spec: OperationSpec = OPERATIONS[operation];
  return status === spec.success.status || spec.errors.some((s) => s === status);
}

let h: Harness;
const exercised = new Set<string>();

/** Calls the handler and checks the answer against the document's response for its status. */
async function call(method: string, p: string, options?: Parameters<Harness['call']>[2]): Promise<Reply> {
  const res = await h.call(method, p, options);
  const { route } = matchRoute(method, p.split('?')[0]);
  expect({
    route: `${method} ${route.path}`,
    status: res.status,
    documented: isDocumentedStatus(route.operation, res.status),
  }).toEqual({
    route: `${method} ${route.path}`,
    status: res.status,
    documented: true,
  });
  expect({ route: `${method} ${p}`, violations: violations(route.operation, res.status, res.body) }).toEqual({
    route: `${method} ${p}`,
    violations: [],
  });
  if (res.status < 300) exercised.add(`${method} ${route.path}`);
  return res;
}

beforeAll(async () => {
  h = await makeHarness('openapi-conformance', { maxEntries: 3 });
});

afterAll(() => h.destroy());

test('every route answers as documented, on success and on refusal', async () => {
  const org = '/v1/organizations/oas';
  const keys = `${org}/projects/web/api_keys`;
  const created = await call('POST', keys, { body: { name: 'backend' } });
  const key = `${keys}/${created.body.id}`;
  for (const list of [`${org}/ip_allowlist`, `${org}/projects/web/ip_allowlist`, `${key}/ip_allowlist`]) {
    await call('GET', list);
    await call('PUT', list, { body: { entries: ['10.0.0.0/8', { value: '192.0.2.0/24', description: 'office' }], enabled: false } });
    await call('POST', `${list}/entries`, { body: { value: '198.51.100.7', description: 'backend' } });
    await call('POST', `${list}/entries`, { body: { entries: ['203.0.113.1'] } }); // 422: over maxEntries
    await call('POST', `${list}/entries`, { body: { entries: ['10.0.0.1/8', 'nope'] } }); // 400 listing both
    await call('DELETE', `${list}/entries/${encodeURIComponent('198.51.100.7')}`);
    await call('DELETE', `${list}/entries`, { query: { value: '192.0.2.0/24' } });
    await call('POST', `${list}/enable`);
    await call('POST', `${list}/disable`, { headers: { 'If-Match': '"1"' } }); // 412
    await call('POST', `${list}/disable`);
    await call('POST', `${list}/check`, { body: { ip: '10.1.2.3' } });
    await call('POST', `${list}/check`, { body: { ip: '10.1.2.3', entries: ['192.0.2.0/24'] } });
    await call('POST', `${list}/preview`, { body: { mode: 'enforce', days: 2 } });
    await call('POST', `${list}/preview`, { body: { days: 0 } }); // 400
  }
  await call('GET', keys, { query: { limit: '1' } });
  await call('GET', key);
  await call('DELETE', key);
  await call('DELETE', key); // 409: already revoked
  await call('GET', `${org}/audit_log`, { query: { limit: '5' } });
  const seen = Date.now() - 60_000;
  await h.recordSightings([
    {
      organizationId: 'oas',
      projectId: 'web',
      keyId: created.body.id,
      sourceIp: '10.1.2.3',
      outcome: 'would_block',
      scope: 'project',
      matched: { organization: '10.0.0.0/8' },
      count: 2,
      firstSeen: seen,
      lastSeen: seen,
    },
  ]);
  const traffic = await call('GET', `${org}/traffic`, { query: { limit: '1', outcome: 'would_block', project: 'web' } });
  expect(traffic.body.data).toHaveLength(1);
  await call('GET', `${org}/traffic`, { query: { since: 'yesterday' } }); // 400
  await call('GET', `${org}/traffic`, { query: { cursor: 'eyJwayI6eyJTIjoiT1JHI290aGVyIn19' } }); // 400
  const listed = await call('GET', `${org}/ip_allowlist`);
  expect(listed.body.entries.map((e: { lastMatchedAt: string | null }) => e.lastMatchedAt)).toContain(
    new Date(seen).toISOString(),
  );
  await call('GET', '/v1/whoami');

  expect([...exercised].sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
});

test('the refusals of issue 9 answer as documented: whole families, unsafe text, corrupt lists', async () => {
  const org = '/v1/organizations/oasfam';
  const keys = `${org}/projects/p/api_keys`;
  expect((await call('PUT', `${org}/ip_allowlist`, { body: { entries: ['0.0.0.0/1', '128.0.0.0/1'] } })).status).toBe(422);
  expect((await call('POST', `${org}/ip_allowlist/check`, { body: { ip: '10.0.0.1', entries: ['::/1', '8000::/1'] } })).status).toBe(422);
  expect((await call('POST', `${org}/ip_allowlist/entries`, { body: { value: '10.0.0.1', description: 'a\u001bb' } })).status).toBe(400);
  expect((await call('POST', keys, { body: { name: 'a\u202eb' } })).status).toBe(400);

  const created = await call('POST', keys, { body: { name: 'k' } });
  const stored = await h.store.findApiKey('oasfam', 'p', created.body.id);
  await h.ddb.send(
    new UpdateItemCommand({
      TableName: h.names.apiKeys,
      Key: { keyHash: { S: stored!.keyHash } },
      UpdateExpression: 'SET #al = :al',
      ExpressionAttributeNames: { '#al': 'allowlist' },
      ExpressionAttributeValues: { ':al': { NULL: true } },
    }),
  );
  const list = `${keys}/${created.body.id}/ip_allowlist`;
  expect((await call('GET', list)).status).toBe(409);
  expect((await call('POST', `${list}/check`, { body: { ip: '10.0.0.1' } })).status).toBe(409);
  expect((await call('GET', `${keys}/${created.body.id}`)).body.allowlist.corrupt).toBe(true);
  expect((await call('PUT', list, { body: { entries: ['10.0.0.1'], enabled: true } })).status).toBe(200);
});

test('expiring entries answer as documented: expiresAt, expired, warnings and the expiry refusals', async () => {
  const list = '/v1/organizations/oasexp/ip_allowlist';
  const added = await call('POST', `${list}/entries`, { body: { value: '10.0.0.1', expiresIn: 3600 } });
  expect(added.body.entries[0].expiresAt).not.toBeNull();
  expect((await call('POST', `${list}/check`, { body: { ip: '10.0.0.1', entries: [{ value: '10.0.0.1', expiresIn: 60 }] } })).status).toBe(200);
  expect((await call('POST', `${list}/entries`, { body: { value: '10.0.0.2', expiresIn: 0 } })).status).toBe(422);
  const bad = await call('PUT', list, { body: { entries: [{ value: '10.0.0.2', expiresAt: 'soon' }, { value: '10.0.0.3', expiresAt: '2026-01-01T00:00:00Z', expiresIn: 5 }] } });
  expect(bad.body.error.rejected.map((r: { code: string }) => r.code)).toEqual(['invalid_expires_at', 'conflicting_expiry']);

  // An enforced list whose only entry expired (written behind the API's back: the API refuses past times).
  await h.ddb.send(
    new PutItemCommand({
      TableName: h.names.allowlists,
      Item: {
        pk: { S: 'ORG#oasexp2' },
        enabled: { BOOL: true },
        mode: { S: 'enforce' },
        entries: {
          L: [
            {
              M: {
                value: { S: '10.0.0.1/32' },
                createdAt: { S: '2019-12-01T00:00:00.000Z' },
                expiresAt: { S: '2020-01-01T00:00:00.000Z' },
              },
            },
          ],
        },
        version: { N: '1' },
      },
    }),
  );
  const expired = await call('GET', '/v1/organizations/oasexp2/ip_allowlist');
  expect(expired.body.entries[0].expired).toBe(true);
  expect(expired.body.warnings.map((w: { code: string }) => w.code)).toEqual(['all_entries_expired']);
});

test("the lockout guard's refusal, its warnings and a preview with callers answer as documented", async () => {
  const org = '/v1/organizations/oasguard';
  const created = await call('POST', `${org}/projects/p/api_keys`, { body: { name: 'k' } });
  await call('PUT', `${org}/ip_allowlist`, { body: { entries: ['10.0.0.0/8'] } });
  const now = Date.now();
  await h.recordSightings(
    ['10.0.0.1', '192.0.2.1'].map((sourceIp) => ({
      organizationId: 'oasguard',
      projectId: 'p',
      keyId: created.body.id as string,
      sourceIp,
      outcome: 'allowed' as const,
      scope: 'none' as const,
      matched: {},
      count: 2,
      firstSeen: now - 60_000,
      lastSeen: now - 1000,
    })),
  );

  const preview = await call('POST', `${org}/ip_allowlist/preview`, { body: { mode: 'enforce' } });
  const refused = await call('POST', `${org}/ip_allowlist/enable`);
  const forced = await call('POST', `${org}/ip_allowlist/enable`, { body: { force: true } });

  expect(preview.body.wouldBlock).toHaveLength(1);
  expect(refused.body.error.wouldBlock).toHaveLength(1);
  expect(forced.status).toBe(200);
});

describe.each(ROUTES.filter((r) => r.body).map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_name, route) => {
  test('accepts exactly the documented request fields', async () => {
    const operation = resolve(doc.paths[route.path][route.method.toLowerCase()]);
    const schema = resolve(resolve(operation.requestBody).content['application/json'].schema);
    const branches: Json[] = (schema.anyOf ?? schema.oneOf ?? [schema]).map(resolve);
    const documented = new Set<string>(branches.flatMap((b) => Object.keys(b.properties)));
    const concrete = route.path.replace('{org}', 'oasf').replace('{project}', 'p').replace('{keyId}', 'key_unknown');

    const res = await h.call(route.method, concrete, { body: { zz_undocumented: 1 } });

    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_parameter');
    const allowed = /Allowed: ([^.]+)\./.exec(res.body.error.message)?.[1].split(', ') ?? [];
    expect(allowed.sort()).toEqual([...documented].sort());
  });
});
