import type { FamilyCover } from '../core/allowlist';
import { ApiErrorBody, ApiErrorSpec, errorBody } from '../core/errors';
import type * as z from 'zod';
import { resourceUrlPath } from './contract/paths';
import type { ImpactAddress, RejectedEntry as RejectedEntrySchema } from './contract/schemas';

/**
 * Errors of the admin API. Same body shape as the data plane (`{"error":{"message","type","param","code"}}`),
 * built with `errorBody` from the core; only the codes are admin-specific, so they live here.
 *
 * Handlers throw `AdminError`; the router turns it into a response. Anything else that escapes a handler is a
 * bug (500) or a storage failure (503), never the caller's fault.
 */

export const ADMIN_ERROR_TYPES = {
  invalidRequest: 'invalid_request_error',
  conflict: 'conflict_error',
  server: 'server_error',
} as const;

/**
 * One rejected entry of a bulk request: every one is listed, so a caller can fix them all in one go. Its shape is the
 * contract's schema (a type-only import: schemas.ts imports this module's AdminError at run time).
 */
export type RejectedEntry = z.output<typeof RejectedEntrySchema>;

/** What the lockout guard's refusal lists: the addresses a change would cut off, and whether the read was capped. */
export interface LockoutDetails {
  readonly wouldBlock: readonly z.output<typeof ImpactAddress>[];
  readonly truncated: boolean;
}

/** Everything an admin error is made of; status and code are required, the rest have their usual values. */
export interface AdminErrorOptions {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
  /** The request field to fix. @default null */
  readonly param?: string | null;
  /** @default server_error for 5xx, invalid_request_error otherwise */
  readonly type?: string;
  /** Bulk requests: every rejected entry. */
  readonly rejected?: readonly RejectedEntry[];
  /** Extra response headers (Allow, Retry-After). */
  readonly headers?: Readonly<Record<string, string>>;
  /** 409 would_block_recent_traffic: the addresses it would block. */
  readonly lockout?: LockoutDetails;
}

/**
 * An answer other than success, as Powertools' event handler shapes its errors: the error carries its status and
 * serializes itself (`toJSON`), so the router only writes `JSON.stringify(error)`.
 */
export class AdminError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly param: string | null;
  readonly type: string;
  readonly rejected?: readonly RejectedEntry[];
  readonly headers: Readonly<Record<string, string>>;
  readonly lockout?: LockoutDetails;

  constructor(options: AdminErrorOptions) {
    super(options.message);
    this.name = 'AdminError';
    this.statusCode = options.statusCode;
    this.code = options.code;
    this.param = options.param ?? null;
    this.type =
      options.type ?? (options.statusCode >= 500 ? ADMIN_ERROR_TYPES.server : ADMIN_ERROR_TYPES.invalidRequest);
    this.rejected = options.rejected;
    this.headers = options.headers ?? {};
    this.lockout = options.lockout;
  }

  toJSON():
    | ApiErrorBody
    | { error: ApiErrorBody['error'] & { rejected: readonly RejectedEntry[] } }
    | { error: ApiErrorBody['error'] & LockoutDetails } {
    const spec: ApiErrorSpec = { message: this.message, type: this.type, code: this.code };
    const body = errorBody(spec, this.param);
    if (this.lockout) return { error: { ...body.error, ...this.lockout } };
    return this.rejected ? { error: { ...body.error, rejected: this.rejected } } : body;
  }
}

type StatusErrorOptions = Omit<AdminErrorOptions, 'statusCode'>;

/** The base of an error class with a fixed status (and defaults, such as its type). */
function withStatus(statusCode: number, defaults: Partial<StatusErrorOptions> = {}) {
  return class extends AdminError {
    constructor(options: StatusErrorOptions) {
      super({ ...defaults, ...options, statusCode });
    }
  };
}

/** 400: the request is malformed; the message says what to fix. */
export class BadRequestError extends withStatus(400) {}

/** 404: no such route, key or entry. */
export class NotFoundError extends withStatus(404) {}

/** 409: the state forbids the change (revoked key, corrupt list, contention). */
export class ConflictError extends withStatus(409, { type: ADMIN_ERROR_TYPES.conflict }) {}

/** 422: well-formed, but the result would break a rule of the list (size, whole families). */
export class UnprocessableError extends withStatus(422) {}

/** 503: the store could not be used (or could not say whether a write landed). */
export class ServiceUnavailableError extends withStatus(503) {}

// Constructors for the errors the handlers raise, so each code and status is spelled once.

export const badRequest = (code: string, message: string, param: string | null = null) =>
  new BadRequestError({ code, message, param });

export const missingBody = (allowed: readonly string[]) =>
  badRequest('missing_body', `This request needs a JSON object body with ${allowed.join(', ')}.`);

export const invalidJson = (detail: string) =>
  badRequest('invalid_json', `The request body is not valid JSON (${detail}). Send a JSON object.`);

export const unknownParameter = (param: string, allowed: readonly string[]) =>
  badRequest(
    'unknown_parameter',
    `Unrecognized request argument supplied: ${param}.` +
      (allowed.length ? ` Allowed: ${allowed.join(', ')}.` : ' This request takes no arguments.'),
    param,
  );

export const missingParameter = (param: string, what: string) =>
  badRequest('missing_required_parameter', `Missing required parameter: ${param} (${what}).`, param);

export const invalidType = (param: string, expected: string, got: unknown) =>
  badRequest('invalid_type', `Invalid type for ${param}: expected ${expected}, got ${describeType(got)}.`, param);

export const invalidValue = (param: string, message: string) => badRequest('invalid_value', message, param);

export const invalidId = (param: string, value: string) =>
  badRequest(
    'invalid_id',
    `Invalid ${param} in the path: ${JSON.stringify(value)}. Ids are 1 to 64 characters of A-Z, a-z, 0-9, _ and -.`,
    param,
  );

export const payloadTooLarge = (limitBytes: number, gotBytes: number) =>
  new AdminError({
    statusCode: 413,
    code: 'request_too_large',
    message: `The request body is ${gotBytes} bytes; the limit is ${limitBytes} bytes.`,
  });

export const routeNotFound = (method: string, path: string) =>
  new NotFoundError({
    code: 'unknown_route',
    message: `Unknown route: ${method} ${path}. See openapi/admin-api.json for the routes of this API.`,
  });

export const methodNotAllowed = (method: string, path: string, allowed: readonly string[]) =>
  new AdminError({
    statusCode: 405,
    code: 'method_not_allowed',
    message: `Method ${method} is not allowed on ${path}. Allowed: ${allowed.join(', ')}.`,
    headers: { Allow: allowed.join(', ') },
  });

export const apiKeyNotFound = (keyId: string) =>
  new NotFoundError({ code: 'api_key_not_found', message: `No API key ${keyId} in this project.`, param: 'keyId' });

export const apiKeyRevoked = (keyId: string) =>
  new ConflictError({
    code: 'api_key_revoked',
    message: `API key ${keyId} is revoked; its allowlist can no longer be changed.`,
    param: 'keyId',
  });

/** The check tool on a revoked key: not a refused change, but an answer that no IP would pass. */
export const apiKeyRevokedForCheck = (keyId: string) =>
  new ConflictError({
    code: 'api_key_revoked',
    message: `API key ${keyId} is revoked: the authorizer rejects it whatever the IP.`,
    param: 'keyId',
  });

export const apiKeyAlreadyRevoked = (keyId: string) =>
  new ConflictError({
    code: 'api_key_already_revoked',
    message: `API key ${keyId} is already revoked.`,
    param: 'keyId',
  });

export const entryNotFound = (value: string) =>
  new NotFoundError({ code: 'entry_not_found', message: `The allowlist has no entry ${value}.`, param: 'value' });

export const emptyAllowlist = (action: string) =>
  badRequest(
    'empty_allowlist',
    `Cannot ${action}: an enabled allowlist with no entries would block every request. ` +
      'Add at least one entry first, or disable the allowlist.',
    'entries',
  );

export const limitExceeded = (maxEntries: number, current: number, adding: number) =>
  new UnprocessableError({
    code: 'allowlist_limit_exceeded',
    message:
      `An allowlist holds at most ${maxEntries} entries (the maxEntries limit); ` +
      (adding > 0 && current > 0
        ? `it has ${current} and this request adds ${adding}.`
        : `this request would leave ${current + adding}.`),
    param: 'entries',
  });

/** Well-formed expiries that the time of the change refuses (in the past, beyond 90 days): each is listed. */
export const expiryOutOfRange = (rejected: readonly RejectedEntry[], firstField: string) =>
  new UnprocessableError({
    code: 'expiry_out_of_range',
    message:
      `${rejected.length === 1 ? 'An entry expires' : `${rejected.length} entries expire`} outside the allowed window ` +
      `(after now, at most 90 days ahead) and nothing was changed: ${rejected.map((r) => r.reason).join('; ')}.`,
    param: firstField,
    rejected,
  });

/** DynamoDB refused the item as too large: a limit of the store, not of the list's rules. */
export const allowlistTooLarge = (detail: string) =>
  new UnprocessableError({
    code: 'allowlist_too_large',
    message: `The change was not stored: ${detail}.`,
    param: 'entries',
  });

/** At most this many covering entries are named in the message; `rejected` lists them all. */
const MAX_NAMED_COVERING_ENTRIES = 10;

export const coversWholeFamily = (covers: readonly FamilyCover[]) => {
  const parts = covers.map((c) => {
    const named = c.entries.slice(0, MAX_NAMED_COVERING_ENTRIES).join(', ');
    const more =
      c.entries.length > MAX_NAMED_COVERING_ENTRIES ? ` and ${c.entries.length - MAX_NAMED_COVERING_ENTRIES} more` : '';
    return `every IPv${c.family} address (${named}${more})`;
  });
  const rejected: RejectedEntry[] = covers.flatMap((c) =>
    c.entries.map((value, index) => ({
      index,
      value,
      code: 'covers_whole_family',
      reason: `${value} is one of the entries that together cover every IPv${c.family} address`,
    })),
  );
  return new UnprocessableError({
    code: 'allowlist_covers_all_addresses',
    message:
      `The entries together cover ${parts.join(' and ')}, so the list would restrict nothing for ` +
      `${covers.length === 1 ? 'that family' : 'either family'}. To allow every address, disable the allowlist instead. ` +
      'Nothing was changed.',
    param: 'entries',
    rejected,
  });
};

/**
 * A stored list that cannot be read (a corrupt item, or an entry that is not a valid range). The authorizer fails
 * closed on it, so the operator must learn that every request it governs is refused, and how to repair it.
 */
export const allowlistCorrupt = (list: string, reason: string, version: number) =>
  new ConflictError({
    code: 'allowlist_corrupt',
    message:
      `The stored allowlist ${list} is corrupt (${reason}). The authorizer refuses every request it applies to ` +
      '(503 authorizer_unavailable) until it is replaced: send the complete list with PUT, with "enabled" ' +
      `(cdk-ip-allowlist allowlist replace ... --enable or --disable)${version > 0 ? `; If-Match, if you send one, is version ${version}` : ''}.`,
  });

export const versionMismatch = (expected: number, actual: number) =>
  new AdminError({
    statusCode: 412,
    code: 'version_mismatch',
    message:
      `If-Match version ${expected} is stale: the allowlist is at version ${actual}. ` +
      'Nothing was changed; read it again and retry with the current version.',
    param: 'If-Match',
  });

export const tooMuchContention = () =>
  new ConflictError({
    code: 'concurrent_modification',
    message: 'The allowlist changed too many times while this request was being applied. Nothing was changed; retry.',
  });

export const storageUnavailable = () =>
  new ServiceUnavailableError({
    code: 'storage_unavailable',
    message: 'The allowlist store is unavailable right now. Nothing was changed; retry.',
    headers: { 'Retry-After': '1' },
  });

/**
 * A commit whose answer was lost and could not be resolved (see AdminStore.transact). Never "nothing was changed":
 * the change was made if and only if its audit record exists, so the message says where to look, and when it would
 * be in force: the caches were flushed as for a success (`propagation`), and `worstCaseDelaySeconds` from its
 * commit bounds it anyway (an attempt still in flight may commit after this answer, and after the flush).
 */
export const writeOutcomeUnknown = (
  organizationId: string,
  eventId: string,
  propagation: { readonly flushed: boolean },
  worstCaseDelaySeconds: number,
) =>
  new ServiceUnavailableError({
    code: 'write_outcome_unknown',
    message:
      'The allowlist store did not confirm this change and could not be asked whether it was applied: it may or ' +
      `may not have been saved. It was saved if and only if the audit log has event ${eventId} ` +
      `(GET ${resourceUrlPath({ org: organizationId }, 'audit_log')}). Check that, or read the current state, before retrying. ` +
      `If it was saved, it applies within ${worstCaseDelaySeconds} s of being saved` +
      (propagation.flushed
        ? '; the authorizer caches were flushed before this answer, so if it was saved before then it is in force now.'
        : '; the authorizer caches were not flushed.'),
  });

/** At most this many addresses are named in the lockout guard's message; `wouldBlock` lists them all. */
const MAX_NAMED_ADDRESSES = 5;

/**
 * The lockout guard's refusal: the change would block callers whose requests went through in the last 24 hours.
 * `forceHint` says how this route says force (`"force": true` in the body, or `?force=true`).
 */
export const wouldBlockRecentTraffic = (
  lockout: LockoutDetails,
  forceHint: string,
  /** Where the addresses must go for the change to cut nobody off: this list, or (a project list turned off) the organization's. */
  addTo: 'this list' | "the organization's list" = 'this list',
) => {
  const named = lockout.wouldBlock
    .slice(0, MAX_NAMED_ADDRESSES)
    .map((a) => `${a.ip} (${a.keys.map((k) => k.keyId).join(', ')}; last seen ${a.lastSeen})`)
    .join(', ');
  const more =
    lockout.wouldBlock.length > MAX_NAMED_ADDRESSES
      ? ` and ${lockout.wouldBlock.length - MAX_NAMED_ADDRESSES} more`
      : '';
  const n = lockout.wouldBlock.length;
  return new ConflictError({
    code: 'would_block_recent_traffic',
    message:
      `This change would block ${n === 1 ? '1 source address' : `${n} source addresses`} whose requests went through in the last 24 hours: ${named}${more} (all in wouldBlock). ` +
      `Nothing was changed. Add the addresses to ${addTo}, or repeat the request with ${forceHint} to apply it anyway.` +
      (lockout.truncated ? ' The traffic read was capped, so more addresses may be affected.' : ''),
    lockout,
  });
};

/**
 * The lockout guard's read of the last 24 hours' passing traffic stopped at its cap before it found anyone to cut
 * off: callers beyond the cap were not checked, so the change is refused rather than written half-checked.
 */
export const lockoutGuardIncomplete = (maxItems: number, forceHint: string) =>
  new ConflictError({
    code: 'lockout_guard_incomplete',
    message:
      `More than ${maxItems} sightings of requests that went through in the last 24 hours are recorded for this list's callers, ` +
      'more than the lockout guard reads in one request, so it could not check every recent caller. Nothing was changed. ' +
      `See whom the change blocks with POST .../ip_allowlist/preview, then repeat the request with ${forceHint} to apply it anyway.`,
  });

/** The Traffic table could not be read: the preview cannot answer, and the lockout guard cannot check. */
export const trafficUnavailable = (forceHint?: string) =>
  new ServiceUnavailableError({
    code: 'traffic_unavailable',
    message: forceHint
      ? 'The recent traffic could not be read, so the lockout guard cannot tell whether this change would block callers. ' +
        `Nothing was changed; retry, or repeat the request with ${forceHint} to apply it unchecked.`
      : 'The recorded traffic could not be read right now; retry.',
    headers: { 'Retry-After': '1' },
  });

/**
 * A deployment without a Traffic table: its traffic log is not an empty log (which would say nobody called), and
 * there is nothing to preview from.
 */
export const trafficNotRecorded = () =>
  new ConflictError({
    code: 'traffic_not_recorded',
    message:
      'This deployment records no traffic: its AllowlistTables have no Traffic table (tables imported without ' +
      'one), so there is no traffic log to read or preview from. Test addresses one by one with POST ' +
      '.../ip_allowlist/check, or create the tables with a Traffic table to record what the authorizer sees.',
  });

export const daysOutOfRange = (days: number, maxDays: number) =>
  invalidValue('days', `days must be a whole number from 1 to ${maxDays} (the traffic retention), got ${days}.`);

export const sinceInFuture = (since: string, now: string) =>
  invalidValue('since', `since is in the future (${since}, now ${now}): send a time at or before now, or omit it.`);

export const internalError = () =>
  new AdminError({
    statusCode: 500,
    code: 'internal_error',
    message: 'The admin API failed unexpectedly; the error is logged.',
  });

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
