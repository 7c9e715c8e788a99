import * as fs from 'node:fs';
import type { DynamoDbLocal } from './dynamodb-local';

export default async function globalTeardown(): Promise<void> {
  const ddb = (globalThis as Record<string, unknown>).__DYNAMODB_LOCAL__ as DynamoDbLocal | undefined;
  await ddb?.stop();
  const runTmp = (globalThis as Record<string, unknown>).__RUN_TMP__ as string | undefined;
  if (runTmp) fs.rmSync(runTmp, { recursive: true, force: true });
}
