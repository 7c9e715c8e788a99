import type { DynamoDbLocal } from './dynamodb-local';

export default async function globalTeardown(): Promise<void> {
  const ddb = (globalThis as Record<string, unknown>).__DYNAMODB_LOCAL__ as DynamoDbLocal | undefined;
  await ddb?.stop();
}
