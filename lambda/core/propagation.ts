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

export function splitPropagationDelay(totalSeconds: number): PropagationBudget {
  if (!Number.isInteger(totalSeconds) || totalSeconds < 0 || totalSeconds > 3600) {
    throw new Error(`propagation delay must be a whole number of seconds between 0 and 3600, got ${totalSeconds}`);
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
