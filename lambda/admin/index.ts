import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { AdminStore, createAdminDynamoDbClient } from '../adapters/admin-store';
import { createApiGatewayClient, createStageCacheFlusher } from '../adapters/stage-cache';
import { TrafficReader } from '../adapters/traffic-store';
import { createAdminHandler } from './app';
import { METRICS_NAMESPACE, METRICS_SERVICE_ENV } from '../authorizer/metrics';
import { loadAdminConfig } from './config';
import { PublishingAdminMetrics } from './metrics';

/**
 * The admin Lambda: built once per container from the environment the construct sets (a bad configuration
 * fails here, naming the variable), then every invocation runs the shared handler.
 */

// The construct sets the service per admin API instance, so that two admin APIs never share a metric.
const serviceName = process.env[METRICS_SERVICE_ENV] || 'cdk-ip-allowlist-admin';
const logger = new Logger({ serviceName });
const metrics = new PublishingAdminMetrics(
  new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE, serviceName }),
);
const config = loadAdminConfig(process.env);
const dynamodb = createAdminDynamoDbClient();

const run = createAdminHandler({
  store: new AdminStore(dynamodb, config.tables, logger),
  traffic: config.tables.traffic === undefined ? undefined : new TrafficReader(dynamodb, config.tables.traffic),
  flusher: createStageCacheFlusher(createApiGatewayClient(), config.protectedStages, logger),
  config,
  logger,
  metrics,
});

export async function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  return run(event, context);
}
