import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminOpenApiJson } from '../../lambda/admin/contract/openapi';
import { ROUTES } from '../../lambda/admin/routes';

/**
 * openapi/admin-api.json (shipped in the package) against the router's route table: every implemented route is
 * documented, every documented route is implemented, and the two agree on parameters and bodies. The document is
 * generated from the contract's schemas by the build; the first test fails when the committed one is stale.
 */

const DOC_PATH = path.join(__dirname, '..', '..', 'openapi', 'admin-api.json');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the OpenAPI document as JSON, walked by $ref
const doc: any = JSON.parse(fs.readFileSync(DOC_PATH, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any node of that JSON
function resolve(node: any): any {
  if (node && typeof node.$ref === 'string') {
    const parts = node.$ref.replace(/^#\//, '').split('/');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any node of that JSON
    return resolve(parts.reduce((n: any, k: string) => n?.[k], doc));
  }
  return node;
}

const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, item]) =>
  Object.keys(item)
    .filter((m) => METHODS.includes(m))
    .map((m) => ({ method: m.toUpperCase(), path: p, op: resolve(item[m]) })),
);
const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

test('the committed document is the one the schemas generate (run `npm run openapi`)', () => {
  expect(fs.readFileSync(DOC_PATH, 'utf8')).toBe(adminOpenApiJson());
});

test('the package ships the document', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  expect(pkg.files).toContain('openapi/');
  expect(doc.openapi).toMatch(/^3\./);
});

test('every implemented route is documented, and every documented route is implemented', () => {
  expect(documented.map(key).sort()).toEqual(ROUTES.map(key).sort());
});

test('every $ref resolves', () => {
  const refs: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        if (k === '$ref') refs.push(v as string);
        else walk(v);
      }
    }
  };
  walk(doc);
  expect(refs.length).toBeGreaterThan(50);
  for (const ref of refs) expect({ ref, resolved: resolve({ $ref: ref }) !== undefined }).toEqual({ ref, resolved: true });
});

describe.each(ROUTES.map((r) => [key(r), r] as const))('%s', (_name, route) => {
  const entry = documented.find((d) => key(d) === key(route));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- OpenAPI parameter objects, as JSON
  const params: any[] = (entry?.op.parameters ?? []).map(resolve);

  test('its operationId names the implementing operation, uniquely', () => {
    expect(entry?.op.operationId).toMatch(new RegExp(`^${route.operation}(Organization|Project|Key)?$`));
    expect(documented.filter((d) => d.op.operationId === entry?.op.operationId)).toHaveLength(1);
  });

  test('path parameters are declared exactly', () => {
    const inTemplate = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    expect(params.filter((p) => p.in === 'path').map((p) => p.name).sort()).toEqual(inTemplate);
    for (const p of params.filter((q) => q.in === 'path')) expect(p.required).toBe(true);
  });

  test('query parameters are the ones the router accepts', () => {
    expect(params.filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual([...route.query].sort());
  });

  test('a request body is documented exactly when the route reads one', () => {
    expect(Boolean(entry?.op.requestBody)).toBe(route.body);
  });

  test('writes to allowlists document If-Match, 412 and the propagation result', () => {
    const isAllowlistWrite = route.write && route.path.includes('/ip_allowlist');
    expect(route.versioned).toBe(isAllowlistWrite);
    expect(params.some((p) => p.in === 'header' && p.name === 'If-Match')).toBe(isAllowlistWrite);
    expect(Boolean(entry?.op.responses['412'])).toBe(route.write);
    const success = resolve(entry?.op.responses['200'] ?? entry?.op.responses['201']);
    const schema = resolve(success.content['application/json'].schema);
    const hasPropagation = JSON.stringify(schema.allOf ?? schema).includes('Propagation');
    expect(hasPropagation).toBe(route.write);
  });

  test('errors use the shared error schema', () => {
    for (const [status, response] of Object.entries(entry?.op.responses ?? {})) {
      if (Number(status) < 400) continue;
      expect(resolve(response).content['application/json'].schema.$ref).toBe('#/components/schemas/Error');
    }
  });
});

test('every operation requires SigV4 (the API uses AWS_IAM on every method)', () => {
  expect(doc.security).toEqual([{ sigv4: [] }]);
  expect(documented.every((d) => d.op.security === undefined)).toBe(true);
  expect(doc.components.securitySchemes.sigv4['x-amazon-apigateway-authtype']).toBe('awsSigv4');
});
