import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { matchRoute, ROUTES } from '../../lambda/admin/routes';
import { Harness, makeHarness, Reply } from '../lambda/admin/fixtures';

/**
 * openapi/admin-api.json against what the real handler does, field by field: every route is called through the
 * real handler and store (DynamoDB Local), and each answer must match the schema the document gives for its
 * status (no undocumented field, every required one, types, enums, nullability). Request bodies: the fields the
 * handler accepts are exactly the documented ones.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = any;
const doc: Schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'openapi', 'admin-api.json'), 'utf8'));

function resolve(node: Schema): Schema {
  if (node && typeof node.$ref === 'string') {
    return resolve(node.$ref.replace(/^#\//, '').split('/').reduce((n: Schema, k: string) => n?.[k], doc));
  }
  return node;
}

/** allOf merged into one object schema. */
function flat(schema: Schema): Schema {
  const s = resolve(schema);
  if (!s?.allOf) return s;
  const parts = s.allOf.map(flat);
  return {
    type: 'object',
    required: parts.flatMap((p: Schema) => p.required ?? []),
    properties: Object.assign({}, ...parts.map((p: Schema) => p.properties ?? {})),
  };
}

/** Where `value` departs from `schema`; empty when it conforms. */
function violations(value: unknown, schema: Schema, at = '$'): string[] {
  const s = flat(schema);
  if (!s || Object.keys(s).filter((k) => k !== 'description' && k !== 'nullable').length === 0) return [];
  if (value === null) return s.nullable ? [] : [`${at}: null but not nullable`];
  if (s.oneOf) {
    const matching = s.oneOf.filter((o: Schema) => violations(value, o, at).length === 0);
    return matching.length === 1 ? [] : [`${at}: matches ${matching.length} of the oneOf schemas`];
  }
  if (s.enum && !s.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} is not one of ${s.enum.join(', ')}`];
  switch (s.type) {
    case 'string':
      return typeof value === 'string' ? [] : [`${at}: not a string`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at}: not a boolean`];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${at}: not an integer`];
    case 'number':
      return typeof value === 'number' ? [] : [`${at}: not a number`];
    case 'array':
      return Array.isArray(value) ? value.flatMap((v, i) => violations(v, s.items, `${at}[${i}]`)) : [`${at}: not an array`];
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: not an object`];
      const obj = value as Record<string, unknown>;
      const props = s.properties ?? {};
      return [
        ...(s.required ?? []).filter((k: string) => !(k in obj)).map((k: string) => `${at}.${k}: required, missing`),
        ...Object.keys(obj).filter((k) => !(k in props)).map((k) => `${at}.${k}: not documented`),
        ...Object.keys(obj).filter((k) => k in props).flatMap((k) => violations(obj[k], props[k], `${at}.${k}`)),
      ];
    }
    default:
      return [`${at}: the document gives no type`];
  }
}

function documentedOperation(method: string, routePath: string): Schema {
  return resolve(doc.paths[routePath]?.[method.toLowerCase()]);
}

let h: Harness;
const exercised = new Set<string>();

/** Calls the handler and checks the answer against the document's response for its status. */
async function call(method: string, p: string, options?: Parameters<Harness['call']>[2]): Promise<Reply> {
  const res = await h.call(method, p, options);
  const { route } = matchRoute(method, p.split('?')[0]);
  const op = documentedOperation(method, route.path);
  const response = resolve(op.responses[String(res.status)]);
  expect({ route: `${method} ${route.path}`, status: res.status, documented: response !== undefined }).toEqual({
    route: `${method} ${route.path}`,
    status: res.status,
    documented: true,
  });
  expect({ route: `${method} ${p}`, violations: violations(res.body, response.content['application/json'].schema) }).toEqual({
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
  }
  await call('GET', keys, { query: { limit: '1' } });
  await call('GET', key);
  await call('DELETE', key);
  await call('DELETE', key); // 409: already revoked
  await call('GET', `${org}/audit_log`, { query: { limit: '5' } });
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

describe.each(ROUTES.filter((r) => r.body).map((r) => [`${r.method} ${r.path}`, r] as const))('%s', (_name, route) => {
  test('accepts exactly the documented request fields', async () => {
    const schema = resolve(documentedOperation(route.method, route.path).requestBody).content['application/json'].schema;
    const branches = resolve(schema).oneOf ?? [schema];
    const documented = new Set<string>(branches.flatMap((b: Schema) => Object.keys(flat(b).properties)));
    const concrete = route.path.replace('{org}', 'oasf').replace('{project}', 'p').replace('{keyId}', 'key_unknown');

    const res = await h.call(route.method, concrete, { body: { zz_undocumented: 1 } });

    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_parameter');
    const allowed = /Allowed: ([^.]+)\./.exec(res.body.error.message)?.[1].split(', ') ?? [];
    expect(allowed.sort()).toEqual([...documented].sort());
  });
});
