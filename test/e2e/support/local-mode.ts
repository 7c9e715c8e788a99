import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalModeOptions, RunningLocalMode, startLocalMode } from '../../../local/local-mode';
import { testEndpoint, uniquePrefix } from '../../support/dynamodb-local';

/**
 * Local mode for an e2e test file: the real example app synthesized in-process into a temp folder, on free
 * ports, its tables in the run's shared DynamoDB Local under a unique prefix.
 */
export interface E2eLocalMode {
  readonly local: RunningLocalMode;
  /** Its data directory: where `state.json` is, with `writeState: true` (the CLI's `--data-dir`). */
  readonly stateDir: string;
  readonly lambdaLines: string[];
  stop(): Promise<void>;
}

export async function startE2eLocalMode(label: string, options: Partial<LocalModeOptions> = {}): Promise<E2eLocalMode> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`));
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
    stateDir,
    lambdaLines,
    async stop() {
      await local.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
