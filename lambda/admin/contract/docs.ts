import type { ListScope, OperationName } from './routes';

/**
 * What the OpenAPI document says about each operation beyond its schemas: summary, description, tag and request
 * example. Read only by the generator (contract/openapi.ts), so none of this text is bundled into the Lambda.
 * The allowlist operations exist once per scope; their text names the list (`the project's`).
 */

export interface OperationDocs {
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly requestExample?: unknown;
}

const OWNER: Readonly<Record<ListScope, string>> = {
  Organization: "the organization's",
  Project: "the project's",
  Key: "the API key's",
};

const CORRUPT =
  'A stored list that cannot be read (a corrupt item, or an entry that is not a canonical range) answers 409 ' +
  'allowlist_corrupt, naming the list and why: the authorizer fails closed on it.';

const GUARD =
  'Lockout guard: a change that could block a caller is refused with 409 would_block_recent_traffic (nothing written) when it would block source addresses whose requests went through (allowed or would_block) in the last 24 hours and that still pass now, decided as POST .../preview decides; the error lists them in `wouldBlock`. Guarded: every change that leaves the list enforced, and a project list turned off or report-only while the organization list is enforced (its callers then fall to the organization list); an organization or key list turned off or report-only blocks nobody and is never guarded. Add the addresses, or send `force: true` to apply it anyway (the audit record notes it). When the traffic cannot be read: 503 traffic_unavailable; when more passing callers were recorded in those 24 hours than the guard reads in one request: 409 lockout_guard_incomplete; nothing written in either case, unless forced. A deployment that records no traffic writes, with the warning lockout_guard_unavailable.';

const CHECK_SCOPE: Readonly<Record<ListScope, string>> = {
  Organization:
    'Evaluates the organization list as it applies to a project without an enabled list of its own: scope is "organization" or "none".',
  Project:
    'Evaluates the project and organization lists as the authorizer does for a key of this project without a list of its own: scope is "project", "organization" or "none".',
  Key: 'Evaluates all three lists exactly as the authorizer does for this key: scope is "key" when the key\'s own list blocks the IP, otherwise the project/organization scope; keyMatchedEntry is the key list\'s match. A revoked key: 409 api_key_revoked.',
};

type AllowlistOperation =
  | 'getAllowlist'
  | 'replaceAllowlist'
  | 'addAllowlistEntries'
  | 'deleteAllowlistEntry'
  | 'deleteAllowlistEntryByQuery'
  | 'enableAllowlist'
  | 'disableAllowlist'
  | 'checkIp'
  | 'previewAllowlist';

function allowlistDocs(operation: AllowlistOperation, scope: ListScope): OperationDocs {
  const owner = OWNER[scope];
  const tag = `${scope === 'Key' ? 'API key' : scope} allowlist`;
  switch (operation) {
    case 'getAllowlist':
      return {
        tag,
        summary: `Get ${owner} IP allowlist`,
        description: [
          "The list, whether it is enabled, its version (also the ETag) and the deployment's propagation delay. A list never written is empty, disabled, version 0.",
          ...(scope === 'Key'
            ? [
                "A key list can only narrow: a request must pass the project/organization rule AND the key's own enabled list. A revoked key's list can be read but not changed (409 api_key_revoked).",
              ]
            : []),
          CORRUPT,
        ].join(' '),
      };
    case 'replaceAllowlist':
      return {
        tag,
        summary: `Replace ${owner} IP allowlist (bulk import)`,
        description: `All or nothing: if any entry is invalid, 400 lists every rejected entry with its reason and nothing changes. Entries whose value was already present keep their createdAt/createdBy. \`mode\` (\`enforce\`, \`report_only\`, \`off\`) or \`enabled\` (true: enforce, false: off) sets the mode; both omitted keep it; both given and disagreeing: 400 conflicting_parameters (param mode). An enabled list cannot be left empty (400 empty_allowlist). More than maxEntries entries: 422. Entries that together cover every IPv4 or every IPv6 address (\`0.0.0.0/1\` + \`128.0.0.0/1\`) are refused with 422 allowlist_covers_all_addresses naming them. A description with control, bidirectional-formatting or line-separator characters: 400 (code invalid_characters for the entry). ${GUARD} This is also how a corrupt stored list is repaired: the PUT replaces it whole, conditioned on the corrupt state it read, audited with \`before: {corrupt, version}\`; \`enabled\` is required unless the stored flag was still readable, and If-Match compares with the version the corrupt list claims (0 when none). An entry object may carry \`expiresAt\` (ISO-8601 with a time zone) or \`expiresIn\` (seconds, 1 to 7776000), not both: malformed or both, 400 (codes invalid_expires_at, invalid_expires_in, conflicting_expiry, naming the field); not after now or beyond 90 days, 422 expiry_out_of_range naming the field. Expired entries are pruned by this write.`,
        requestExample: {
          entries: [{ value: '203.0.113.0/24', description: 'office' }, '2001:db8::/48'],
          enabled: true,
        },
      };
    case 'addAllowlistEntries':
      return {
        tag,
        summary: `Add entries to ${owner} IP allowlist`,
        description: `One entry (\`value\`, \`description\`) or many (\`entries\`), all or nothing. Each value is normalized to its canonical CIDR (\`10.0.0.1\` becomes \`10.0.0.1/32\`); an equivalent of a stored entry is a duplicate (409 listing each). Invalid entries: 400 listing each with its reason. Over maxEntries: 422 allowlist_limit_exceeded. Without If-Match a write that loses a race with another writer is re-applied to the fresh list, so no update is lost and the limit holds exactly. Additions that would leave the entries covering every IPv4 or every IPv6 address: 422 allowlist_covers_all_addresses. A description with control, bidirectional-formatting or line-separator characters: 400 invalid_characters (param description) or, in \`entries\`, an invalid_entries item with that code. An entry object may carry \`expiresAt\` (ISO-8601 with a time zone) or \`expiresIn\` (seconds, 1 to 7776000), not both: malformed or both, 400 (codes invalid_expires_at, invalid_expires_in, conflicting_expiry, naming the field); not after now or beyond 90 days, 422 expiry_out_of_range naming the field. Expired entries are pruned by this write. An expired entry is not a duplicate of a new one, and maxEntries counts live entries. ${GUARD} ${CORRUPT}`,
        requestExample: { value: '198.51.100.7', description: 'backend server' },
      };
    case 'deleteAllowlistEntry':
      return {
        tag,
        summary: `Remove one entry from ${owner} IP allowlist (value in the path)`,
        description: `The value may be given in any form that normalizes to the stored entry (\`10.0.0.1\`, \`10.0.0.1/32\`, \`::ffff:10.0.0.1\`). A CIDR contains \`/\`: URL-encode it as \`%2F\` (\`/entries/10.0.0.0%2F8\`); a literal \`/\` is also accepted. Not in the list: 404 entry_not_found. Removing the last entry of an enabled list is refused (400 empty_allowlist): disable it first. So is removing its last live entry when the others have expired. ${GUARD} This route has no body: force is the query parameter \`?force=true\`. ${CORRUPT}`,
      };
    case 'deleteAllowlistEntryByQuery':
      return {
        tag,
        summary: `Remove one entry from ${owner} IP allowlist (value in the query)`,
        description: `Same as DELETE .../entries/{value}, for clients that prefer \`?value=10.0.0.0%2F8\`. ${GUARD} Force is the query parameter \`force=true\`. ${CORRUPT}`,
      };
    case 'enableAllowlist':
      return {
        tag,
        summary: `Enable ${owner} IP allowlist (enforce, or report only)`,
        description: `No request body, \`{}\` or \`{"mode":"enforce"}\`: enforce the list. \`{"mode":"report_only"}\`: the list blocks nothing, but requests it would block pass and are recorded as would_block (metric WouldBlockRequests, a log line with the list's scope); a report-only project list does not replace the organization's list until it is enforced. Another mode: 400 invalid_value (param mode); POST .../disable turns a list off. Enforcing an empty list, or one whose entries have all expired, is refused with 400 empty_allowlist: it would block every request. A list stored with entries that together cover every IPv4 or IPv6 address is not enabled: 422 allowlist_covers_all_addresses. ${GUARD} ${CORRUPT}`,
        requestExample: { mode: 'report_only' },
      };
    case 'disableAllowlist':
      return {
        tag,
        summary: `Disable ${owner} IP allowlist`,
        description: `The entries are kept. No request body (or \`{}\`). ${GUARD} This route has no body: force is the query parameter \`?force=true\`. ${CORRUPT}`,
      };
    case 'checkIp':
      return {
        tag,
        summary: `Would this IP be allowed? (${owner} check tool)`,
        description: `Runs the authorizer's own decision function on the stored lists, so the answer cannot disagree with the authorizer: \`allowed\` per the enforced lists, and \`wouldBlock\` naming the report-only list that would refuse the IP when the authorizer would let it through as would_block. With \`entries\`, that draft replaces this scope's list for the check, as if saved and enabled (nothing is stored). ${CHECK_SCOPE[scope]} Reads only: nothing is written or audited. A corrupt stored list behind the answer (this scope's, or the organization's or project's list the authorizer reads with it) answers 409 allowlist_corrupt, naming it. A draft whose entries together cover every IPv4 or every IPv6 address answers 422 allowlist_covers_all_addresses, as saving it would. Descriptions and expiries are checked as on a write; the decision is made at the time of the request, so an expired entry never matches, exactly as in the authorizer.`,
        requestExample: { ip: '198.51.100.7', entries: ['198.51.100.0/24'] },
      };
    case 'previewAllowlist':
      return {
        tag,
        summary: `What would a draft of ${owner} IP allowlist change for real callers? (impact preview)`,
        description: `Reads the traffic the authorizer recorded for this scope in the last \`days\` (default 7, at most the traffic retention; out of range: 400 invalid_value, param days) and decides each caller (key and source address) now, by the authorizer's own decision function, twice: on the stored lists ("today") and with the draft in place of this list. The draft is \`entries\` and \`mode\`, each defaulting to what is stored, entries validated as on a PUT. \`wouldBlock\`: addresses that pass today (allowed or would_block) and would be blocked; \`wouldPass\`: blocked today, would pass; \`wouldReport\`: would pass recorded as would_block. To see what enforcing a report-only list would cut off, send \`{"mode":"enforce"}\`. Every address lists its keys with both verdicts, last seen and decision counts. \`truncated\` is true when the read stopped at its cap (the sets may then be incomplete); \`unreadable\` counts traffic items that could not be read. An enforced draft with no live entry (none, or all expired) could never be saved: 400 empty_allowlist, as on a write. The lockout guard of the writes decides the same way. Reads only. A deployment that records no traffic: 409 traffic_not_recorded; the traffic cannot be read: 503 traffic_unavailable. ${CHECK_SCOPE[scope]} ${CORRUPT}`,
        requestExample: { mode: 'enforce', days: 7 },
      };
  }
}

const OTHER_DOCS: Readonly<Record<Exclude<OperationName, AllowlistOperation>, OperationDocs>> = {
  createApiKey: {
    tag: 'API keys',
    summary: 'Create an API key',
    description:
      'Returns the secret (`key`) once: it is stored only as its SHA-256 hash and cannot be shown again. The key is `sk-` + the project route + 256 random bits. A name with control, bidirectional-formatting or line-separator characters: 400 invalid_characters (param name), nothing written.',
    requestExample: { name: 'backend' },
  },
  listApiKeys: {
    tag: 'API keys',
    summary: "List a project's API keys",
    description: 'Ids, names, redacted values, status and creation; never a secret or hash. Paginated.',
  },
  getApiKey: { tag: 'API keys', summary: 'Get one API key' },
  revokeApiKey: {
    tag: 'API keys',
    summary: 'Revoke an API key',
    description:
      'The key stops working at the authorizer within `propagation.maxDelaySeconds`. Revoking a revoked key: 409 api_key_already_revoked.',
  },
  listAuditLog: {
    tag: 'Audit log',
    summary: "An organization's audit log, newest first",
    description:
      "Every change to the organization's allowlists and API keys: who (the caller's IAM ARN), when, what, before and after. Each change and its record are written in one transaction.",
  },
  listTraffic: {
    tag: 'Traffic',
    summary: "An organization's traffic log (blocked, would-block and allowed callers), newest first",
    description:
      "What the authorizer decided, one sighting per (project, API key, source address, outcome) with its first and last decision, how many decisions it counts and the entry each list matched: the blocked-request log, and the callers a report-only list would block. Filters: `project`, `key` (with or without `project`), `outcome`, `since` (an ISO-8601 date-time with a time zone; malformed or in the future: 400 invalid_value naming since; omitted or older than the deployment's traffic retention: the start of the retention, and the answer's `since` says which). Paginated: `limit` (1 to 100, default 20) and `next_cursor`; a page may hold fewer sightings than `limit` (filters are applied while reading, and one page reads at most 1000 items) and still have a `next_cursor`; a cursor is bound to the organization (another's, or a tampered one: 400 invalid_cursor). A sighting counts decisions, not requests: API Gateway answers repeats from its cache. A deployment that records no traffic (tables imported without a Traffic table) answers 409 traffic_not_recorded. `grantRead(grantee, organizationId)` covers this route for that organization only.",
  },
  whoami: {
    tag: 'Caller',
    summary: 'The caller as this API sees it: source address and IAM principal',
    description:
      'The source address API Gateway reports for this request (`requestContext.identity.sourceIp`: the TCP peer, never a header), in canonical form with its family as the authorizer would match it, and the IAM principal that signed the request. Reads and writes nothing. Every grant (`grantRead`, `grantWrite`) includes it. The protected API sees the same address only when the client reaches both APIs the same way (same network path and IP address type): see docs/doctor.md.',
  },
};

export const TAGS = [
  'Organization allowlist',
  'Project allowlist',
  'API key allowlist',
  'API keys',
  'Audit log',
  'Traffic',
  'Caller',
];

function isAllowlistOperation(operation: OperationName): operation is AllowlistOperation {
  return !(operation in OTHER_DOCS);
}

export function operationDocs(operation: OperationName, scope?: ListScope): OperationDocs {
  if (isAllowlistOperation(operation)) return allowlistDocs(operation, scope ?? 'Organization');
  return OTHER_DOCS[operation];
}
