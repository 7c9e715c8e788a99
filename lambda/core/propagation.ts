/**
 * The propagation delay is the worst case between an allowlist change and its enforcement. Two caches sit in
 * that path: API Gateway's authorizer result cache (keyed by API key + source IP) and the authorizer Lambda's
 * in-memory cache of key records and compiled allowlists. A stale in-memory read can be handed to API Gateway
 * just before it expires and then be cached there for the gateway TTL, so the worst case is their SUM, and the
 * budget is split so that the sum never exceeds the configured delay.
 *
 * A flush of API Gateway's cache (FlushStageAuthorizersCache, done by the admin API after each change) does not
 * reach the Lambda's memory: right after a flush, a gateway miss can still be answered from memory loaded before
 * the change, and that stale decision would then be cached for the full gateway TTL. So the admin API flushes
 * twice: at once (most callers see the change immediately) and again once the memory TTL has passed since the
 * write (every memory entry older than the change has expired by then). The in-memory TTL is kept short because
 * it is also how long an admin write waits for that second flush.
 */
export interface PropagationBudget {
  /** API Gateway `authorizerResultTtlInSeconds`. */
  readonly gatewayTtlSeconds: number;
  /** The authorizer Lambda's in-memory cache TTL. */
  readonly memoryTtlSeconds: number;
}

/** The in-memory cache never holds data longer than this, whatever the total budget. */
export const MAX_MEMORY_TTL_SECONDS = 2;

export function splitPropagationDelay(totalSeconds: number): PropagationBudget {
  if (!Number.isInteger(totalSeconds) || totalSeconds < 0 || totalSeconds > 3600) {
    throw new Error(`propagation delay must be a whole number of seconds between 0 and 3600, got ${totalSeconds}`);
  }
  const memoryTtlSeconds = Math.min(MAX_MEMORY_TTL_SECONDS, Math.floor(totalSeconds / 10));
  return { gatewayTtlSeconds: totalSeconds - memoryTtlSeconds, memoryTtlSeconds };
}
