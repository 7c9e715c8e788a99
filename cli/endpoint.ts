import * as path from 'node:path';
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT, findStateDir, LocalState, runningLocalState } from '../local/state';
import { AdminApiError } from './admin-client';

/** Environment variables the CLI reads in place of --endpoint and --data-dir. */
export const ENV = { endpoint: 'CDK_IP_ALLOWLIST_ENDPOINT', dataDir: 'CDK_IP_ALLOWLIST_DATA_DIR' } as const;

/** Which admin API to call, and the local mode it belongs to when it belongs to one. */
export interface ResolvedEndpoint {
  readonly adminUrl: string;
  /**
   * The protected API of the same local mode (its state's `url`, or the default port when no local mode was
   * found): undefined when the admin API was given as a URL that is not a running local mode's.
   */
  readonly localApiUrl?: string;
  /** Where the admin URL came from, as the user gave it (an option or an environment variable). */
  readonly source: string;
}

type Io = { readonly env: Readonly<Record<string, string | undefined>>; readonly cwd: string };

/**
 * Which admin API to call, first match wins:
 * 1. --endpoint;
 * 2. --data-dir: the local mode running on that data directory (its state.json), else an error: a guess could
 *    change another instance's lists;
 * 3. CDK_IP_ALLOWLIST_ENDPOINT, then CDK_IP_ALLOWLIST_DATA_DIR (as 2);
 * 4. the local mode running for the project around the working directory (its `.local`);
 * 5. the default local admin port.
 */
export function resolveEndpoint(flag: string | undefined, io: Io, dataDir?: string): string {
  return resolveEndpointSource(flag, io, dataDir, '--endpoint').adminUrl;
}

/**
 * resolveEndpoint, also saying which local mode the admin API belongs to, so that a command needing both APIs
 * (doctor) takes the protected one from the same instance. A URL given as such counts as a local mode's when it
 * is the admin URL of the local mode found from the data directory, else of the project's.
 */
export function resolveEndpointSource(
  flag: string | undefined,
  io: Io,
  dataDir: string | undefined,
  flagName: string,
): ResolvedEndpoint {
  const fromUrl = (adminUrl: string, source: string): ResolvedEndpoint => {
    const state = [dataDir, io.env[ENV.dataDir]]
      .filter((d): d is string => Boolean(d))
      .map((d) => runningLocalState(path.resolve(io.cwd, d)))
      .concat(projectState(io.cwd))
      .find((s) => s?.adminUrl !== undefined && sameUrl(s.adminUrl, adminUrl));
    return { adminUrl, localApiUrl: state?.url, source };
  };
  if (flag) return fromUrl(flag, flagName);
  if (dataDir) return localModeOn(path.resolve(io.cwd, dataDir), '--data-dir');
  if (io.env[ENV.endpoint]) return fromUrl(io.env[ENV.endpoint]!, ENV.endpoint);
  const envDir = io.env[ENV.dataDir];
  if (envDir) return localModeOn(path.resolve(io.cwd, envDir), ENV.dataDir);
  const running = projectState(io.cwd);
  if (running?.adminUrl) return { adminUrl: running.adminUrl, localApiUrl: running.url, source: '.local' };
  return {
    adminUrl: `http://127.0.0.1:${DEFAULT_ADMIN_PORT}`,
    localApiUrl: `http://127.0.0.1:${DEFAULT_PORT}`,
    source: 'the default local ports',
  };
}

function projectState(cwd: string): LocalState | undefined {
  const stateDir = findStateDir(cwd);
  return stateDir ? runningLocalState(stateDir) : undefined;
}

function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => {
    try {
      return new URL(u).toString().replace(/\/+$/, '');
    } catch {
      return u;
    }
  };
  return norm(a) === norm(b);
}

function localModeOn(dir: string, source: string): ResolvedEndpoint {
  const running = runningLocalState(dir);
  if (running?.adminUrl) return { adminUrl: running.adminUrl, localApiUrl: running.url, source };
  throw new AdminApiError(
    `no local mode with an admin API is running on ${dir} (from ${source}): start it with npm start -- --data-dir ${dir}`,
    undefined,
    'local_mode_not_running',
    undefined,
  );
}
