import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Files local mode keeps under `.local/`:
 * - `state.json` while it runs: its pid and URLs, so the CLI finds the local admin API without flags and a
 *   second `npm start` on the same data refuses to start;
 * - `demo.json`: the seeded demo key, so a restart prints the same working curl commands (mode 0600: it is a
 *   secret, even if only a local one).
 */

export const DEFAULT_PORT = 8080;
export const DEFAULT_ADMIN_PORT = 8081;

export interface LocalState {
  readonly pid: number;
  readonly url: string;
  readonly adminUrl?: string;
  readonly dynamoDbEndpoint: string;
  readonly startedAt: string;
}

export interface DemoSeed {
  readonly organizationId: string;
  readonly projectId: string;
  readonly keyId: string;
  readonly key: string;
  /** The entry the demo organization's allowlist was seeded with. */
  readonly allowedIp: string;
}

export function stateFile(stateDir: string): string {
  return path.join(stateDir, 'state.json');
}

export function demoFile(stateDir: string): string {
  return path.join(stateDir, 'demo.json');
}

export function writeJson(file: string, value: unknown, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  fs.renameSync(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state of a local mode that is running now, if any (a file left by a killed run is ignored). */
export function runningLocalState(stateDir: string): LocalState | undefined {
  const state = readJson<LocalState>(stateFile(stateDir));
  return state && typeof state.pid === 'number' && isAlive(state.pid) ? state : undefined;
}

/** The `.local` folder of the project that contains `dir` (the nearest ancestor with a package.json). */
export function findStateDir(dir: string = process.cwd()): string | undefined {
  for (let cur = path.resolve(dir); ; cur = path.dirname(cur)) {
    if (fs.existsSync(path.join(cur, 'package.json'))) return path.join(cur, '.local');
    if (path.dirname(cur) === cur) return undefined;
  }
}
