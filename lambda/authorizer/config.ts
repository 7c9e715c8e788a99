import {
  AUTHORIZER_ENV,
  DEFAULT_API_KEY_HEADER,
  DEFAULT_TRAFFIC_RETENTION_DAYS,
  ENV,
  MAX_DECISION_AGE_SECONDS,
  MAX_MEMORY_TTL_SECONDS,
  MAX_TRAFFIC_RETENTION_DAYS,
} from '../../lib/contract';

/**
 * The authorizer's configuration, read from the environment the construct sets. It is validated when the
 * container starts, so a misconfigured function fails every invocation with a message naming the variable
 * (API Gateway answers 5xx, never an Allow) instead of misbehaving per request.
 */

export interface AuthorizerConfig {
  readonly allowlistsTableName: string;
  readonly apiKeysTableName: string;
  /** Lower-case name of the header carrying `Bearer <key>`. */
  readonly apiKeyHeader: string;
  /** Lifetime of the in-memory cache; 0 disables it. */
  readonly memoryCacheTtlSeconds: number;
  /** The decision age bound B (lib/contract.ts), also the store's read deadline. */
  readonly maxDecisionAgeSeconds: number;
  /** The Traffic table; undefined: no traffic is recorded (tables imported without one). */
  readonly trafficTableName: string | undefined;
  /** How long a sighting is kept after it was last seen (its TTL). */
  readonly trafficRetentionSeconds: number;
}

const DAY_SECONDS = 86_400;

export class AuthorizerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorizerConfigError';
  }
}

/** RFC 9110 token characters: what a header name may consist of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function loadAuthorizerConfig(env: Readonly<Record<string, string | undefined>>): AuthorizerConfig {
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new AuthorizerConfigError(`environment variable ${name} is required (the table name)`);
    return value;
  };
  const allowlistsTableName = required(ENV.allowlistsTable);
  const apiKeysTableName = required(ENV.apiKeysTable);

  const header = env[AUTHORIZER_ENV.apiKeyHeader]?.trim() || DEFAULT_API_KEY_HEADER;
  if (!HEADER_NAME.test(header)) {
    throw new AuthorizerConfigError(
      `${AUTHORIZER_ENV.apiKeyHeader} must be an HTTP header name, got ${JSON.stringify(header)}`,
    );
  }

  const ttlText = env[AUTHORIZER_ENV.memoryCacheTtlSeconds]?.trim();
  // Without a value there is no in-memory cache: staleness is then bounded by API Gateway's TTL alone.
  let memoryCacheTtlSeconds = 0;
  if (ttlText) {
    memoryCacheTtlSeconds = /^\d+$/.test(ttlText) ? Number(ttlText) : NaN;
    if (!(memoryCacheTtlSeconds <= MAX_MEMORY_TTL_SECONDS)) {
      throw new AuthorizerConfigError(
        `${AUTHORIZER_ENV.memoryCacheTtlSeconds} must be a whole number of seconds from 0 to ${MAX_MEMORY_TTL_SECONDS}, got ${JSON.stringify(ttlText)}`,
      );
    }
  }
  const ageText = env[AUTHORIZER_ENV.maxDecisionAgeSeconds]?.trim();
  // Without a value: the largest bound, which is also the store deadline a read always had.
  let maxDecisionAgeSeconds = MAX_DECISION_AGE_SECONDS;
  if (ageText) {
    maxDecisionAgeSeconds = /^\d+$/.test(ageText) ? Number(ageText) : NaN;
    if (!(maxDecisionAgeSeconds >= 1 && maxDecisionAgeSeconds <= MAX_DECISION_AGE_SECONDS)) {
      throw new AuthorizerConfigError(
        `${AUTHORIZER_ENV.maxDecisionAgeSeconds} must be a whole number of seconds from 1 to ${MAX_DECISION_AGE_SECONDS}, got ${JSON.stringify(ageText)}`,
      );
    }
  }
  if (memoryCacheTtlSeconds * 2 > maxDecisionAgeSeconds) {
    // A cold read must keep at least half of the bound, or decisions on older cached data would fail at random.
    throw new AuthorizerConfigError(
      `${AUTHORIZER_ENV.memoryCacheTtlSeconds} (${memoryCacheTtlSeconds}) must be at most half of ${AUTHORIZER_ENV.maxDecisionAgeSeconds} (${maxDecisionAgeSeconds})`,
    );
  }
  const retentionText = env[ENV.trafficRetentionSeconds]?.trim();
  let trafficRetentionSeconds = DEFAULT_TRAFFIC_RETENTION_DAYS * DAY_SECONDS;
  if (retentionText) {
    trafficRetentionSeconds = /^\d+$/.test(retentionText) ? Number(retentionText) : NaN;
    if (!(
      trafficRetentionSeconds >= DAY_SECONDS && trafficRetentionSeconds <= MAX_TRAFFIC_RETENTION_DAYS * DAY_SECONDS
    )) {
      throw new AuthorizerConfigError(
        `${ENV.trafficRetentionSeconds} must be a whole number of seconds from ${DAY_SECONDS} to ${MAX_TRAFFIC_RETENTION_DAYS * DAY_SECONDS}, got ${JSON.stringify(retentionText)}`,
      );
    }
  }
  return {
    allowlistsTableName,
    apiKeysTableName,
    apiKeyHeader: header.toLowerCase(),
    memoryCacheTtlSeconds,
    maxDecisionAgeSeconds,
    trafficTableName: env[ENV.trafficTable]?.trim() || undefined,
    trafficRetentionSeconds,
  };
}
