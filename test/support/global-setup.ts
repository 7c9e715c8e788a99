import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDynamoDbLocal } from './dynamodb-local';

/** Set for the processes of a run (workers, children): a nested jest run finds its parent's DynamoDB Local. */
const NESTED_RUN = 'CDK_IP_ALLOWLIST_TEST_PARENT_RUN';

/**
 * Starts one DynamoDB Local for the whole run (each test file makes its own uniquely named tables in it) and
 * bundles the Lambda assets that the constructs deploy. Workers inherit the endpoint through the environment.
 *
 * Every temporary folder of the run (CDK apps without an outdir synthesize into a fresh `os.tmpdir()` folder
 * that nobody removes) goes under one run folder, which the teardown deletes: no test can leak temp dirs.
 *
 * The output stays free of warnings nobody acts on: on Node.js 20 the AWS SDK v3 warns once per module load that its
 * 2027 releases need Node.js 22 (in every test file of every worker, and in every child process a test starts). The
 * README's prerequisites say it once; the variable set here reaches the workers and every child they spawn with
 * `process.env`. A jest run started by a test (test/support/quiet-output.test.ts) reuses its parent's DynamoDB Local
 * and bundles instead of starting its own.
 */
export default async function globalSetup(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (process.env[NESTED_RUN]) return;
  process.env[NESTED_RUN] = '1';

  const runTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ip-allowlist-test-'));
  process.env.TMPDIR = runTmp;
  (globalThis as Record<string, unknown>).__RUN_TMP__ = runTmp;

  // eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/bundle.js is the build's plain CommonJS, without type declarations
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
