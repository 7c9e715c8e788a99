import type { AdminStore, AuditEvent } from '../adapters/admin-store';
import type { TrafficReader } from '../adapters/traffic-store';
import type { StageCacheFlusher } from '../adapters/stage-cache';
import type { AdminConfig } from './config';
import type { AdminMetrics } from './metrics';
import type { OperationInput, OperationName } from './contract/routes';
import type { PathParams, RouteDefinition } from './routes';

/** What the handlers are given: the store, the flusher and the configuration, injected so tests use real ones. */
export interface AdminDependencies {
  readonly store: AdminStore;
  /** The Traffic table's reader; undefined when the deployment records no traffic. */
  readonly traffic?: TrafficReader;
  readonly flusher: StageCacheFlusher;
  readonly config: Pick<
    AdminConfig,
    'maxEntries' | 'propagationDelaySeconds' | 'memoryCacheTtlSeconds' | 'maxDecisionAgeSeconds'
  > & {
    /** @default - 30 days (DEFAULT_TRAFFIC_RETENTION_DAYS) */
    readonly trafficRetentionSeconds?: AdminConfig['trafficRetentionSeconds'];
    readonly protectedStages?: AdminConfig['protectedStages'];
    /** The most sightings one traffic read returns (preview, lockout guard). @default DEFAULT_MAX_SCOPE_ITEMS */
    readonly trafficReadMaxItems?: number;
    /** @default - the split of `propagationDelaySeconds` (`splitPropagationDelay` in lib/contract.ts) */
    readonly gatewayTtlSeconds?: AdminConfig['gatewayTtlSeconds'];
  };
  readonly logger: AdminLogger;
  /** Counts successful writes and server errors. Defaults to none. */
  readonly metrics?: AdminMetrics;
  /** Defaults to the system clock. */
  readonly now?: () => number;
  /** Defaults to setTimeout. Waits between write retries and before the last flush. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface AdminLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** One checked request, as the handlers see it. */
export interface AdminRequest<K extends OperationName = OperationName> {
  readonly route: RouteDefinition;
  readonly params: PathParams;
  /** Query and body as the operation's schemas output them. */
  readonly input: OperationInput<K>;
  /** The version from If-Match, if the caller sent one. */
  readonly ifMatch?: number;
  /** IAM ARN of the caller. */
  readonly actor: string;
  /** `requestContext.identity.sourceIp`: the address API Gateway saw the caller connect from. */
  readonly sourceIp?: string;
  readonly requestId?: string;
  /**
   * When the response must be on its way (epoch ms, on the deps clock): a write skips a cache flush that could not
   * finish by then and reports the full propagation delay instead. Undefined: no limit.
   */
  readonly deadlineMs?: number;
}

export interface AdminResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a write says about its change; the rest of the audit record comes from the request (see audit.ts). */
export type AuditDraft = Omit<AuditEvent, 'eventId' | 'at' | 'actor' | 'requestId'>;
