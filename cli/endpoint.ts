import * as path from 'node:path';
import { DEFAULT_ADMIN_PORT, findStateDir, runningLocalState } from '../local/state';
import { AdminApiError } from './admin-client';

/** Environment variables the CLI reads in place of --endpoint and --data-dir. */
export const ENV = { endpoint: 'CDK_IP_ALLOWLIST_ENDPOINT', dataDir: 'CDK_IP_ALLOWLIST_DATA_DIR' } as const;

/**
 * Which admin API to call, first match wins:
 * 1. --endpoint;
 * 2. --data-dir: the local mode running on that data directory (its state.json), else an error: a guess could
 *    change another instance's lists;
 * 3. CDK_IP_ALLOWLIST_ENDPOINT, then CDK_IP_ALLOWLIST_DATA_DIR (as 2);
 * 4. the local mode running for the project around the working directory (its `.local`);
 * 5. the default local admin port.
 */
export function resolveEndpoint(
  flag: string | undefined,
  io: { readonly env: Readonly<Record<string, string | undefined>>; readonly cwd: string },
  dataDir?: string,
): string {
  if (flag) return flag;
  if (dataDir) return localModeOn(path.resolve(io.cwd, dataDir), '--data-dir');
  if (io.env[ENV.endpoint]) return io.env[ENV.endpoint]!;
  const envDir = io.env[ENV.dataDir];
  if (envDir) return localModeOn(path.resolve(io.cwd, envDir), ENV.dataDir);
  const stateDir = findStateDir(io.cwd);
  const running = stateDir ? runningLocalState(stateDir) : undefined;
  return running?.adminUrl ?? `http://127.0.0.1:${DEFAULT_ADMIN_PORT}`;
}

function localModeOn(dir: string, source: string): string {
  const running = runningLocalState(dir);
  if (running?.adminUrl) return running.adminUrl;
  throw new AdminApiError(
    `no local mode with an admin API is running on ${dir} (from ${source}): start it with npm start -- --data-dir ${dir}`,
    undefined,
    'local_mode_not_running',
    undefined,
  );
}
