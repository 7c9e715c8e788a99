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

test('the recording covers every request-body route and both paginated lists', () => {
  expect(recorded.length).toBeGreaterThan(40);
  expect(new Set(recorded.map((r) => r.status))).toEqual(new Set([400]));
});

test.each(recorded.map((r) => [`${r.method} ${r.path} ${JSON.stringify(r.body ?? r.query ?? null)}`, r] as const))(
  '%s',
  async (_name, r) => {
    const res = await handler(event(r));
    expect({ status: res.statusCode, body: res.body }).toEqual({ status: r.status, body: r.response });
  },
);
