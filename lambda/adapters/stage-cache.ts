import { APIGatewayClient, FlushStageAuthorizersCacheCommand } from '@aws-sdk/client-api-gateway';

/**
 * Flushes API Gateway's authorizer result cache of the protected stages, so an allowlist change applies in
 * seconds instead of after the cache TTL. Best effort by design: the change is already committed when this
 * runs, and the TTL still bounds the delay if the flush fails, so a failure is reported (false), never thrown.
 */

export interface StageTarget {
  readonly restApiId: string;
  readonly stageName: string;
}

export interface StageCacheFlusher {
  /**
   * Flushes every stage at once. True if API Gateway acknowledged the flush of each; false if any failed (that
   * stage's change then waits for the TTL) or there is no stage to flush.
   */
  flush(): Promise<boolean>;
}

export interface FlushLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

/**
 * The most one flush may take, every SDK attempt included. Past it the flush is abandoned and reported as failed:
 * the write it follows is already committed, and its response must reach the caller before API Gateway's
 * integration timeout. A hard abort, because the SDK's own `requestTimeout` only warns in recent versions.
 */
export const FLUSH_TIMEOUT_MS = 3000;

/** A flusher for a deployment without protected stages (nothing is cached anywhere, so nothing to flush). */
export const NO_STAGE_FLUSHER: StageCacheFlusher = { flush: () => Promise.resolve(false) };

export function createStageCacheFlusher(
  client: APIGatewayClient,
  targets: readonly StageTarget[],
  logger: FlushLogger,
  timeoutMs: number = FLUSH_TIMEOUT_MS,
): StageCacheFlusher {
  if (targets.length === 0) return NO_STAGE_FLUSHER;
  const flushOne = async (target: StageTarget): Promise<boolean> => {
    try {
      await client.send(
        new FlushStageAuthorizersCacheCommand({ restApiId: target.restApiId, stageName: target.stageName }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      return true;
    } catch (err) {
      logger.warn('authorizer cache flush failed; the change applies within the propagation delay', {
        restApiId: target.restApiId,
        stageName: target.stageName,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      return false;
    }
  };
  return {
    async flush(): Promise<boolean> {
      // In parallel: each flush is bounded by timeoutMs, and so is the whole.
      const results = await Promise.all(targets.map(flushOne));
      return results.every(Boolean);
    },
  };
}

/**
 * The client, created once per container. The endpoint can be redirected the standard SDK way
 * (`AWS_ENDPOINT_URL_API_GATEWAY`), which is how local mode points it at its emulated gateway. The timeouts are
 * short because a write response waits for the flush, and a slow flush is worth less than a prompt answer.
 */
export function createApiGatewayClient(): APIGatewayClient {
  return new APIGatewayClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 1500, throwOnRequestTimeout: true },
  });
}
