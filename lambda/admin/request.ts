import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod';
import { OPERATIONS, OperationInput, OperationName, OperationSpec, RouteDefinition } from './contract/routes';
import { requestHints } from './contract/schemas';
import {
  AdminError,
  badRequest,
  invalidJson,
  invalidType,
  invalidValue,
  missingBody,
  missingParameter,
  payloadTooLarge,
  unknownParameter,
} from './errors';

/**
 * Turning an API Gateway proxy event into checked inputs: the raw query and JSON body here, then the operation's
 * schemas (contract/) with their issues worded as our errors. Every check names what to fix; every failure is a 4xx
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

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- the contract's schemas, and their issues as our errors ---------------------------------------------------------

/** The input of an operation, parsed by its schemas: query first, then body, as the handlers always checked them. */
export function parseInput<K extends OperationName>(
  operation: K,
  query: Readonly<Record<string, string>>,
  body: unknown,
): OperationInput<K> {
  const spec: OperationSpec = OPERATIONS[operation];
  const input = {
    query: spec.query ? parseWith(spec.query, query) : {},
    body: spec.body ? parseBodyWith(spec.body, body === undefined && spec.bodyOptional ? {} : body) : undefined,
  };
  // OperationInput<K> is the conditional type of exactly these two branches; TypeScript cannot evaluate it for a generic K.
  return input as OperationInput<K>;
}

function parseWith(schema: z.ZodType, value: unknown): unknown {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw issueError(firstIssue(result.error.issues));
  return result.data;
}

/**
 * A body against its schema. The top-level checks come first, as they always did: a body is there, is an object, and
 * names only known fields. A union of object forms (one entry or many) is parsed whole; when it fails, the form that
 * holds every field sent (the last such: the default form) reports why, and a body mixing two forms is a conflict.
 */
function parseBodyWith(schema: z.ZodType, body: unknown): unknown {
  const allowed = fieldsOf(schema);
  if (body === undefined) throw missingBody(allowed);
  if (!isPlainObject(body)) throw invalidType('body', 'a JSON object', body);
  const sent = Object.keys(body);
  const unknown = sent.find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw unknownParameter(unknown, allowed);
  const forms = formsOf(schema);
  if (forms.length === 1) return parseWith(schema, body);
  const result = schema.safeParse(body, { reportInput: true });
  if (result.success) return result.data;
  const form = forms.filter((f) => sent.every((k) => fieldsOf(f).includes(k))).pop();
  if (!form)
    throw badRequest('conflicting_parameters', requestHints.get(schema)?.conflict ?? 'Send one form of the body.');
  return parseWith(form, body);
}

/** The object forms a body schema accepts: one, or the options of a union. */
function formsOf(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodUnion) return schema.options.flatMap((o) => formsOf(o as z.ZodType));
  return [schema];
}

/** The field names of an object schema (through transforms), of every form for a union. */
function fieldsOf(schema: z.ZodType): string[] {
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape);
  if (schema instanceof z.ZodPipe) return fieldsOf(schema.in as z.ZodType);
  if (schema instanceof z.ZodUnion) return [...new Set(schema.options.flatMap((o) => fieldsOf(o as z.ZodType)))];
  return [];
}

/** How an expected JSON type is named in `Invalid type for x: expected <this>, got y.` */
const EXPECTED: Readonly<Record<string, string>> = {
  object: 'a JSON object',
  array: 'an array of entries',
  string: 'a string',
  boolean: 'a boolean (true or false)',
};

/**
 * The issue that the checks, in the order they were always made, would have reported first. Zod walks fields in
 * order, as they were checked, but reports an object's unknown keys after everything inside it, while they were
 * always reported first: each such issue moves before the first issue inside its object.
 */
function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  const ordered: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    const inside =
      issue.code === 'unrecognized_keys' ? ordered.findIndex((o) => issue.path.every((p, n) => o.path[n] === p)) : -1;
    if (inside >= 0) ordered.splice(inside, 0, issue);
    else ordered.push(issue);
  }
  return ordered[0];
}

function paramOf(path: readonly PropertyKey[]): string {
  return path.map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? String(p) : `.${String(p)}`)).join('');
}

function issueError(issue: z.core.$ZodIssue): AdminError {
  const param = paramOf(issue.path);
  switch (issue.code) {
    case 'custom': {
      const carried: unknown = issue.params?.adminError;
      if (carried instanceof AdminError) return carried;
      // A field typed loosely (see entryText) says it is required with a check that it is there.
      return issue.input === undefined ? missingParameter(param, issue.message) : invalidValue(param, issue.message);
    }
    case 'invalid_union': {
      // The form whose type the value has says what is wrong inside it; if none, the value has the wrong type.
      const inside = issue.errors.find((branch) => branch.some((i) => i.path.length > 0 || i.code !== 'invalid_type'));
      if (inside) return issueError(firstIssue(inside.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))));
      const last = issue.errors[issue.errors.length - 1]?.[0];
      const expected = last?.code === 'invalid_type' ? last.expected : 'object';
      return invalidType(param, EXPECTED[expected] ?? expected, issue.input);
    }
    case 'unrecognized_keys':
      return unknownParameter(param ? `${param}.${issue.keys[0]}` : issue.keys[0], issue.message.split(', '));
    case 'invalid_type':
      if (issue.input === undefined) return missingParameter(param, issue.message);
      return invalidType(param, EXPECTED[issue.expected] ?? issue.expected, issue.input);
    default:
      return invalidValue(param, issue.message);
  }
}
