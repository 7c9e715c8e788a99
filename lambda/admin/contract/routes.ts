import * as z from 'zod';
import { resourceUrlPath } from './paths';
import {
  AddEntriesRequest,
  Allowlist,
  AllowlistWriteResult,
  ApiKey,
  ApiKeyList,
  AuditEventList,
  CheckRequest,
  CheckResult,
  CreateApiKeyRequest,
  CreatedApiKey,
  EnableAllowlistRequest,
  EntryValueQuery,
  ForceQuery,
  PageQuery,
  PathParamName,
  PreviewRequest,
  PreviewResult,
  ReplaceAllowlistRequest,
  RevokedApiKey,
  TrafficList,
  TrafficQuery,
  Whoami,
} from './schemas';
import { WHOAMI_PATH } from '../../../lib/contract';

/**
 * The admin API's operations and routes: one table, read by the router (lambda/admin/routes.ts), the request parser,
 * the OpenAPI generator (contract/openapi.ts), the CLI's types and the tests.
 *
 * To add a route: give its operation an entry in OPERATIONS (query and body schemas, success schema, error statuses,
 * write/versioned) and its docs in OPERATION_DOCS, add the route to ROUTES, and its handler to HANDLERS in
 * lambda/admin/app.ts (the compiler asks for it); then `npm run build` regenerates openapi/admin-api.json.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Error statuses a route can answer; each has one shared response in the document (contract/openapi.ts). */
export type ErrorStatus = 400 | 404 | 405 | 409 | 412 | 413 | 422 | 503;

const READ_ERRORS: readonly ErrorStatus[] = [400, 404, 405, 503];
const LIST_READ_ERRORS: readonly ErrorStatus[] = [400, 404, 405, 409, 503];
const CHECK_ERRORS: readonly ErrorStatus[] = [400, 404, 405, 409, 422, 503];
const WRITE_ERRORS: readonly ErrorStatus[] = [400, 404, 405, 409, 412, 413, 422, 503];

export interface OperationSpec {
  /** Query parameters; any other name is a 400. */
  readonly query?: z.ZodObject;
  /** The JSON body; routes without one accept only an empty body or `{}`. */
  readonly body?: z.ZodType;
  /** No body at all is read as `{}` (every field of `body` is optional). */
  readonly bodyOptional?: boolean;
  readonly success: { readonly status: 200 | 201; readonly schema: z.ZodType; readonly description: string };
  readonly errors: readonly ErrorStatus[];
  /** Changes state: logged, counted, flushed, and documents 412. */
  readonly write: boolean;
  /** Writes a versioned resource (an allowlist): honours If-Match, answers an ETag. */
  readonly versioned: boolean;
}

/** An allowlist write: every one answers the new list with propagation, and honours If-Match. */
function allowlistWrite<B extends z.ZodType | undefined = undefined, Q extends z.ZodObject | undefined = undefined>(
  body?: B,
  query?: Q,
) {
  return {
    query,
    body,
    success: { status: 200, schema: AllowlistWriteResult, description: 'The new list, with propagation.' },
    errors: WRITE_ERRORS,
    write: true,
    versioned: true,
  } as const;
}

export const OPERATIONS = {
  getAllowlist: {
    success: { status: 200, schema: Allowlist, description: 'The allowlist.' },
    errors: LIST_READ_ERRORS,
    write: false,
    versioned: true,
  },
  replaceAllowlist: allowlistWrite(ReplaceAllowlistRequest),
  addAllowlistEntries: allowlistWrite(AddEntriesRequest),
  deleteAllowlistEntry: allowlistWrite(undefined, ForceQuery),
  deleteAllowlistEntryByQuery: allowlistWrite(undefined, EntryValueQuery),
  enableAllowlist: { ...allowlistWrite(EnableAllowlistRequest), bodyOptional: true },
  disableAllowlist: allowlistWrite(undefined, ForceQuery),
  checkIp: {
    body: CheckRequest,
    success: { status: 200, schema: CheckResult, description: 'The decision.' },
    errors: CHECK_ERRORS,
    write: false,
    versioned: false,
  },
  previewAllowlist: {
    body: PreviewRequest,
    bodyOptional: true,
    success: { status: 200, schema: PreviewResult, description: 'What the draft would change for the callers seen.' },
    errors: CHECK_ERRORS,
    write: false,
    versioned: false,
  },
  createApiKey: {
    body: CreateApiKeyRequest,
    success: { status: 201, schema: CreatedApiKey, description: 'The new key, with its secret.' },
    errors: WRITE_ERRORS,
    write: true,
    versioned: false,
  },
  listApiKeys: {
    query: PageQuery,
    success: { status: 200, schema: ApiKeyList, description: 'One page of keys.' },
    errors: READ_ERRORS,
    write: false,
    versioned: false,
  },
  getApiKey: {
    success: { status: 200, schema: ApiKey, description: 'The key (never its secret).' },
    errors: READ_ERRORS,
    write: false,
    versioned: false,
  },
  revokeApiKey: {
    success: { status: 200, schema: RevokedApiKey, description: 'The revoked key, with propagation.' },
    errors: WRITE_ERRORS,
    write: true,
    versioned: false,
  },
  listAuditLog: {
    query: PageQuery,
    success: { status: 200, schema: AuditEventList, description: 'One page of events.' },
    errors: READ_ERRORS,
    write: false,
    versioned: false,
  },
  listTraffic: {
    query: TrafficQuery,
    success: { status: 200, schema: TrafficList, description: 'One page of sightings, newest first.' },
    errors: LIST_READ_ERRORS,
    write: false,
    versioned: false,
  },
  whoami: {
    success: { status: 200, schema: Whoami, description: 'The caller.' },
    errors: [400, 405],
    write: false,
    versioned: false,
  },
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;

/** What a handler receives for an operation: its query and body as the schemas output them. */
export interface OperationInput<K extends OperationName> {
  readonly query: SchemaOutput<(typeof OPERATIONS)[K], 'query', object>;
  readonly body: SchemaOutput<(typeof OPERATIONS)[K], 'body', undefined>;
}

/** The output of a spec's optional schema field, or `Else` when the operation has none. */
type SchemaOutput<Spec, Field extends 'query' | 'body', Else> = Spec extends { readonly [F in Field]?: infer S }
  ? NonNullable<S> extends z.ZodType
    ? z.output<NonNullable<S>>
    : Else
  : Else;

/** The success body of an operation, as clients receive it. */
export type OperationResult<K extends OperationName> = z.output<(typeof OPERATIONS)[K]['success']['schema']>;

/** Which list an allowlist route belongs to: its docs name it, its operationId ends with it. */
export type ListScope = 'Organization' | 'Project' | 'Key';

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operation: OperationName;
  /** Set on the allowlist routes, which exist once per scope. */
  readonly scope?: ListScope;
  /** Query parameter names the route accepts. */
  readonly query: readonly string[];
  /** Whether the route reads a JSON body. */
  readonly body: boolean;
  readonly write: boolean;
  /** Whether the route writes a versioned resource: it honours If-Match (and answers an ETag). */
  readonly versioned: boolean;
  /** Path parameters, in template order. */
  readonly params: readonly PathParamName[];
}

function route(method: HttpMethod, path: string, operation: OperationName, scope?: ListScope): RouteDefinition {
  const spec: OperationSpec = OPERATIONS[operation];
  return {
    method,
    path,
    operation,
    scope,
    query: spec.query ? Object.keys(spec.query.shape) : [],
    body: spec.body !== undefined,
    write: spec.write,
    versioned: spec.write && spec.versioned,
    params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as PathParamName),
  };
}

const ORG = { org: '{org}' };
const PROJECT = { ...ORG, project: '{project}' };
const KEY = { ...PROJECT, keyId: '{keyId}' };
const raw = { raw: true };

/** The three scopes an allowlist can belong to, each with the same sub-routes. */
export const ALLOWLIST_BASES = [
  [resourceUrlPath(ORG, 'ip_allowlist', raw), 'Organization'],
  [resourceUrlPath(PROJECT, 'ip_allowlist', raw), 'Project'],
  [resourceUrlPath(KEY, 'ip_allowlist', raw), 'Key'],
] as const;

function allowlistRoutes([base, scope]: readonly [string, ListScope]): RouteDefinition[] {
  return [
    route('GET', base, 'getAllowlist', scope),
    route('PUT', base, 'replaceAllowlist', scope),
    route('POST', `${base}/entries`, 'addAllowlistEntries', scope),
    route('DELETE', `${base}/entries/{value}`, 'deleteAllowlistEntry', scope),
    route('DELETE', `${base}/entries`, 'deleteAllowlistEntryByQuery', scope),
    route('POST', `${base}/enable`, 'enableAllowlist', scope),
    route('POST', `${base}/disable`, 'disableAllowlist', scope),
    route('POST', `${base}/check`, 'checkIp', scope),
    route('POST', `${base}/preview`, 'previewAllowlist', scope),
  ];
}

export const ROUTES: readonly RouteDefinition[] = [
  ...ALLOWLIST_BASES.flatMap(allowlistRoutes),
  route('POST', resourceUrlPath(PROJECT, 'api_keys', raw), 'createApiKey'),
  route('GET', resourceUrlPath(PROJECT, 'api_keys', raw), 'listApiKeys'),
  route('GET', resourceUrlPath(KEY, undefined, raw), 'getApiKey'),
  route('DELETE', resourceUrlPath(KEY, undefined, raw), 'revokeApiKey'),
  route('GET', resourceUrlPath(ORG, 'audit_log', raw), 'listAuditLog'),
  route('GET', resourceUrlPath(ORG, 'traffic', raw), 'listTraffic'),
  route('GET', WHOAMI_PATH, 'whoami'),
];
