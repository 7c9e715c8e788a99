import type { Metrics } from '@aws-lambda-powertools/metrics';
import { ADMIN_METRIC_NAMES } from '../../lib/contract';

/**
 * The admin API's CloudWatch metrics (Powertools Metrics, embedded metric format), in the authorizer's namespace
 * (`METRICS_NAMESPACE`) with the admin API's own `service` dimension. Admin requests are rare and each one already
 * pays for DynamoDB, so every counted request publishes its line at once: nothing is lost when a container goes.
 */

/** `write`: a change request answered with success. `failure`: a request answered with a server error (5xx). */
export type AdminOutcome = keyof typeof ADMIN_METRIC_NAMES;

export interface AdminMetrics {
  record(outcome: AdminOutcome): void;
}

export class PublishingAdminMetrics implements AdminMetrics {
  constructor(private readonly metrics: Metrics) {}

  record(outcome: AdminOutcome): void {
    this.metrics.addMetric(ADMIN_METRIC_NAMES[outcome], 'Count', 1);
    this.metrics.publishStoredMetrics();
  }
}
