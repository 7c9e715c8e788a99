import type { FamilyCover } from '../core/allowlist';
import { ApiErrorBody, ApiErrorSpec, errorBody } from '../core/errors';

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

/** One rejected entry of a bulk request: every one is listed, so a caller can fix them all in one go. */
export interface RejectedEntry {
  /** Position in the request's `entries` array (0 for the single-entry form). */
  readonly index: number;
  readonly value: unknown;
  readonly reason: string;
  readonly code: string;
}

export class AdminError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly type: string = statusCode >= 500 ? ADMIN_ERROR_TYPES.server : ADMIN_ERROR_TYPES.invalidRequest,
    readonly rejected?: readonly RejectedEntry[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AdminError';
  }

  body(): ApiErrorBody | { error: ApiErrorBody['error'] & { rejected: readonly RejectedEntry[] } } {
    const spec: ApiErrorSpec = { message: this.message, type: this.type, code: this.code };
    const body = errorBody(spec, this.param);
    return this.rejected ? { error: { ...body.error, rejected: this.rejected } } : body;
  }
}

// Constructors for the errors the handlers raise, so each code and status is spelled once.

export const badRequest = (code: string, message: string, param: string | null = null) =>
  new AdminError(400, code, message, param);

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
  new AdminError(413, 'request_too_large', `The request body is ${gotBytes} bytes; the limit is ${limitBytes} bytes.`);

export const routeNotFound = (method: string, path: string) =>
  new AdminError(
    404,
    'unknown_route',
    `Unknown route: ${method} ${path}. See openapi/admin-api.json for the routes of this API.`,
  );

export const methodNotAllowed = (method: string, path: string, allowed: readonly string[]) =>
  new AdminError(
    405,
    'method_not_allowed',
    `Method ${method} is not allowed on ${path}. Allowed: ${allowed.join(', ')}.`,
    null,
    ADMIN_ERROR_TYPES.invalidRequest,
    undefined,
    { Allow: allowed.join(', ') },
  );

export const apiKeyNotFound = (keyId: string) =>
  new AdminError(404, 'api_key_not_found', `No API key ${keyId} in this project.`, 'keyId');

export const apiKeyRevoked = (keyId: string) =>
  new AdminError(
    409,
    'api_key_revoked',
    `API key ${keyId} is revoked; its allowlist can no longer be changed.`,
    'keyId',
    ADMIN_ERROR_TYPES.conflict,
  );

export const apiKeyAlreadyRevoked = (keyId: string) =>
  new AdminError(
    409,
    'api_key_already_revoked',
    `API key ${keyId} is already revoked.`,
    'keyId',
    ADMIN_ERROR_TYPES.conflict,
  );

export const entryNotFound = (value: string) =>
  new AdminError(404, 'entry_not_found', `The allowlist has no entry ${value}.`, 'value');

export const emptyAllowlist = (action: string) =>
  badRequest(
    'empty_allowlist',
    `Cannot ${action}: an enabled allowlist with no entries would block every request. ` +
      'Add at least one entry first, or disable the allowlist.',
    'entries',
  );

export const limitExceeded = (maxEntries: number, current: number, adding: number) =>
  new AdminError(
    422,
    'allowlist_limit_exceeded',
    `An allowlist holds at most ${maxEntries} entries (the maxEntries limit); ` +
      (adding > 0 && current > 0
        ? `it has ${current} and this request adds ${adding}.`
        : `this request would leave ${current + adding}.`),
    'entries',
  );

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
  return new AdminError(
    422,
    'allowlist_covers_all_addresses',
    `The entries together cover ${parts.join(' and ')}, so the list would restrict nothing for ` +
      `${covers.length === 1 ? 'that family' : 'either family'}. To allow every address, disable the allowlist instead. ` +
      'Nothing was changed.',
    'entries',
    ADMIN_ERROR_TYPES.invalidRequest,
    rejected,
  );
};

/**
 * A stored list that cannot be read (a corrupt item, or an entry that is not a valid range). The authorizer fails
 * closed on it, so the operator must learn that every request it governs is refused, and how to repair it.
 */
export const allowlistCorrupt = (list: string, reason: string, version: number) =>
  new AdminError(
    409,
    'allowlist_corrupt',
    `The stored allowlist ${list} is corrupt (${reason}). The authorizer refuses every request it applies to ` +
      '(503 authorizer_unavailable) until it is replaced: send the complete list with PUT, with "enabled" ' +
      `(cdk-ip-allowlist allowlist replace ... --enable or --disable)${version > 0 ? `; If-Match, if you send one, is version ${version}` : ''}.`,
    null,
    ADMIN_ERROR_TYPES.conflict,
  );

export const versionMismatch = (expected: number, actual: number) =>
  new AdminError(
    412,
    'version_mismatch',
    `If-Match version ${expected} is stale: the allowlist is at version ${actual}. ` +
      'Nothing was changed; read it again and retry with the current version.',
    'If-Match',
  );

export const tooMuchContention = () =>
  new AdminError(
    409,
    'concurrent_modification',
    'The allowlist changed too many times while this request was being applied. Nothing was changed; retry.',
    null,
    ADMIN_ERROR_TYPES.conflict,
  );

export const storageUnavailable = () =>
  new AdminError(
    503,
    'storage_unavailable',
    'The allowlist store is unavailable right now. Nothing was changed; retry.',
    null,
    ADMIN_ERROR_TYPES.server,
    undefined,
    { 'Retry-After': '1' },
  );

/**
 * A commit whose answer was lost and could not be resolved (see AdminStore.transact). Never "nothing was changed":
 * the change was made if and only if its audit record exists, so the message says where to look, and when it would
 * be in force: the caches were flushed as for a success (`propagation`), and `propagationDelaySeconds` from its
 * commit bounds it anyway (an attempt still in flight may commit after this answer, and after the flush).
 */
export const writeOutcomeUnknown = (
  organizationId: string,
  eventId: string,
  propagation: { readonly flushed: boolean },
  propagationDelaySeconds: number,
) =>
  new AdminError(
    503,
    'write_outcome_unknown',
    'The allowlist store did not confirm this change and could not be asked whether it was applied: it may or ' +
      `may not have been saved. It was saved if and only if the audit log has event ${eventId} ` +
      `(GET /v1/organizations/${organizationId}/audit_log). Check that, or read the current state, before retrying. ` +
      `If it was saved, it applies within ${propagationDelaySeconds} s of being saved` +
      (propagation.flushed
        ? '; the authorizer caches were flushed before this answer, so if it was saved before then it is in force now.'
        : '; the authorizer caches were not flushed.'),
    null,
    ADMIN_ERROR_TYPES.server,
  );

export const internalError = () =>
  new AdminError(
    500,
    'internal_error',
    'The admin API failed unexpectedly; the error is logged.',
    null,
    ADMIN_ERROR_TYPES.server,
  );

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
