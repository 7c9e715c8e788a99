/**
 * The propagation delay is the worst case between an allowlist change and its enforcement. Two caches sit in
 * that path: API Gateway's authorizer result cache (keyed by API key + source IP) and the authorizer Lambda's
 * in-memory cache of key records and compiled allowlists. A stale in-memory read can be handed to API Gateway
 * just before it expires and then be cached there for the gateway TTL, so the worst case is their SUM, and the
 * budget is split so that the sum never exceeds the configured delay.
 *
 * The admin API flushes API Gateway's cache after each change, which leaves only the in-memory part: that is
 * the `maxDelaySeconds` a flushed write reports.
 */
export interface PropagationBudget {
  /** API Gateway `authorizerResultTtlInSeconds`. */
  readonly gatewayTtlSeconds: number;
  /** The authorizer Lambda's in-memory cache TTL. */
  readonly memoryTtlSeconds: number;
}

/** The in-memory cache never holds data longer than this, whatever the total budget. */
export const MAX_MEMORY_TTL_SECONDS = 10;

export function splitPropagationDelay(totalSeconds: number): PropagationBudget {
  if (!Number.isInteger(totalSeconds) || totalSeconds < 0 || totalSeconds > 3600) {
    throw new Error(`propagation delay must be a whole number of seconds between 0 and 3600, got ${totalSeconds}`);
  }
  const memoryTtlSeconds = Math.min(MAX_MEMORY_TTL_SECONDS, Math.floor(totalSeconds / 10));
  return { gatewayTtlSeconds: totalSeconds - memoryTtlSeconds, memoryTtlSeconds };
}
