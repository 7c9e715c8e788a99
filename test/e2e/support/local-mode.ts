import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_PROJECT_ROOT, LocalModeOptions, RunningLocalMode, startLocalMode } from '../../../local/local-mode';
import { testEndpoint, uniquePrefix } from '../../support/dynamodb-local';

/**
 * Local mode for an e2e test file: the real example app synthesized in-process, on free ports, its tables in
 * the run's shared DynamoDB Local under a unique prefix. The cloud assembly goes under the repository's
 * .local/ (not /tmp) because the bundled Lambdas load the AWS SDK from the repository's node_modules, as the
 * Lambda runtime provides it.
 */
export interface E2eLocalMode {
  readonly local: RunningLocalMode;
  readonly lambdaLines: string[];
  stop(): Promise<void>;
}

export async function startE2eLocalMode(label: string, options: Partial<LocalModeOptions> = {}): Promise<E2eLocalMode> {
  const stateDir = path.join(DEFAULT_PROJECT_ROOT, '.local', 'test', uniquePrefix(label));
  const lambdaLines: string[] = [];
  const local = await startLocalMode({
    stateDir,
    port: 0,
    adminPort: 0,
    dynamoDbEndpoint: testEndpoint(),
    tablePrefix: `${uniquePrefix(label)}-`,
    // The shared DynamoDB Local dies with the run: nothing to keep for a restart.
    inMemory: true,
    writeState: false,
    log: () => undefined,
    lambdaLog: (fn, line) => lambdaLines.push(`${fn}: ${line}`),
    ...options,
  });
  return {
    local,
    lambdaLines,
    async stop() {
      await local.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
