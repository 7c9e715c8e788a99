import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createAdminHandler } from '../../../lambda/admin/app';
import type { AdminDependencies } from '../../../lambda/admin/context';

/**
 * Requests are parsed by the contract's zod schemas, and every refusal keeps the body the hand-written checks gave:
 * request-errors.json holds each request with the status and body recorded from the code before the schemas
 * (commit 0840a36), byte for byte, including requests wrong in two places (which error comes first). The store
 * fails on any use, so each refusal is also shown to come before any read or write.
 */

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly query?: Record<string, string>;
  readonly status: number;
  readonly response: string;
}

const recorded = JSON.parse(fs.readFileSync(path.join(__dirname, 'request-errors.json'), 'utf8')) as Recorded[];

const untouchable = new Proxy(
  {},
  {
    get: (_target, name) => () => {
      throw new Error(`the store was used (${String(name)}) for a request that should have been refused`);
    },
  },
) as AdminDependencies['store'];

const handler = createAdminHandler({
  store: untouchable,
  flusher: { flush: () => Promise.resolve(false) },
  config: { maxEntries: 10, propagationDelaySeconds: 60, memoryCacheTtlSeconds: 0, maxDecisionAgeSeconds: 1 },
  logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
});

function event(r: Recorded): APIGatewayProxyEvent {
  return {
    httpMethod: r.method,
    path: r.path,
    body: r.body === undefined ? null : JSON.stringify(r.body),
    queryStringParameters: r.query ?? null,
    headers: {},
    requestContext: { requestId: 'r', identity: { userArn: 'local:test' } },
  } as unknown as APIGatewayProxyEvent;
}

/**
 * The refusals report-only mode changed on purpose (issue 12 §2), as the recording's name for the request -> the
 * body now: PUT gained the `mode` field, so the lists of allowed fields name it; enable now takes an optional body
 * `{"mode": ...}`, so an unknown field in it is named rather than the whole body refused. The lockout guard (§3)
 * added `force` to the bodies of PUT and enable (and add), so those lists name it too. Every other recorded body
 * is unchanged, byte for byte.
 */
const allowedNow = (message: string, param: string | null, code: string) =>
  JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } });
const CHANGED_BY_REPORT_ONLY: Readonly<Record<string, string>> = {
  'PUT /v1/organizations/o/ip_allowlist {"zz":1,"entries":5}': allowedNow(
    'Unrecognized request argument supplied: zz. Allowed: entries, enabled, mode, force.',
    'zz',
    'unknown_parameter',
  ),
  'PUT /v1/organizations/o/ip_allowlist {"entries":["bad"],"zz":1}': allowedNow(
    'Unrecognized request argument supplied: zz. Allowed: entries, enabled, mode, force.',
    'zz',
    'unknown_parameter',
  ),
  'PUT /v1/organizations/o/ip_allowlist null': allowedNow(
    'This request needs a JSON object body with entries, enabled, mode, force.',
    null,
    'missing_body',
  ),
  'POST /v1/organizations/o/ip_allowlist/enable {"a":1}': allowedNow(
    'Unrecognized request argument supplied: a. Allowed: mode, force.',
    'a',
    'unknown_parameter',
  ),
};

/**
 * The refusals expiring entries changed on purpose (issue 12 §4): an entry object gained `expiresAt` and
 * `expiresIn`, so the list of its allowed fields names them. Nothing else in these bodies changed.
 */
const CHANGED_BY_EXPIRY: ReadonlySet<string> = new Set([
  'PUT /v1/organizations/o/ip_allowlist {"entries":[{"value":"10.0.0.1","zz":1},7]}',
  'PUT /v1/organizations/o/ip_allowlist {"entries":[{"zz":1}]}',
  'PUT /v1/organizations/o/ip_allowlist {"entries":[{"zz":1,"description":5}]}',
  'POST /v1/organizations/o/ip_allowlist/check {"ip":"1.1.1.1","entries":[{"zz":1}]}',
]);
const withExpiryFields = (response: string) =>
  response.replace('Allowed: value, description.', 'Allowed: value, description, expiresAt, expiresIn.');

test('each change to the recording names a recorded request', () => {
  const names = new Set(recorded.map(nameOf));
  expect(Object.keys(CHANGED_BY_REPORT_ONLY).filter((n) => !names.has(n))).toEqual([]);
  expect([...CHANGED_BY_EXPIRY].filter((n) => !names.has(n))).toEqual([]);
  // Each one really is the list of an entry's fields, so the replacement below changes it.
  for (const r of recorded.filter((x) => CHANGED_BY_EXPIRY.has(nameOf(x))))
    expect(withExpiryFields(r.response)).not.toBe(r.response);
});

function nameOf(r: Recorded): string {
  return `${r.method} ${r.path} ${JSON.stringify(r.body ?? r.query ?? null)}`;
}

test('the recording covers every request-body route and both paginated lists', () => {
  expect(recorded.length).toBeGreaterThan(40);
  expect(new Set(recorded.map((r) => r.status))).toEqual(new Set([400]));
});

test.each(recorded.map((r) => [nameOf(r), r] as const))('%s', async (name, r) => {
  const res = await handler(event(r));
  expect({ status: res.statusCode, body: res.body }).toEqual({
    status: r.status,
    body: CHANGED_BY_REPORT_ONLY[name] ?? (CHANGED_BY_EXPIRY.has(name) ? withExpiryFields(r.response) : r.response),
  });
});
