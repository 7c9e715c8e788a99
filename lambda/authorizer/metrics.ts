import type { Metrics } from '@aws-lambda-powertools/metrics';
import { AUTHORIZER_METRIC_NAMES } from '../../lib/contract';
import type { AuthorizerMetrics, AuthorizerOutcome } from './authorizer';
import type { TrafficRecorderMetrics } from './recorder';

/**
 * Request counts as CloudWatch metrics (Powertools Metrics, embedded metric format), aggregated in memory.
 *
 * Publishing an EMF line per invocation would cost a JSON serialization and a stdout write, several times the
 * whole warm decision. So counts are summed and published as one line when an invocation already paid for I/O
 * (it read DynamoDB or failed) or when `flushIntervalMs` has passed since the last line. A container that is
 * reclaimed can lose at most that interval's warm-path counts; CloudWatch sums the lines, so the totals per
 * period are otherwise exact. No dimension has high cardinality: only Powertools' `service`, one value per
 * authorizer instance.
 */

// The namespace, the `service` variable and the names are the contract with the construct's metric methods.
export { METRICS_NAMESPACE, METRICS_SERVICE_ENV } from '../../lib/contract';

export const DEFAULT_METRICS_FLUSH_INTERVAL_MS = 10_000;

export class BatchedMetrics implements AuthorizerMetrics, TrafficRecorderMetrics {
  private readonly counts: Record<AuthorizerOutcome | 'storeReads' | 'trafficWriteErrors', number> = {
    allowed: 0,
    wouldBlock: 0,
    blocked: 0,
    invalidKey: 0,
    missingKey: 0,
    storeError: 0,
    storeReads: 0,
    trafficWriteErrors: 0,
  };
  private lastFlush = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly metrics: Metrics,
    private readonly flushIntervalMs: number = DEFAULT_METRICS_FLUSH_INTERVAL_MS,
  ) {}

  record(outcome: AuthorizerOutcome, storeReads: number, now: number): void {
    this.counts[outcome]++;
    this.counts.storeReads += storeReads;
    if (storeReads > 0 || outcome === 'storeError' || now - this.lastFlush >= this.flushIntervalMs) this.flush(now);
  }

  /** Published at once: lost sightings are only known after a flush of the Traffic table, an invocation's I/O. */
  recordTrafficWriteErrors(count: number, now: number): void {
    this.counts.trafficWriteErrors += count;
    this.flush(now);
  }

  /** Publishes the counts gathered so far as one EMF line (nothing when all are zero). */
  flush(now: number): void {
    this.lastFlush = now;
    let any = false;
    for (const name of Object.keys(this.counts) as (keyof typeof this.counts)[]) {
      const n = this.counts[name];
      if (n === 0) continue;
      this.metrics.addMetric(AUTHORIZER_METRIC_NAMES[name], 'Count', n);
      this.counts[name] = 0;
      any = true;
    }
    if (any) this.metrics.publishStoredMetrics();
  }
}
