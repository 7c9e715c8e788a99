import * as z from 'zod';
import { ALLOWLIST_MODES, AllowlistMode } from '../../core/model';
import { MAX_DESCRIPTION_LENGTH, normalizedOr400, validateEntries, ValidEntry } from '../allowlist-ops';
import { normalizeIpAddress } from '../../core/allowlist';
import { MAX_EXPIRY_SECONDS, parseIsoInstant } from '../../core/expiry';
import { ID_PATTERN, MAX_KEY_NAME_LENGTH } from '../../../lib/contract';
import { TRAFFIC_OUTCOMES } from '../../core/traffic';
import { AdminError, badRequest } from '../errors';

/**
 * The admin API's request and response shapes, written once. Everything else is derived from them: the handler
 * parses requests with them (lambda/admin/request.ts maps their issues to our error body), the build generates
 * openapi/admin-api.json from them (contract/openapi.ts), the CLI's types are inferred from them (type-only imports,
 * so the CLI bundle carries no zod), and the conformance test validates real answers with them.
 *
 * Why zod + @asteasolutions/zod-to-openapi rather than Powertools' parser: the parser (also zod) unwraps and
 * validates event envelopes, but has no OpenAPI generator, and the document is the part that drifted. Both are
 * devDependencies: esbuild bundles zod into the admin Lambda (the package keeps no runtime dependencies), and the
 * generator runs only at build time. The authorizer does not import this module, so its bundle does not grow.
 *
 * `.meta()` carries what the document says (component id, description, example); zod-to-openapi reads it.
 * Error messages of the request schemas are ours, byte for byte: a required field's `error` is the phrase of
 * `Missing required parameter: x (<phrase>)`, an object's unknown-key error lists the allowed keys, and the checks
 * that need the core (entry and address normalization) run as transforms that raise our AdminError.
 */

/** `error` of a required field: the phrase that says what to send, used only when the field is missing. */
const missing = (what: string) => (issue: { readonly input?: unknown }) =>
  issue.input === undefined ? what : undefined;

/** A strict object whose unknown-key error message is the list of allowed keys (the mapper words the rest). */
function strictRequest<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? Object.keys(shape).join(', ') : undefined),
  });
}

/**
 * A transform that runs one of our checks: its AdminError becomes an issue (carried in `params`), so the issues of
 * the fields before it keep their order and request.ts throws the same error the check always threw.
 */
function adminCheck<T, U>(check: (value: T) => U) {
  return (value: T, ctx: z.RefinementCtx<T>): U => {
    try {
      return check(value);
    } catch (err) {
      if (!(err instanceof AdminError)) throw err;
      ctx.issues.push({ code: 'custom', message: err.message, input: value, params: { adminError: err } });
      return z.NEVER;
    }
  };
}

/** Any JSON value, null included, but required: zod treats a bare unknown as optional. */
const anyJson = () => z.unknown().refine((v) => v !== undefined);

/**
 * Documented and typed as a string, but any JSON value passes the shape check: validateEntries then lists a
 * non-string entry among every rejected entry of the request (one 400 for a whole bulk import), which a type
 * error here would cut short.
 */
function entryText(meta: { readonly description?: string; readonly maxLength?: number; readonly default?: string }) {
  return z.unknown().meta({ type: 'string', ...meta }) as unknown as z.ZodType<string, string>;
}

/** What the request parser needs beyond the schema: the message for a body that mixes two forms of a union. */
export const requestHints = z.registry<{ readonly conflict: string }>();

// ---- shared ------------------------------------------------------------------------------------------------------

export const Id = z.string().regex(ID_PATTERN).meta({ id: 'Id' });

/** The path parameters a route template may hold; `value` (an allowlist entry) takes the rest of the path. */
export const PathParams = {
  org: Id.meta({ description: 'Organization id.' }),
  project: Id.meta({ description: 'Project id.' }),
  keyId: Id.meta({ description: 'API key id (`key_...`).' }),
  value: z.string().min(1).meta({
    description: 'The entry to remove, in any form that normalizes to it; `/` URL-encoded as `%2F`.',
    example: '10.0.0.0%2F8',
  }),
} as const;
export type PathParamName = keyof typeof PathParams;

export const RejectedEntry = z
  .strictObject({
    index: z.int(),
    value: anyJson().meta({ description: 'As sent.' }),
    reason: z.string(),
    code: z.enum([
      'invalid_ip_allowlist_entry',
      'invalid_type',
      'description_too_long',
      'duplicate_in_request',
      'duplicate_entry',
      'invalid_characters',
      'covers_whole_family',
      'invalid_expires_at',
      'invalid_expires_in',
      'conflicting_expiry',
      'expiry_out_of_range',
    ]),
  })
  .meta({ id: 'RejectedEntry' });

const VERDICT = z
  .enum(['allowed', 'would_block', 'blocked'])
  .meta({ description: 'What the authorizer would do now: let it through, let it through as would_block, refuse it.' });

export const ImpactKey = z
  .strictObject({
    projectId: z.string(),
    keyId: z.string(),
    today: VERDICT.meta({ description: 'Decided now on the stored lists.' }),
    draft: VERDICT.meta({ description: 'Decided now with the draft in place of this list.' }),
    lastSeen: z.iso.datetime().meta({ description: 'The latest decision recorded for this key and address.' }),
    count: z.int().meta({
      description:
        'Decisions the authorizer recorded for this key and address (its sightings last seen within the window; a sighting counts from its first decision, which may be older). API Gateway answers repeats from its cache, so this is not a request count.',
    }),
    lastPassedAt: z.iso
      .datetime()
      .optional()
      .meta({ description: 'The latest decision recorded as passing (allowed or would_block) within the window.' }),
  })
  .meta({ id: 'ImpactKey' });

export const ImpactAddress = z
  .strictObject({
    ip: z.string().meta({ description: 'The source address as API Gateway reported it.' }),
    lastSeen: z.iso.datetime(),
    count: z.int(),
    keys: z.array(ImpactKey),
  })
  .meta({ id: 'ImpactAddress' });

export const ErrorBody = z
  .strictObject({
    error: z.strictObject({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string(),
      rejected: z.array(RejectedEntry).optional().meta({ description: 'Bulk requests: every rejected entry.' }),
      wouldBlock: z.array(ImpactAddress).optional().meta({
        description:
          '409 would_block_recent_traffic: every source address the change would block whose requests went through in the last 24 hours, with its keys.',
      }),
      truncated: z.boolean().optional().meta({
        description:
          '409 would_block_recent_traffic: true when the traffic read was capped, so more addresses may be affected than listed.',
      }),
    }),
  })
  .meta({ id: 'Error' });

/**
 * `expiresAt` / `expiresIn` of an entry: documented with their types, but any JSON value passes the shape check, so
 * validateEntries lists a bad one among every rejected entry (as for `value`). Whether the time is in the window
 * (after now, at most 90 days ahead) is checked at the time of the change: 422 `expiry_out_of_range`.
 */
const expiryFields = {
  expiresAt: entryText({
    description:
      'When the entry stops matching: an ISO-8601 date-time with a time zone, after now and at most 90 days ahead. Not with expiresIn. Omitted (and no expiresIn): never.',
  }).optional(),
  expiresIn: (
    z.unknown().meta({
      type: 'integer',
      minimum: 1,
      maximum: MAX_EXPIRY_SECONDS,
      description: 'Seconds from the change until the entry stops matching (at most 90 days). Not with expiresAt.',
    }) as unknown as z.ZodType<number, number>
  ).optional(),
};

export const EntryInput = z
  .union([
    z.string().meta({ example: '203.0.113.0/24' }),
    strictRequest({
      value: entryText({}).refine((v) => v !== undefined, { error: 'the IP address or CIDR range' }),
      description: entryText({ maxLength: MAX_DESCRIPTION_LENGTH, default: '' }).optional(),
      ...expiryFields,
    }),
  ])
  .meta({ id: 'EntryInput', description: 'An IPv4/IPv6 address or CIDR range, as a string or with a description.' });

/** Validated, canonical entries of a request: every bad one is listed in one 400 (see validateEntries). */
const entryList = (prefix: string) =>
  adminCheck((inputs: readonly z.output<typeof EntryInput>[]): ValidEntry[] =>
    validateEntries(
      inputs.map((e) => (typeof e === 'string' ? { value: e } : e)),
      prefix,
    ),
  );

export const Propagation = z
  .strictObject({
    flushed: z.boolean().meta({
      description:
        "The protected stage's authorizer cache was flushed after the change, once the authorizer's decision age bound had passed since the commit: the change is in force from this response on (on our side; on AWS the flush is asynchronous).",
    }),
    maxDelaySeconds: z.int().meta({
      description:
        'Worst-case seconds from this response until every request sees the change: 0 when flushed, the full propagation delay (counted from the commit) otherwise.',
    }),
  })
  .meta({ id: 'Propagation' });

// ---- allowlists --------------------------------------------------------------------------------------------------

const FORCE_DESCRIPTION =
  'true: skip the lockout guard (a change that could block callers is otherwise refused with 409 would_block_recent_traffic when it would block source addresses whose requests went through in the last 24 hours, with 409 lockout_guard_incomplete when there are more such requests than the guard can read, and with 503 traffic_unavailable when that traffic cannot be read). The audit record notes `force: true`.';

/** The lockout guard's override, in a body. */
const forceField = () => z.boolean().optional().meta({ description: FORCE_DESCRIPTION });

const MODE_DESCRIPTION =
  '`enforce`: the list decides requests. `report_only`: it decides nothing, but requests it would block pass and are recorded as would_block (metric WouldBlockRequests, a log line). `off`: it does nothing.';

/** A mode field of a request: `allowed` modes only, with a message that lists them and says what was sent. */
function modeField<const M extends readonly [AllowlistMode, ...AllowlistMode[]]>(allowed: M, hint = '') {
  return z
    .enum(allowed, {
      error: (issue) =>
        `Invalid value for mode: expected ${allowed.map((m) => `"${m}"`).join(' or ')}, got ${JSON.stringify(issue.input)}.${hint}`,
    })
    .meta({ description: MODE_DESCRIPTION });
}

export const AllowlistEntry = z
  .strictObject({
    value: z.string().meta({ description: 'Canonical CIDR.', example: '203.0.113.0/24' }),
    description: z.string(),
    createdAt: z.iso.datetime(),
    createdBy: z.string().meta({ description: 'IAM ARN of whoever added it.' }),
    expiresAt: z.iso.datetime().nullable().meta({
      description:
        'When the entry stops matching (UTC); null: never. An expired entry matches nothing and is pruned by the next write to the list.',
    }),
    expired: z.boolean().meta({ description: 'True from expiresAt on, as of this answer.' }),
  })
  .meta({ id: 'AllowlistEntry' });

/** The codes of the `warnings` of a list's answers (GET, and writes, which add what the change itself met). */
export const WARNING_CODES = [
  'all_entries_expired',
  'entries_expiring_soon',
  'lockout_guard_unavailable',
  'traffic_not_recorded',
  'traffic_unavailable',
  'traffic_incomplete',
] as const;

/** Something the caller should know, as of the answer: `{code, message}`. */
export const Warning = z
  .strictObject({
    code: z.enum(WARNING_CODES).meta({
      description:
        '`all_entries_expired`: an enforced list blocks every request it applies to (a report-only list reports every one as would_block): it has entries, but none is live. `entries_expiring_soon`: live entries of an enforced or report-only list expire within 24 hours. On writes only: `lockout_guard_unavailable`: the deployment records no traffic, so the lockout guard could not check whom the change blocks; On GET only, about `lastMatchedAt`: `traffic_not_recorded`: the deployment records no traffic, so every `lastMatchedAt` is null; `traffic_unavailable`: the traffic could not be read for this answer, so every `lastMatchedAt` is null, retry; `traffic_incomplete`: only part of the traffic could be read (too many sightings, or unreadable items), so a null or older `lastMatchedAt` may be wrong.',
    }),
    message: z.string().meta({ description: 'What it means and what to do, for a person.' }),
  })
  .meta({ id: 'Warning' });

const allowlistFields = {
  object: z.literal('ip_allowlist'),
  scope: z.enum(['organization', 'project', 'key']),
  organizationId: z.string(),
  projectId: z.string().nullable(),
  apiKeyId: z.string().nullable(),
  enabled: z.boolean().meta({ description: 'True exactly when mode is "enforce".' }),
  mode: z.enum(ALLOWLIST_MODES).meta({ description: MODE_DESCRIPTION }),
  entries: z.array(AllowlistEntry),
  warnings: z
    .array(Warning)
    .meta({ description: 'What about this answer, or the list, may not be what its reader expects; often empty.' }),
  version: z.int().min(0),
  updatedAt: z.iso.datetime().nullable(),
  updatedBy: z.string().nullable(),
  maxEntries: z.int(),
  propagationDelaySeconds: z.int().meta({
    description: "The deployment's worst-case delay before a change is enforced when the cache is not flushed.",
  }),
};

/** What a GET of a list says that a write's answer does not: when each entry last let a request through. */
export const ListedAllowlistEntry = AllowlistEntry.extend({
  lastMatchedAt: z.iso.datetime().nullable().meta({
    description:
      "When the authorizer last saw a request from an address this entry contains, while the list was enforced or report-only (the latest `lastSeen` of the traffic whose matched entry for this list's scope is this entry). Null when none was seen within the deployment's traffic retention, or when traffic could not be read (then `warnings` says so). Decisions served from API Gateway's cache are not seen: the time is accurate to the propagation delay.",
  }),
}).meta({ id: 'ListedAllowlistEntry' });

export const Allowlist = z
  .strictObject({
    ...allowlistFields,
    entries: z.array(ListedAllowlistEntry),
  })
  .meta({ id: 'Allowlist' });

export const AllowlistWriteResult = z
  .strictObject({
    ...allowlistFields,
    propagation: Propagation,
  })
  .meta({ id: 'AllowlistWriteResult' });

export const ReplaceAllowlistRequest = strictRequest({
  entries: z
    .array(EntryInput, { error: missing('the complete new list; [] empties it') })
    .transform(entryList('entries')),
  enabled: z
    .boolean()
    .optional()
    .meta({ description: 'true: mode "enforce"; false: mode "off". Omitted (and no mode): keep the current mode.' }),
  mode: modeField(ALLOWLIST_MODES).optional().meta({ description: 'Omitted (and no enabled): keep the current mode.' }),
  force: forceField(),
})
  .transform(
    adminCheck((body: { entries: ValidEntry[]; enabled?: boolean; mode?: AllowlistMode; force?: boolean }) => {
      const { entries, enabled, mode, force } = body;
      if (mode !== undefined && enabled !== undefined && enabled !== (mode === 'enforce')) {
        throw badRequest(
          'conflicting_parameters',
          `"enabled": ${enabled} contradicts "mode": "${mode}" (enabled is true exactly for mode "enforce"); send mode alone.`,
          'mode',
        );
      }
      const resolved: AllowlistMode | undefined =
        mode ?? (enabled === undefined ? undefined : enabled ? 'enforce' : 'off');
      return { entries, mode: resolved, force: force === true };
    }),
  )
  .meta({ id: 'ReplaceAllowlistRequest' });

export const EnableAllowlistRequest = strictRequest({
  mode: modeField(['enforce', 'report_only'], ' To turn a list off, POST .../disable.')
    .optional()
    .meta({ description: 'Omitted: "enforce". "report_only" records what the list would block and blocks nothing.' }),
  force: forceField(),
}).meta({ id: 'EnableAllowlistRequest' });

const AddManyEntries = strictRequest({
  entries: z
    .array(EntryInput)
    .min(1, { error: '"entries" is empty: add at least one entry.' })
    .transform(entryList('entries')),
  force: forceField(),
}).transform((body) => ({ entries: body.entries, paramPrefix: 'entries', force: body.force === true }));

const AddOneEntry = strictRequest({
  value: entryText({}).refine((v) => v !== undefined, {
    error: 'the IP address or CIDR range to add (or "entries" for many)',
  }),
  description: entryText({ maxLength: MAX_DESCRIPTION_LENGTH }).optional(),
  ...expiryFields,
  force: forceField(),
}).transform(
  adminCheck(
    (body: { value: string; description?: string; expiresAt?: string; expiresIn?: number; force?: boolean }) => ({
      entries: validateEntries(
        [{ value: body.value, description: body.description, expiresAt: body.expiresAt, expiresIn: body.expiresIn }],
        '',
      ),
      paramPrefix: '',
      force: body.force === true,
    }),
  ),
);

export const AddEntriesRequest = z
  .union([AddManyEntries, AddOneEntry])
  .meta({ id: 'AddEntriesRequest' })
  .register(requestHints, {
    conflict: 'Send either "entries" (an array) or one "value" with an optional "description", not both.',
  });

export const CheckRequest = strictRequest({
  ip: z
    .string({ error: missing('the IP address to check') })
    .meta({ description: 'One IPv4 or IPv6 address.' })
    .transform(adminCheck((ip: string) => normalizedOr400(normalizeIpAddress, ip, 'invalid_ip_address', 'ip'))),
  entries: z
    .array(EntryInput)
    .meta({ description: 'A draft list for this scope, evaluated as if saved and enabled.' })
    .transform(entryList('entries'))
    .optional(),
}).meta({ id: 'CheckRequest' });

export const CheckResult = z
  .strictObject({
    object: z.literal('ip_allowlist_check'),
    allowed: z.boolean(),
    ip: z.string().meta({ description: 'Normalized (IPv4-mapped IPv6 as IPv4).' }),
    scope: z
      .enum(['project', 'organization', 'none', 'key'])
      .meta({ description: 'Allowed: the list that applied. Denied: the list that blocked it.' }),
    matchedEntry: z
      .string()
      .nullable()
      .meta({ description: 'The most specific matching entry of the applied project/organization list.' }),
    keyMatchedEntry: z
      .string()
      .nullable()
      .optional()
      .meta({ description: "Key route only: the matching entry of the key's own list." }),
    enabled: z.boolean().meta({ description: "Whether this route's list is enforced (true for a draft)." }),
    mode: z.enum(ALLOWLIST_MODES).meta({ description: "This route's list's mode (enforce for a draft)." }),
    wouldBlock: z
      .strictObject({
        scope: z
          .enum(['project', 'organization', 'key'])
          .meta({ description: 'The report-only list that would block it.' }),
      })
      .nullable()
      .meta({
        description:
          'When allowed is true but the report-only lists, were they enforced, would block the IP: the authorizer lets such a request through and records it as would_block. Null otherwise (always null when allowed is false).',
      }),
    draft: z.boolean(),
  })
  .meta({ id: 'CheckResult' });

// ---- impact preview ----------------------------------------------------------------------------------------------

export const DEFAULT_PREVIEW_DAYS = 7;

export const PreviewRequest = strictRequest({
  entries: z
    .array(EntryInput)
    .meta({ description: "The draft list's entries. Omitted: the stored entries." })
    .transform(entryList('entries'))
    .optional(),
  mode: modeField(ALLOWLIST_MODES).optional().meta({ description: "The draft's mode. Omitted: the stored mode." }),
  days: z
    .number()
    .refine((n) => Number.isSafeInteger(n) && n >= 1, {
      error: (issue) => `days must be a whole number of days from 1, got ${JSON.stringify(issue.input)}.`,
    })
    .optional()
    .meta({
      description:
        'How far back to look at traffic, in days: 1 to the traffic retention (30 days unless the deployment says otherwise).',
      type: 'integer',
      minimum: 1,
      default: DEFAULT_PREVIEW_DAYS,
    }),
}).meta({ id: 'PreviewRequest' });

export const PreviewResult = z
  .strictObject({
    object: z.literal('ip_allowlist_preview'),
    scope: z.enum(['organization', 'project', 'key']),
    organizationId: z.string(),
    projectId: z.string().nullable(),
    apiKeyId: z.string().nullable(),
    draft: z.strictObject({
      mode: z.enum(ALLOWLIST_MODES),
      entryCount: z.int(),
      stored: z
        .boolean()
        .meta({ description: 'True when the draft is the stored list (no entries and no mode sent).' }),
    }),
    window: z.strictObject({ days: z.int(), since: z.iso.datetime(), until: z.iso.datetime() }),
    sightingsRead: z.int().meta({ description: 'Sightings of this scope last seen within the window.' }),
    unreadable: z.int().meta({ description: 'Traffic items of this scope that could not be read (skipped).' }),
    truncated: z.boolean().meta({
      description:
        'True when the read stopped at its cap: more traffic exists than was previewed, so the sets may be incomplete.',
    }),
    wouldBlock: z.array(ImpactAddress).meta({
      description: 'Addresses whose requests pass today (allowed or would_block) and would be blocked under the draft.',
    }),
    wouldPass: z.array(ImpactAddress).meta({
      description: 'Addresses whose requests are blocked today and would pass under the draft.',
    }),
    wouldReport: z.array(ImpactAddress).meta({
      description:
        'Addresses whose requests pass today and would still pass under the draft, recorded as would_block (a report-only list, the draft or another, would block them): with a report-only draft, what enforcing it would cut off.',
    }),
  })
  .meta({ id: 'PreviewResult' });

// ---- API keys ----------------------------------------------------------------------------------------------------

/** Trimmed, then 1 to MAX_KEY_NAME_LENGTH characters without unsafe ones: checked by the handler, which words it. */
export const CreateApiKeyRequest = strictRequest({
  name: z
    .string({ error: missing('a name for the key, e.g. "backend"') })
    .meta({ minLength: 1, maxLength: MAX_KEY_NAME_LENGTH }),
}).meta({ id: 'CreateApiKeyRequest' });

const apiKeyFields = {
  object: z.literal('api_key'),
  id: z.string().meta({ example: 'key_3q2hXo1Vn8Tz4QkL' }),
  organizationId: z.string(),
  projectId: z.string(),
  name: z.string(),
  redactedValue: z.string().meta({ example: 'sk-...Ab3d' }),
  status: z.enum(['active', 'revoked']),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  revokedAt: z.iso.datetime().nullable(),
  allowlist: z.strictObject({
    enabled: z.boolean(),
    mode: z.enum(ALLOWLIST_MODES),
    entryCount: z.int(),
    version: z.int(),
    corrupt: z.literal(true).optional().meta({
      description:
        "Present (true) when the key's stored list cannot be read: the authorizer refuses every request with this key (503) until the list is replaced with a PUT.",
    }),
  }),
};

export const ApiKey = z.strictObject(apiKeyFields).meta({ id: 'ApiKey' });

export const CreatedApiKey = z
  .strictObject({
    ...apiKeyFields,
    key: z.string().meta({
      description: 'The secret. Shown once.',
      example: 'sk-YWNtZS93ZWI.3q2hXo1Vn8Tz4QkLwE0n7yJp5sUaRbCdFgHiJkLmNoP',
    }),
    propagation: Propagation,
  })
  .meta({ id: 'CreatedApiKey' });

export const RevokedApiKey = z
  .strictObject({ ...apiKeyFields, propagation: Propagation })
  .meta({ id: 'RevokedApiKey' });

export const ApiKeyList = z
  .strictObject({ object: z.literal('list'), data: z.array(ApiKey), next_cursor: z.string().nullable() })
  .meta({ id: 'ApiKeyList' });

// ---- audit log ---------------------------------------------------------------------------------------------------

export const AUDIT_ACTIONS = [
  'ip_allowlist.replace',
  'ip_allowlist.entries.add',
  'ip_allowlist.entry.delete',
  'ip_allowlist.enable',
  'ip_allowlist.disable',
  'api_key.create',
  'api_key.revoke',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AuditEvent = z
  .strictObject({
    object: z.literal('audit_event'),
    id: z.string(),
    at: z.iso.datetime(),
    actor: z.string().meta({ description: 'IAM ARN of the caller.' }),
    action: z.enum(AUDIT_ACTIONS),
    scope: z.enum(['organization', 'project', 'key']),
    target: z.string().meta({ example: 'organizations/acme/projects/web/ip_allowlist' }),
    before: anyJson().meta({
      description:
        "The resource before the change (null for a creation). An allowlist too large to record twice within DynamoDB's item limit is recorded bounded: `truncated: true`, every entry's `value` but not its description or creation details, `entryCount`, and `sha256` of the full snapshot's JSON.",
    }),
    after: anyJson().meta({
      description: 'The resource after the change; bounded like `before` when the list is too large to record in full.',
    }),
    requestId: z.string().nullable(),
  })
  .meta({ id: 'AuditEvent' });

export const AuditEventList = z
  .strictObject({ object: z.literal('list'), data: z.array(AuditEvent), next_cursor: z.string().nullable() })
  .meta({ id: 'AuditEventList' });

// ---- traffic ------------------------------------------------------------------------------------------------------

export const TrafficSighting = z
  .strictObject({
    object: z.literal('traffic_sighting'),
    organizationId: z.string(),
    projectId: z.string(),
    keyId: z.string(),
    sourceIp: z.string().meta({ description: 'As API Gateway reported it (`requestContext.identity.sourceIp`).' }),
    outcome: z.enum(TRAFFIC_OUTCOMES).meta({
      description:
        '`allowed`: let through. `blocked`: refused by an enforced list. `would_block`: let through, but a report-only list would have refused it.',
    }),
    scope: z.enum(['organization', 'project', 'key', 'none']).meta({
      description:
        'The list that decided: for allowed the project/organization list that applied (`none` when neither is enforced), for blocked the list that blocked, for would_block the report-only list that would block.',
    }),
    matched: z
      .strictObject({
        organization: z.string().nullable(),
        project: z.string().nullable(),
        key: z.string().nullable(),
      })
      .meta({
        description:
          'The entry of each enforced or report-only list that contained the address (as of the latest decision); null for a list that is off or did not contain it.',
      }),
    firstSeen: z.iso.datetime(),
    lastSeen: z.iso.datetime(),
    count: z.int().min(0).meta({
      description:
        'Decisions the authorizer made for this (key, address, outcome): API Gateway answers repeats from its cache for up to the propagation delay without asking, so this is not a request count.',
    }),
  })
  .meta({ id: 'TrafficSighting' });

export const TrafficList = z
  .strictObject({
    object: z.literal('list'),
    data: z.array(TrafficSighting).meta({ description: 'Newest `lastSeen` first.' }),
    next_cursor: z.string().nullable().meta({
      description: 'Set when more sightings may follow (a page can be short and still have one); null at the end.',
    }),
    since: z.iso.datetime().meta({
      description:
        "The oldest `lastSeen` this answer covers: `since` as sent, or the start of the deployment's traffic retention when `since` was omitted or is older (older sightings are deleted).",
    }),
    unreadable: z.int().min(0).meta({
      description:
        'Items of this page that are not readable sightings and were skipped (0 unless the table was written by something else).',
    }),
  })
  .meta({ id: 'TrafficList' });

// ---- the caller -------------------------------------------------------------------------------------------------

export const Whoami = z
  .strictObject({
    object: z.literal('whoami'),
    sourceIp: z
      .string()
      .nullable()
      .meta({ description: '`requestContext.identity.sourceIp` as API Gateway reported it.' }),
    ip: z.string().nullable().meta({
      description:
        'The address in canonical form (IPv4-mapped IPv6 as IPv4), as the authorizer matches it; null when `sourceIp` is not an address (a console test invocation).',
    }),
    family: z.enum(['ipv4', 'ipv6']).nullable().meta({ description: 'The family of `ip`; null with it.' }),
    principal: z
      .string()
      .meta({ description: "The caller's IAM ARN (`local:<user>` in local mode), as the audit log records it." }),
  })
  .meta({ id: 'Whoami' });

// ---- query parameters --------------------------------------------------------------------------------------------

const limitMessage = (issue: { readonly input?: unknown }) =>
  `limit must be a whole number from 1 to 100, got ${JSON.stringify(issue.input)}.`;

export const DEFAULT_PAGE_SIZE = 20;

/** `limit` and `cursor` of a paginated list: `limit` is 1 to 100 (default 20), sent as text in the query. */
export const PageQuery = z.object({
  limit: z
    .string()
    .refine((text) => /^\d{1,3}$/.test(text) && Number(text) >= 1 && Number(text) <= 100, { error: limitMessage })
    .transform(Number)
    .optional()
    .meta({
      description: 'Page size, 1 to 100.',
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: DEFAULT_PAGE_SIZE,
    }),
  cursor: z.string().optional().meta({ description: 'The `next_cursor` of the previous page.' }),
});

/** `force=true` in a query: the lockout guard's override for the routes without a body. */
const forceQueryField = () =>
  z
    .enum(['true', 'false'], {
      error: (issue) => `force must be true or false, got ${JSON.stringify(issue.input)}.`,
    })
    .transform((text) => text === 'true')
    .optional()
    .meta({ description: FORCE_DESCRIPTION });

export const ForceQuery = z.object({ force: forceQueryField() });

export const EntryValueQuery = z.object({
  value: z.string({ error: missing('the entry to remove, in any form that normalizes to it') }).meta({
    description: 'The entry to remove, in any form that normalizes to it.',
    example: '10.0.0.0/8',
  }),
  force: forceQueryField(),
});

/** An id given as a filter: its message names the parameter. */
const idFilter = (name: string) =>
  z.string().regex(ID_PATTERN, {
    error: (issue) =>
      `${name} must be an id: 1 to 64 characters of A-Z, a-z, 0-9, _ and -, got ${JSON.stringify(issue.input)}.`,
  });

/**
 * The traffic log's filters and page. `since` is checked for its form here and against the clock by the handler
 * (in the future: 400; older than the retention: moved to its start, as the answer's `since` says).
 */
export const TrafficQuery = PageQuery.extend({
  project: idFilter('project').optional().meta({ description: "Only this project's traffic." }),
  key: idFilter('key')
    .optional()
    .meta({ description: "Only this API key's traffic (`key_...`); with or without `project`." }),
  outcome: z
    .enum(TRAFFIC_OUTCOMES, {
      error: (issue) =>
        `outcome must be one of ${TRAFFIC_OUTCOMES.map((o) => `"${o}"`).join(', ')}, got ${JSON.stringify(issue.input)}.`,
    })
    .optional()
    .meta({ description: 'Only this outcome.' }),
  since: z
    .string()
    // The one date-time rule of the API (as for expiresAt): seconds and a zone required, no day that does not exist.
    .refine((text) => parseIsoInstant(text) !== undefined, {
      error: (issue) =>
        `since must be an ISO-8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z, got ${JSON.stringify(issue.input)}.`,
    })
    .transform((text) => parseIsoInstant(text)!)
    .optional()
    .meta({
      type: 'string',
      format: 'date-time',
      description:
        "Only sightings last seen at or after this time; not in the future. Omitted, or older than the deployment's traffic retention: the start of the retention.",
    }),
});

// ---- types for clients ---------------------------------------------------------------------------------------------

export type ErrorBodyView = z.output<typeof ErrorBody>;
export type EntryInputBody = z.input<typeof EntryInput>;
export type AllowlistEntryView = z.output<typeof AllowlistEntry>;
export type AllowlistView = z.output<typeof Allowlist>;
export type AllowlistWriteView = z.output<typeof AllowlistWriteResult>;
export type PropagationView = z.output<typeof Propagation>;
export type CheckView = z.output<typeof CheckResult>;
export type PreviewView = z.output<typeof PreviewResult>;
export type PreviewBody = z.input<typeof PreviewRequest>;
export type ImpactAddressView = z.output<typeof ImpactAddress>;
export type WarningView = z.output<typeof Warning>;
export type ApiKeyView = z.output<typeof ApiKey>;
export type CreatedApiKeyView = z.output<typeof CreatedApiKey>;
export type RevokedApiKeyView = z.output<typeof RevokedApiKey>;
export type ApiKeyListView = z.output<typeof ApiKeyList>;
export type AuditEventView = z.output<typeof AuditEvent>;
export type AuditEventListView = z.output<typeof AuditEventList>;
export type WhoamiView = z.output<typeof Whoami>;
export type ListedAllowlistEntryView = z.output<typeof ListedAllowlistEntry>;
export type TrafficSightingView = z.output<typeof TrafficSighting>;
export type TrafficListView = z.output<typeof TrafficList>;
export type ReplaceAllowlistBody = z.input<typeof ReplaceAllowlistRequest>;
export type AddEntriesBody = z.input<typeof AddEntriesRequest>;
export type CheckBody = z.input<typeof CheckRequest>;
export type CreateApiKeyBody = z.input<typeof CreateApiKeyRequest>;
