import { execFile, ExecFileException } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_PROJECT_ROOT } from '../../local/local-mode';

/** The `cdk-ip-allowlist` bin as a user runs it: a child process, judged by its output and exit code. */
export const BIN = path.join(DEFAULT_PROJECT_ROOT, 'cli', 'cdk-ip-allowlist.js');
const execFileAsync = promisify(execFile);

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runBin(args: readonly string[], adminUrl: string): Promise<CliRun> {
  const options = {
    cwd: DEFAULT_PROJECT_ROOT,
    env: { ...process.env, CDK_IP_ALLOWLIST_ENDPOINT: adminUrl },
    timeout: 120_000,
  };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], options);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as ExecFileException & { stdout: string; stderr: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}
