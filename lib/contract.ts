/*
 * The contract between the constructs (lib/) and the Lambda handlers (lambda/): the environment variables the
 * constructs set and the handlers read, the metric names both sides use, the limits both enforce, and the split of
 * the propagation delay that both compute. Written once here, imported by both.
 *
 * Dependency-free on purpose (it only re-exports ./paths.ts, which has no imports): the handlers' bundles include
 * it, and lib/ ships it into a consumer's `cdk synth`, where only aws-cdk-lib and constructs are installed
 * (test/package/package.test.ts follows lib/'s imports). Not exported from lib/index.ts: jsii allows only classes,
 * interfaces, enums and structs at the package root.
 */

// ---------------------------------------------------------------------------------------------------------------
// Environment variables (set by lib/, read by lambda/*/config.ts)

/** The table names, passed to both Lambdas. */
export const ENV = {
  allowlistsTable: 'ALLOWLISTS_TABLE_NAME',
  apiKeysTable: 'API_KEYS_TABLE_NAME',
  auditLogTable: 'AUDIT_LOG_TABLE_NAME',
  /** The Traffic table (sightings). Unset: the deployment records no traffic (imported tables without one). */
  trafficTable: 'TRAFFIC_TABLE_NAME',
  /** How long a sighting is kept after it was last seen, in seconds (the table's TTL), for both Lambdas. */
  trafficRetentionSeconds: 'TRAFFIC_RETENTION_SECONDS',
} as const;

// Read by both Lambdas, with the same value. Plain names rather than AUTHORIZER_ENV.x inside ADMIN_ENV: a property
// read keeps a bundler from dropping ADMIN_ENV from the authorizer's bundle, which never reads it.
const MEMORY_CACHE_TTL_SECONDS = 'MEMORY_CACHE_TTL_SECONDS';
const MAX_DECISION_AGE_SECONDS_VARIABLE = 'MAX_DECISION_AGE_SECONDS';

/** Read by the authorizer, besides the table names. */
export const AUTHORIZER_ENV = {
  apiKeyHeader: 'API_KEY_HEADER',
  memoryCacheTtlSeconds: MEMORY_CACHE_TTL_SECONDS,
  maxDecisionAgeSeconds: MAX_DECISION_AGE_SECONDS_VARIABLE,
} as const;

/** Read by the admin Lambda, besides the table names. */
export const ADMIN_ENV = {
  maxEntries: 'MAX_ENTRIES',
  propagationDelaySeconds: 'PROPAGATION_DELAY_SECONDS',
  /** The authorizer's in-memory TTL: the same variable (and value) as the authorizer's. */
  memoryCacheTtlSeconds: MEMORY_CACHE_TTL_SECONDS,
  /** The authorizer's decision age bound: the same variable (and value) as the authorizer's. */
  maxDecisionAgeSeconds: MAX_DECISION_AGE_SECONDS_VARIABLE,
  /**
   * API Gateway's authorizer result TTL g of the slowest authorizer. With the decision age bound it gives the real
   * worst case max(P, g + B): above P for P = 0 (B = 1 s) and for a P known only at deploy time (g = P, B = 1 s).
   */
  gatewayTtlSeconds: 'GATEWAY_TTL_SECONDS',
  /** The stages whose authorizer cache a write flushes: `restApiId/stageName`, comma-separated. */
  protectedStages: 'PROTECTED_STAGES',
} as const;

/** Between a stage's API id and its name in `PROTECTED_STAGES` (neither may contain it). */
export const STAGE_SEPARATOR = '/';
/** Between the stages of `PROTECTED_STAGES`. */
export const STAGE_LIST_SEPARATOR = ',';

/**
 * The header carrying `Bearer <key>` when the construct is not told otherwise (matched case-insensitively). The
 * wording of the missing-key message (lambda/core/errors.ts) names it; another header name is substituted into it.
 */
export const DEFAULT_API_KEY_HEADER = 'Authorization';

// ---------------------------------------------------------------------------------------------------------------
// The tables' key schemas (created by lib/allowlist-tables.ts, keyed by lambda/adapters/schema.ts, whose header
// describes the items)

export interface AttributeSchema {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface TableSchema {
  /** Logical name, also the construct id of the table. */
  readonly logicalName: 'Allowlists' | 'ApiKeys' | 'AuditLog' | 'Traffic';
  readonly partitionKey: AttributeSchema;
  readonly sortKey?: AttributeSchema;
  readonly globalSecondaryIndexes?: readonly {
    readonly indexName: string;
    readonly partitionKey: AttributeSchema;
    readonly sortKey?: AttributeSchema;
  }[];
  /** The attribute DynamoDB's TTL deletes items by (epoch seconds). */
  readonly timeToLiveAttribute?: string;
}

export const ALLOWLISTS_TABLE: TableSchema = {
  logicalName: 'Allowlists',
  partitionKey: { name: 'pk', type: 'S' },
};

export const API_KEYS_BY_PROJECT_INDEX = 'byProject';

export const API_KEYS_TABLE: TableSchema = {
  logicalName: 'ApiKeys',
  partitionKey: { name: 'keyHash', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: API_KEYS_BY_PROJECT_INDEX,
      partitionKey: { name: 'projectScope', type: 'S' },
      sortKey: { name: 'keyId', type: 'S' },
    },
  ],
};

export const AUDIT_LOG_TABLE: TableSchema = {
  logicalName: 'AuditLog',
  partitionKey: { name: 'organizationId', type: 'S' },
  sortKey: { name: 'eventId', type: 'S' },
};

export const TRAFFIC_BY_LAST_SEEN_INDEX = 'byLastSeen';

/**
 * Sightings: what the authorizer saw, one item per (project, key, source IP, outcome) of an organization
 * (lambda/adapters/traffic-items.ts). The index lists an organization's sightings newest first.
 */
export const TRAFFIC_TABLE: TableSchema = {
  logicalName: 'Traffic',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: TRAFFIC_BY_LAST_SEEN_INDEX,
      partitionKey: { name: 'pk', type: 'S' },
      sortKey: { name: 'lastSeen', type: 'S' },
    },
  ],
  timeToLiveAttribute: 'expiresAt',
};

export const TABLE_SCHEMAS = [ALLOWLISTS_TABLE, API_KEYS_TABLE, AUDIT_LOG_TABLE] as const;

// ---------------------------------------------------------------------------------------------------------------
// Metrics (published by lambda/*/metrics.ts, read by the constructs' metric methods)

export const METRICS_NAMESPACE = 'CdkIpAllowlist';

/**
 * The environment variable carrying the `service` dimension, set by the constructs (their `metricsServiceName`,
 * by default derived from the construct path). Powertools' own variable, so its Logger reports the same service.
 */
export const METRICS_SERVICE_ENV = 'POWERTOOLS_SERVICE_NAME';

/**
 * The authorizer's CloudWatch metrics (unit Count): one per outcome of a decision, and the store reads. Each
 * decision has exactly one outcome: a request let through that a report-only list would have blocked counts in
 * WouldBlockRequests, not in AllowedRequests.
 */
export const AUTHORIZER_METRIC_NAMES = {
  allowed: 'AllowedRequests',
  wouldBlock: 'WouldBlockRequests',
  blocked: 'BlockedRequests',
  invalidKey: 'InvalidKeyRequests',
  missingKey: 'MissingKeyRequests',
  storeError: 'StoreErrors',
  storeReads: 'StoreReads',
  /** Sightings the authorizer could not record in the Traffic table (a failed or late write; never a decision). */
  trafficWriteErrors: 'TrafficWriteErrors',
} as const;

/** The admin API's CloudWatch metrics (unit Count). */
export const ADMIN_METRIC_NAMES = {
  write: 'AdminWrites',
  failure: 'AdminFailures',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Limits

// The whoami route (lib/paths.ts, beside the version prefix it is built from).
export { WHOAMI_PATH } from './paths';

/** How long sightings are kept when the construct is not told otherwise: 30 days. */
export const DEFAULT_TRAFFIC_RETENTION_DAYS = 30;
/** The longest traffic retention a construct accepts. */
export const MAX_TRAFFIC_RETENTION_DAYS = 365;

/** The most entries one allowlist may hold when the construct is not told otherwise. */
export const DEFAULT_MAX_ENTRIES = 50;
/** The highest `maxEntries` a construct accepts. */
export const MAX_MAX_ENTRIES = 1000;
/** An allowlist entry's description, in characters. */
export const MAX_DESCRIPTION_LENGTH = 140;
/** An API key's name, in characters. */
export const MAX_KEY_NAME_LENGTH = 100;

/** Ids of organizations, projects and keys: safe in URLs, in DynamoDB keys (no `#`) and in API keys (no `/`). */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

// ---------------------------------------------------------------------------------------------------------------
// The propagation delay and its split

/**
 * The propagation delay P is the promise: from the moment DynamoDB acknowledges a change, no request is decided
 * on data older than the change later than P after it. Three things sit between a change and its enforcement:
 *
 * - API Gateway's authorizer result cache (keyed by API key + source IP) keeps a decision for the gateway TTL g,
 *   counted from when the authorizer RETURNS it, however old the data behind it;
 * - the authorizer Lambda's in-memory cache keeps key records and compiled lists for m, counted from the START of
 *   the read that loaded them;
 * - a decision in flight: its read may begin before the change and return after it (a slow reply, retries of
 *   keys DynamoDB left unprocessed).
 *
 * The bound that ties them together is the decision age bound B: the authorizer never returns a decision whose
 * oldest data was read (read started) more than B before it returns; it fails closed instead (an error: API
 * Gateway answers 5xx and caches nothing). Every store read gets at most what is left of B as its deadline, and
 * the in-memory TTL is at most B / 2, so a cold read always has at least B / 2.
 *
 * Proof of P. Let C be the commit. A decision made on pre-write data used data whose read began before C, so it
 * was returned before C + B. Cached at the gateway, it serves requests until before C + B + g <= C + P. The
 * Lambda's own answers on pre-write data end before C + B <= P too (memory entries count inside the same age).
 * Hence g + B <= P for every P >= 1. For P = 0 there is no cache anywhere (g = m = 0): each request reads the
 * tables itself, and only a request whose read was already under way at the commit can be decided on the old
 * data, at most B = 1 s after it (so the worst case is 1 s, not 0). A P that is a token at synth cannot be split:
 * the construct sets g = P and B = 1 (lib/ip-allowlist-authorizer.ts), a worst case of P + 1. The admin API
 * reports max(P, g + B) when it cannot flush (lambda/admin/writes.ts `worstCaseDelaySeconds`).
 *
 * Proof of the flush (lambda/admin/writes.ts): every decision on pre-write data has been returned by C + B, so a
 * flush sent after C + B leaves no such decision at the gateway, none can be added after it, and every memory
 * entry read before C is past B: from the flush's answer on, every request is decided on the new data (on our
 * side: how fast API Gateway applies the flush is API Gateway's business).
 */
export interface PropagationBudget {
  /** API Gateway `authorizerResultTtlInSeconds`. */
  readonly gatewayTtlSeconds: number;
  /** The authorizer Lambda's in-memory cache TTL (at most half of `maxDecisionAgeSeconds`). */
  readonly memoryTtlSeconds: number;
  /**
   * B: the oldest data (by the start of its read) a decision may be made on when the authorizer returns it.
   * Also the store's read deadline, and how long after a commit the admin API waits before its last flush.
   */
  readonly maxDecisionAgeSeconds: number;
}

/** The propagation delay when the construct is not told otherwise (5 minutes). */
export const DEFAULT_PROPAGATION_DELAY_SECONDS = 300;

/** The longest propagation delay: API Gateway's authorizer result TTL cannot exceed 1 hour. */
export const MAX_PROPAGATION_DELAY_SECONDS = 3600;

/** The in-memory cache never holds data longer than this, whatever the total budget. */
export const MAX_MEMORY_TTL_SECONDS = 2;

/**
 * The largest decision age bound, so also the longest a store read may take. The authorizer Lambda's timeout must
 * exceed it (lib/ip-allowlist-authorizer.ts checks), so the authorizer fails closed with its own log line.
 */
export const MAX_DECISION_AGE_SECONDS = 4;

/**
 * Below 2 s of delay the bound is 1 s: the whole delay goes to it and nothing is cached anywhere. From 2 s it is
 * at least 2 s, so a cold read has at least 1 s and the in-memory cache (1 s) absorbs bursts of made-up keys.
 */
const MIN_DECISION_AGE_SECONDS = 2;

/** What is wrong with a propagation delay: outside 0 to 3600 seconds, or a fraction of a second. */
export type PropagationDelayFault = 'out of range' | 'not whole seconds';

/**
 * The one check of the propagation delay rule (a whole number of seconds from 0 to 3600), for every place that
 * takes a delay (the constructs, the admin Lambda's configuration, local mode's `--ttl`, the split below); each
 * words its own message, naming its prop, variable or option. Undefined when the delay is valid.
 */
export function propagationDelayFault(seconds: number): PropagationDelayFault | undefined {
  if (!(seconds >= 0 && seconds <= MAX_PROPAGATION_DELAY_SECONDS)) return 'out of range';
  if (!Number.isInteger(seconds)) return 'not whole seconds';
  return undefined;
}

/** P = g + B with B = min(4, max(2, floor(P / 10))) and m = min(2, floor(B / 2)); below 2 s nothing is cached. */
export function splitPropagationDelay(totalSeconds: number): PropagationBudget {
  if (propagationDelayFault(totalSeconds) !== undefined) {
    throw new Error(
      `propagation delay must be a whole number of seconds between 0 and ${MAX_PROPAGATION_DELAY_SECONDS}, got ${totalSeconds}`,
    );
  }
  if (totalSeconds < MIN_DECISION_AGE_SECONDS) {
    return { gatewayTtlSeconds: 0, memoryTtlSeconds: 0, maxDecisionAgeSeconds: 1 };
  }
  // Up to 10% of the delay, within [2, 4] s: large delays keep almost all of it for API Gateway's cache (the cost
  // saver), while a slow table read still gets seconds before it fails closed.
  const maxDecisionAgeSeconds = Math.min(
    MAX_DECISION_AGE_SECONDS,
    Math.max(MIN_DECISION_AGE_SECONDS, Math.floor(totalSeconds / 10)),
  );
  return {
    gatewayTtlSeconds: totalSeconds - maxDecisionAgeSeconds,
    memoryTtlSeconds: Math.min(MAX_MEMORY_TTL_SECONDS, Math.floor(maxDecisionAgeSeconds / 2)),
    maxDecisionAgeSeconds,
  };
}
