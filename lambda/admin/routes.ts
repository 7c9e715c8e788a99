import { isValidId } from '../core/model';
import { badRequest, invalidId, methodNotAllowed, routeNotFound } from './errors';

/**
 * The admin API's routes: one table, read by the router, by the OpenAPI consistency test (every route here is
 * in openapi/admin-api.json and vice versa) and by the construct's grant methods' tests.
 *
 * Path templates use OpenAPI syntax. `{org}`, `{project}` and `{keyId}` must match ID_PATTERN. `{value}` (an
 * allowlist entry) is the rest of the path: a CIDR contains `/`, which callers should send as `%2F`, but a
 * literal `/` is accepted too, so a client or proxy that decodes it does not break the route.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export const OPERATIONS = [
  'getAllowlist',
  'replaceAllowlist',
  'addAllowlistEntries',
  'deleteAllowlistEntry',
  'deleteAllowlistEntryByQuery',
  'enableAllowlist',
  'disableAllowlist',
  'checkIp',
  'createApiKey',
  'listApiKeys',
  'getApiKey',
  'revokeApiKey',
  'listAuditLog',
  'whoami',
] as const;
export type OperationName = (typeof OPERATIONS)[number];

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operation: OperationName;
  /** Query parameters the route accepts; any other is a 400. */
  readonly query: readonly string[];
  /** Whether the route reads a JSON body. Routes without one accept only an empty body or `{}`. */
  readonly body: boolean;
  /** Whether the route changes state (and so honours If-Match where there is a version, and flushes). */
  readonly write: boolean;
}

/**
 * The caller as the API sees it. Not under an organization: every grant includes it (lib/allowlist-admin-api.ts), as
 * STS GetCallerIdentity needs no permission, because it tells callers only about themselves.
 */
export const WHOAMI_PATH = '/v1/whoami';

const ORG = '/v1/organizations/{org}';
const PROJECT = `${ORG}/projects/{project}`;
const KEY = `${PROJECT}/api_keys/{keyId}`;
/** The three scopes an allowlist can belong to, each with the same sub-routes. */
export const ALLOWLIST_BASES = [`${ORG}/ip_allowlist`, `${PROJECT}/ip_allowlist`, `${KEY}/ip_allowlist`] as const;

function allowlistRoutes(base: string): RouteDefinition[] {
  return [
    { method: 'GET', path: base, operation: 'getAllowlist', query: [], body: false, write: false },
    { method: 'PUT', path: base, operation: 'replaceAllowlist', query: [], body: true, write: true },
    { method: 'POST', path: `${base}/entries`, operation: 'addAllowlistEntries', query: [], body: true, write: true },
    {
      method: 'DELETE',
      path: `${base}/entries/{value}`,
      operation: 'deleteAllowlistEntry',
      query: [],
      body: false,
      write: true,
    },
    {
      method: 'DELETE',
      path: `${base}/entries`,
      operation: 'deleteAllowlistEntryByQuery',
      query: ['value'],
      body: false,
      write: true,
    },
    { method: 'POST', path: `${base}/enable`, operation: 'enableAllowlist', query: [], body: false, write: true },
    { method: 'POST', path: `${base}/disable`, operation: 'disableAllowlist', query: [], body: false, write: true },
    { method: 'POST', path: `${base}/check`, operation: 'checkIp', query: [], body: true, write: false },
  ];
}

export const ROUTES: readonly RouteDefinition[] = [
  ...ALLOWLIST_BASES.flatMap(allowlistRoutes),
  { method: 'POST', path: `${PROJECT}/api_keys`, operation: 'createApiKey', query: [], body: true, write: true },
  {
    method: 'GET',
    path: `${PROJECT}/api_keys`,
    operation: 'listApiKeys',
    query: ['limit', 'cursor'],
    body: false,
    write: false,
  },
  { method: 'GET', path: KEY, operation: 'getApiKey', query: [], body: false, write: false },
  { method: 'DELETE', path: KEY, operation: 'revokeApiKey', query: [], body: false, write: true },
  {
    method: 'GET',
    path: `${ORG}/audit_log`,
    operation: 'listAuditLog',
    query: ['limit', 'cursor'],
    body: false,
    write: false,
  },
  { method: 'GET', path: WHOAMI_PATH, operation: 'whoami', query: [], body: false, write: false },
];

/** Path parameters of a matched route; absent ones are undefined. */
export interface PathParams {
  readonly org?: string;
  readonly project?: string;
  readonly keyId?: string;
  readonly value?: string;
}

export interface RouteMatch {
  readonly route: RouteDefinition;
  readonly params: PathParams;
}

type Segment = { readonly literal: string } | { readonly param: keyof PathParams; readonly rest: boolean };

const compiled = ROUTES.map((route) => ({
  route,
  segments: route.path
    .split('/')
    .slice(1)
    .map((s): Segment => {
      const m = /^\{(\w+)\}$/.exec(s);
      return m ? { param: m[1] as keyof PathParams, rest: m[1] === 'value' } : { literal: s };
    }),
}));

/** Raw (still percent-encoded) segments of the path; a single trailing slash is ignored. */
function splitPath(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/').slice(1);
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest('invalid_path', `The path segment ${JSON.stringify(raw)} is not valid percent-encoding.`);
  }
}

/** Structural match only (literals and segment counts); undefined if the shape does not fit. */
function matchShape(segments: readonly Segment[], raw: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if ('literal' in seg) {
      if (raw[i] !== seg.literal) return undefined;
      continue;
    }
    if (seg.rest) {
      if (i >= raw.length) return undefined;
      // Segments are decoded one by one BEFORE joining: an encoded %2F in an id can never make a new segment.
      params[seg.param] = raw.slice(i).map(decodeSegment).join('/');
      return params[seg.param] === '' ? undefined : params;
    }
    if (raw[i] === undefined || raw[i] === '') return undefined;
    params[seg.param] = raw[i];
  }
  return raw.length === segments.length ? params : undefined;
}

/** A segment decoded as API Gateway decodes path parameters; one that is not valid percent-encoding stays as is. */
function decodeLeniently(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The path to route on, relative to the API's root, still percent-encoded.
 *
 * `event.path` keeps the client's percent-encoding (so a `%2F` inside an id stays inside its segment), but behind a
 * custom domain it starts with the base path mapping (`/admin/v1/...`). `pathParameters.proxy` of the `/{proxy+}`
 * resource is always relative to the root, but API Gateway hands it over decoded. So: the shortest tail of
 * `event.path` that decodes to the proxy parameter; failing that, the proxy parameter re-encoded segment by
 * segment (a `%2F` that became `/` then still lands in `{value}`, which takes the rest of the path).
 */
export function routingPath(event: {
  readonly path?: string | null;
  readonly resource?: string | null;
  readonly pathParameters?: { readonly [name: string]: string | undefined } | null;
}): string {
  const path = event.path || '/';
  const proxy = event.resource === '/{proxy+}' ? event.pathParameters?.proxy : undefined;
  if (proxy === undefined) return path;
  const raw = path.split('/').slice(1);
  for (let k = 0; k < raw.length; k++) {
    const tail = raw.slice(k);
    if (tail.map(decodeLeniently).join('/') === proxy) return `/${tail.join('/')}`;
  }
  return `/${proxy.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * The route for a method and path, with validated path parameters.
 *
 * @throws AdminError 404 (no route has this path), 405 (one has, for other methods), 400 (an id is malformed)
 */
export function matchRoute(method: string, path: string): RouteMatch {
  const raw = splitPath(path);
  const allowed: HttpMethod[] = [];
  for (const { route, segments } of compiled) {
    const params = matchShape(segments, raw);
    if (!params) continue;
    if (route.method !== method) {
      if (!allowed.includes(route.method)) allowed.push(route.method);
      continue;
    }
    for (const name of ['org', 'project', 'keyId'] as const) {
      if (params[name] === undefined) continue;
      const decoded = decodeSegment(params[name]);
      if (!isValidId(decoded)) throw invalidId(name, decoded);
      params[name] = decoded;
    }
    return { route, params };
  }
  if (allowed.length > 0) throw methodNotAllowed(method, path, allowed);
  throw routeNotFound(method, path);
}
