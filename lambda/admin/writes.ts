import { WriteConflictError } from '../adapters/admin-store';
import { FLUSH_TIMEOUT_MS } from '../adapters/stage-cache';
import { splitPropagationDelay } from '../core/propagation';
import { AdminDependencies } from './context';
import { tooMuchContention } from './errors';

/**
 * The two halves of every write that are not about what changes: retrying a write that lost an optimistic-
 * concurrency race, and making the committed change visible at the gateway.
 */

/**
 * Enough for every writer of a realistic burst to land: each conflict means another writer's transaction won,
 * so a writer only loses while others make progress. The bound only stops a pathological hot loop.
 */
export const MAX_WRITE_ATTEMPTS = 25;
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 250;

export function clock(deps: AdminDependencies): number {
  return deps.now ? deps.now() : Date.now();
}

export function sleep(deps: AdminDependencies, ms: number): Promise<void> {
  if (deps.sleep) return deps.sleep(ms);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` (read, compute, conditional commit) until it commits. A WriteConflictError means the state
 * changed between read and commit: wait a jittered, growing moment (so colliding writers spread out) and run
 * the whole attempt again against fresh state. Any other error, including the AdminErrors the change itself
 * raises against the fresh state (limit reached, stale If-Match), ends the loop at once.
 */
export async function withConflictRetry<T>(deps: AdminDependencies, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof WriteConflictError)) throw err;
      if (n >= MAX_WRITE_ATTEMPTS) {
        deps.logger.warn('write abandoned after repeated conflicts', { attempts: n });
        throw tooMuchContention();
      }
      deps.logger.info('write conflict, retrying against fresh state', { attempt: n, reason: err.message });
      const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(n, 8));
      await sleep(deps, Math.random() * ceiling);
    }
  }
}

export interface Propagation {
  /**
   * True when every protected stage's authorizer cache was flushed after every decision on the old data had been
   * returned: from this response on, the change is in force (on our side: API Gateway applies a flush
   * asynchronously, and that is not something this Lambda can observe).
   */
  readonly flushed: boolean;
  /**
   * Worst-case seconds from this response until no request is decided on the old data: 0 when flushed, else the
   * worst case counted from the commit (before this response): `worstCaseDelaySeconds`.
   */
  readonly maxDelaySeconds: number;
}

/**
 * The real worst case from a commit until no request is decided on the old data, without a flush: max(P, g + B).
 * That is P whenever P >= 1 s is a number (the split keeps g + B <= P), but 1 s for P = 0 (nothing is cached, yet a
 * read under way at the commit may be answered up to B = 1 s after it), and P + 1 s for a P that was a token at
 * synth (the construct gives all of it to API Gateway and B = 1 s on top).
 */
export function worstCaseDelaySeconds(config: AdminDependencies['config']): number {
  const gatewayTtlSeconds =
    config.gatewayTtlSeconds ?? splitPropagationDelay(config.propagationDelaySeconds).gatewayTtlSeconds;
  return Math.max(config.propagationDelaySeconds, gatewayTtlSeconds + config.maxDecisionAgeSeconds);
}

/**
 * A margin after the decision age bound before the last flush: for a decision the authorizer returned just inside
 * the bound to reach API Gateway's cache (on AWS, the Lambda service passes it on) before the flush does.
 */
export const LAST_FLUSH_MARGIN_MS = 100;

/**
 * Flushes the authorizer cache after a committed change (see the propagation delay section of lib/contract.ts for the proof):
 * - at once, so most callers see the change immediately;
 * - again once the authorizer's decision age bound B has passed since the commit. A decision whose read began
 *   before the commit can still be returned, and cached at the gateway for its whole TTL, until B after the commit
 *   (slow replies, retries, in-memory data: the authorizer fails closed rather than return anything older), so
 *   only a flush after that removes every decision on the old data for good.
 * `committedAtMs` is taken after DynamoDB acknowledged the commit, so it is not before the commit, and the wait
 * is a duration on this Lambda's own clock: clock differences between Lambda containers do not enter.
 * If the last flush succeeded, the change is in force when this returns (maxDelaySeconds 0); otherwise the gateway
 * TTL still bounds it, so the full worst case (`worstCaseDelaySeconds`) is reported. Never throws.
 *
 * A flush that could not finish before `deadlineMs` (a write that was slow to commit, or a Lambda timeout too short
 * for the wait) is skipped, and the full worst case reported: an honest answer in time beats API Gateway's 504 for a
 * change that did happen.
 */
export async function propagate(
  deps: AdminDependencies,
  committedAtMs: number,
  deadlineMs?: number,
): Promise<Propagation> {
  const { maxDecisionAgeSeconds, protectedStages } = deps.config;
  const notFlushed: Propagation = { flushed: false, maxDelaySeconds: worstCaseDelaySeconds(deps.config) };
  if (!protectedStages?.length) return notFlushed;
  const hasTimeFor = (waitMs: number): boolean => {
    if (deadlineMs === undefined || clock(deps) + waitMs + FLUSH_TIMEOUT_MS <= deadlineMs) return true;
    deps.logger.warn('authorizer cache flush skipped: too little time left before the Lambda timeout', {
      waitMs,
      deadlineMs,
    });
    return false;
  };
  if (!hasTimeFor(0)) return notFlushed;
  await deps.flusher.flush();
  const wait = Math.max(0, committedAtMs + maxDecisionAgeSeconds * 1000 + LAST_FLUSH_MARGIN_MS - clock(deps));
  if (!hasTimeFor(wait)) return notFlushed;
  if (wait > 0) await sleep(deps, wait);
  const flushed = await deps.flusher.flush();
  return flushed ? { flushed: true, maxDelaySeconds: 0 } : notFlushed;
}
