import {
  ADMIN_ENV,
  DEFAULT_MAX_ENTRIES,
  DEFAULT_PROPAGATION_DELAY_SECONDS,
  DEFAULT_TRAFFIC_RETENTION_DAYS,
  ENV,
  MAX_DECISION_AGE_SECONDS,
  MAX_MAX_ENTRIES,
  MAX_MEMORY_TTL_SECONDS,
  MAX_PROPAGATION_DELAY_SECONDS,
  MAX_TRAFFIC_RETENTION_DAYS,
  propagationDelayFault,
  splitPropagationDelay,
  STAGE_LIST_SEPARATOR,
  STAGE_SEPARATOR,
} from '../../lib/contract';
import { StageTarget } from '../adapters/stage-cache';

/**
 * The admin Lambda's configuration, read from the environment the construct (lib/allowlist-admin-api.ts) sets,
 * and validated when the container starts: a misconfigured function fails with a message naming the variable
 * instead of enforcing a wrong limit or reporting a wrong delay.
 */

export interface AdminConfig {
  readonly tables: {
    readonly allowlists: string;
    readonly apiKeys: string;
    readonly auditLog: string;
    /** Undefined: the deployment records no traffic (tables imported without a Traffic table). */
    readonly traffic?: string;
  };
  /** How long the authorizer keeps a sighting after it was last seen: the longest a traffic read can look back. */
  readonly trafficRetentionSeconds: number;
  readonly maxEntries: number;
  /** The authorizer's propagation delay P: API Gateway's TTL plus the decision age bound. */
  readonly propagationDelaySeconds: number;
  /** The authorizer's in-memory TTL (at most half of the decision age bound). */
  readonly memoryCacheTtlSeconds: number;
  /**
   * The authorizer's decision age bound B: no decision on data read before a commit is returned later than B
   * after it, so a write waits that long before its last flush (lambda/admin/writes.ts).
   */
  readonly maxDecisionAgeSeconds: number;
  /** API Gateway's authorizer result TTL g: `P - B`, or `P` when P was a token at synth (lib/contract.ts). */
  readonly gatewayTtlSeconds: number;
  /** The stages whose authorizer cache is flushed after each write; empty: no flush. */
  readonly protectedStages: readonly StageTarget[];
}

const DAY_SECONDS = 86_400;

export class AdminConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminConfigError';
  }
}

export function loadAdminConfig(env: Readonly<Record<string, string | undefined>>): AdminConfig {
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new AdminConfigError(`environment variable ${name} is required (the table name)`);
    return value;
  };
  const wholeNumber = (
    name: string,
    min: number,
    max: number,
    fallback: number,
    valid = (n: number) => n >= min && n <= max,
  ): number => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!valid(n)) {
      throw new AdminConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
    }
    return n;
  };
  // The delay and its gateway part, by the propagation delay rule (lib/contract.ts).
  const delaySeconds = (name: string, fallback: number): number =>
    wholeNumber(name, 0, MAX_PROPAGATION_DELAY_SECONDS, fallback, (n) => propagationDelayFault(n) === undefined);

  const tables = {
    allowlists: required(ENV.allowlistsTable),
    apiKeys: required(ENV.apiKeysTable),
    auditLog: required(ENV.auditLogTable),
    traffic: env[ENV.trafficTable]?.trim() || undefined,
  };
  const trafficRetentionSeconds = wholeNumber(
    ENV.trafficRetentionSeconds,
    DAY_SECONDS,
    MAX_TRAFFIC_RETENTION_DAYS * DAY_SECONDS,
    DEFAULT_TRAFFIC_RETENTION_DAYS * DAY_SECONDS,
  );
  const maxEntries = wholeNumber(ADMIN_ENV.maxEntries, 1, MAX_MAX_ENTRIES, DEFAULT_MAX_ENTRIES);
  const propagationDelaySeconds = delaySeconds(ADMIN_ENV.propagationDelaySeconds, DEFAULT_PROPAGATION_DELAY_SECONDS);
  // Without the variable, assume the split the construct would make: never under-report the delay.
  const split = splitPropagationDelay(propagationDelaySeconds);
  const memoryCacheTtlSeconds = wholeNumber(
    ADMIN_ENV.memoryCacheTtlSeconds,
    0,
    MAX_MEMORY_TTL_SECONDS,
    split.memoryTtlSeconds,
  );
  // Without the variable, the split the construct makes. The bound grows with the delay, so with several authorizers
  // the longest delay (what the construct passes) gives the longest bound; a larger value only makes writes wait longer.
  const maxDecisionAgeSeconds = wholeNumber(
    ADMIN_ENV.maxDecisionAgeSeconds,
    1,
    MAX_DECISION_AGE_SECONDS,
    split.maxDecisionAgeSeconds,
  );
  const gatewayTtlSeconds = delaySeconds(ADMIN_ENV.gatewayTtlSeconds, split.gatewayTtlSeconds);
  if (gatewayTtlSeconds > propagationDelaySeconds) {
    throw new AdminConfigError(
      `${ADMIN_ENV.gatewayTtlSeconds} (${gatewayTtlSeconds}) cannot exceed ${ADMIN_ENV.propagationDelaySeconds} (${propagationDelaySeconds})`,
    );
  }
  if (memoryCacheTtlSeconds > propagationDelaySeconds) {
    throw new AdminConfigError(
      `${ADMIN_ENV.memoryCacheTtlSeconds} (${memoryCacheTtlSeconds}) cannot exceed ${ADMIN_ENV.propagationDelaySeconds} (${propagationDelaySeconds})`,
    );
  }

  return {
    tables,
    trafficRetentionSeconds,
    maxEntries,
    propagationDelaySeconds,
    memoryCacheTtlSeconds,
    maxDecisionAgeSeconds,
    gatewayTtlSeconds,
    protectedStages: parseStages(env[ADMIN_ENV.protectedStages]),
  };
}

function parseStages(text: string | undefined): StageTarget[] {
  if (!text?.trim()) return [];
  return text.split(STAGE_LIST_SEPARATOR).map((item) => {
    const parts = item.trim().split(STAGE_SEPARATOR);
    if (parts.length !== 2 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) {
      throw new AdminConfigError(
        `${ADMIN_ENV.protectedStages} must list restApiId${STAGE_SEPARATOR}stageName pairs separated by ` +
          `"${STAGE_LIST_SEPARATOR}", got ${JSON.stringify(item)} in ${JSON.stringify(text)}`,
      );
    }
    return { restApiId: parts[0], stageName: parts[1] };
  });
}
