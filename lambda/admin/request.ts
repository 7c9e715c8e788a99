import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  badRequest,
  invalidJson,
  invalidType,
  invalidValue,
  missingParameter,
  payloadTooLarge,
  unknownParameter,
} from './errors';
import { RouteDefinition } from './routes';

/**
 * Turning an API Gateway proxy event into checked inputs. Every check names what to fix; every failure is a 4xx
 * thrown before any handler runs, so bad input never reaches storage.
 */

/** The caller as IAM authenticated it (AWS_IAM authorization); local mode sets a `local:<user>` userArn. */
export function callerIdentity(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  return identity?.userArn || identity?.caller || 'anonymous';
}

export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === wanted && v !== undefined) return v;
  }
  return undefined;
}

/**
 * The body as JSON, or undefined when there is none. Routes without a body accept only nothing, whitespace
 * or `{}`: a body sent to such a route is a mistake worth reporting, not something to ignore.
 */
export function parseBody(event: APIGatewayProxyEvent, route: RouteDefinition, limitBytes: number): unknown {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > limitBytes) throw payloadTooLarge(limitBytes, raw.length);
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidJson((err as Error).message);
  }
  if (!route.body) {
    if (isPlainObject(value) && Object.keys(value).length === 0) return undefined;
    throw badRequest('unexpected_body', `${route.method} ${route.path} takes no request body; send none (or {}).`);
  }
  return value;
}

/** Query parameters, each given at most once, all of them accepted by the route. */
export function parseQuery(event: APIGatewayProxyEvent, route: RouteDefinition): Record<string, string> {
  const query: Record<string, string> = {};
  const multi = event.multiValueQueryStringParameters ?? {};
  const single = event.queryStringParameters ?? {};
  for (const name of new Set([...Object.keys(single), ...Object.keys(multi)])) {
    if (!route.query.includes(name)) throw unknownParameter(name, route.query);
    const values = multi[name] ?? (single[name] !== undefined ? [single[name]] : []);
    if (values.length > 1)
      throw invalidValue(name, `Query parameter ${name} was given ${values.length} times; give it once.`);
    if (values.length === 1) query[name] = values[0];
  }
  return query;
}

/**
 * The version an If-Match header asks for, or undefined without the header. Accepts the ETag this API sends
 * (`"3"`), a weak one (`W/"3"`) and a bare number (`3`).
 */
export function parseIfMatch(event: APIGatewayProxyEvent): number | undefined {
  const value = header(event, 'if-match');
  if (value === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(value);
  if (!m || (value.includes('"') && !/"\d+"/.test(value))) {
    throw badRequest(
      'invalid_if_match',
      `If-Match must be the allowlist version as returned in its ETag (e.g. "3"), got ${JSON.stringify(value)}.`,
      'If-Match',
    );
  }
  return Number(m[1]);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON object with only the given fields (unknown fields are an error, so a typo is never silently dropped). */
export function expectObject(value: unknown, param: string, allowed: readonly string[]): Record<string, unknown> {
  if (value === undefined)
    throw badRequest('missing_body', `This request needs a JSON object body with ${allowed.join(', ')}.`);
  if (!isPlainObject(value)) throw invalidType(param || 'body', 'a JSON object', value);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw unknownParameter(param ? `${param}.${key}` : key, allowed);
  }
  return value;
}

export function requiredString(obj: Record<string, unknown>, name: string, what: string): string {
  const v = obj[name];
  if (v === undefined) throw missingParameter(name, what);
  if (typeof v !== 'string') throw invalidType(name, 'a string', v);
  return v;
}

export function optionalBoolean(obj: Record<string, unknown>, name: string): boolean | undefined {
  const v = obj[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalidType(name, 'a boolean (true or false)', v);
  return v;
}

/** `limit` from the query: 1..100, default 20. */
export function parseLimit(query: Record<string, string>): number {
  const text = query.limit;
  if (text === undefined) return 20;
  const n = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 100))
    throw invalidValue('limit', `limit must be a whole number from 1 to 100, got ${JSON.stringify(text)}.`);
  return n;
}
