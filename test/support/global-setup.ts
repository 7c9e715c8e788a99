import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDynamoDbLocal } from './dynamodb-local';

/**
 * Starts one DynamoDB Local for the whole run (each test file makes its own uniquely named tables in it) and
 * bundles the Lambda assets that the constructs deploy. Workers inherit the endpoint through the environment.
 *
 * Every temporary folder of the run (CDK apps without an outdir synthesize into a fresh `os.tmpdir()` folder
 * that nobody removes) goes under one run folder, which the teardown deletes: no test can leak temp dirs.
 */
export default async function globalSetup(): Promise<void> {
  const runTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ip-allowlist-test-'));
  process.env.TMPDIR = runTmp;
  (globalThis as Record<string, unknown>).__RUN_TMP__ = runTmp;

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { bundle } = require('../../scripts/bundle.js');
  const [ddb] = await Promise.all([startDynamoDbLocal(), bundle({ quiet: true })]);
  process.env.CDK_IP_ALLOWLIST_TEST_DYNAMODB = ddb.endpoint;
  (globalThis as Record<string, unknown>).__DYNAMODB_LOCAL__ = ddb;
  // If jest dies without running teardown, do not leave java behind.
  process.once('exit', () => {
    try {
      if (ddb.pid !== undefined) process.kill(ddb.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
}
