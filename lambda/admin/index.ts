import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { AdminStore, createAdminDynamoDbClient } from '../adapters/admin-store';
import { createApiGatewayClient, createStageCacheFlusher } from '../adapters/stage-cache';
import { createAdminHandler } from './app';
import { loadAdminConfig } from './config';

/**
 * The admin Lambda: built once per container from the environment the construct sets (a bad configuration
 * fails here, naming the variable), then every invocation runs the shared handler.
 */

const logger = new Logger({ serviceName: 'ip-allowlist-admin' });
const config = loadAdminConfig(process.env);
const dynamodb = createAdminDynamoDbClient();

const run = createAdminHandler({
  store: new AdminStore(dynamodb, config.tables, logger),
  flusher: createStageCacheFlusher(createApiGatewayClient(), config.protectedStage, logger),
  config,
  logger,
});

export async function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  return run(event, context);
}
