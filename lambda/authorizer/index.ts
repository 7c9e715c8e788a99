import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { DynamoDbAuthorizerStore } from '../adapters/dynamodb-store';
import { createAuthorizer } from './authorizer';
import { loadAuthorizerConfig } from './config';
import { BatchedMetrics, METRICS_NAMESPACE, METRICS_SERVICE_ENV } from './metrics';
import { createTrafficWriterClient, dynamoDbTrafficWriter, TrafficRecorder } from './recorder';

/**
 * The Lambda entry point: wiring only. Configuration is validated and the DynamoDB client is created once per
 * container, at load time. The endpoint follows the SDK's standard configuration, so AWS_ENDPOINT_URL_DYNAMODB
 * (or AWS_ENDPOINT_URL) points it at DynamoDB Local in local mode and tests.
 */

const config = loadAuthorizerConfig(process.env);

const client = new DynamoDBClient({
  // A decision waits on this call: fail fast and let API Gateway answer 5xx rather than hang to the Lambda timeout.
  // SDK versions without `throwOnRequestTimeout` ignore it (and only warn on `requestTimeout`); the store's own
  // deadline (the decision age bound, at most DEFAULT_STORE_TIMEOUT_MS) bounds the read whichever SDK version the
  // Lambda runtime provides.
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true },
});

// The construct sets the service per authorizer instance, so that two authorizers never share a metric.
const serviceName = process.env[METRICS_SERVICE_ENV] || 'cdk-ip-allowlist-authorizer';
const logger = new Logger({ serviceName });
const metrics = new BatchedMetrics(
  new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE, serviceName }),
);

const authorizer = createAuthorizer({
  store: new DynamoDbAuthorizerStore({
    client,
    allowlistsTableName: config.allowlistsTableName,
    apiKeysTableName: config.apiKeysTableName,
    timeoutMs: config.maxDecisionAgeSeconds * 1000,
  }),
  logger,
  metrics,
  apiKeyHeader: config.apiKeyHeader,
  memoryCacheTtlSeconds: config.memoryCacheTtlSeconds,
  maxDecisionAgeSeconds: config.maxDecisionAgeSeconds,
  // Without a Traffic table (tables imported without one) nothing is recorded.
  traffic:
    config.trafficTableName === undefined
      ? undefined
      : new TrafficRecorder({
          tableName: config.trafficTableName,
          retentionSeconds: config.trafficRetentionSeconds,
          writer: dynamoDbTrafficWriter(createTrafficWriterClient()),
          logger,
          metrics,
        }),
});

export function handler(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  return authorizer.handle(event);
}

/** Empties this container's in-memory cache (tests and benchmarks start cold with it). */
export function resetMemoryCache(): void {
  authorizer.resetCache();
}
