import { WriteConflictError } from '../adapters/admin-store';
import { FLUSH_TIMEOUT_MS } from '../adapters/stage-cache';
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
  /** True when every protected stage's authorizer cache was flushed after the change. */
  readonly flushed: boolean;
  /** Worst-case seconds, counted from the write, until every request sees the change. */
  readonly maxDelaySeconds: number;
}

/** A margin over the memory TTL before the second flush, for clock differences between Lambda containers. */
const SECOND_FLUSH_MARGIN_MS = 100;

/**
 * Flushes the authorizer cache after a committed change (see lambda/core/propagation.ts for why twice):
 * - at once, so most callers see the change immediately;
 * - again once the authorizer's in-memory TTL has passed since the commit: a gateway miss between the two
 *   flushes may have been answered from memory loaded before the change and cached at the gateway, and only
 *   a flush after every such memory entry has expired removes it for good.
 * If the final flush succeeded, the change is enforced everywhere within the memory TTL of the write;
 * otherwise the gateway TTL still bounds it, so the full propagation delay is reported. Never throws.
 *
 * A flush that could not finish before `deadlineMs` (a write that was slow to commit) is skipped, and the full
 * delay reported: an honest answer in time beats API Gateway's 504 for a change that did happen.
 */
export async function propagate(deps: AdminDependencies, committedAtMs: number, deadlineMs?: number): Promise<Propagation> {
  const { memoryCacheTtlSeconds, propagationDelaySeconds, protectedStages } = deps.config;
  const notFlushed: Propagation = { flushed: false, maxDelaySeconds: propagationDelaySeconds };
  if (!protectedStages?.length) return notFlushed;
  const hasTimeFor = (waitMs: number): boolean => {
    if (deadlineMs === undefined || clock(deps) + waitMs + FLUSH_TIMEOUT_MS <= deadlineMs) return true;
    deps.logger.warn('authorizer cache flush skipped: too little time left before the Lambda timeout', { waitMs, deadlineMs });
    return false;
  };
  if (!hasTimeFor(0)) return notFlushed;
  let flushed = await deps.flusher.flush();
  if (memoryCacheTtlSeconds > 0) {
    const wait = Math.max(0, committedAtMs + memoryCacheTtlSeconds * 1000 + SECOND_FLUSH_MARGIN_MS - clock(deps));
    if (!hasTimeFor(wait)) return notFlushed;
    if (wait > 0) await sleep(deps, wait);
    flushed = await deps.flusher.flush();
  }
  return flushed ? { flushed: true, maxDelaySeconds: memoryCacheTtlSeconds } : notFlushed;
}
