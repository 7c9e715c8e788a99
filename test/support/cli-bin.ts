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
  return runBinIn(args, { cwd: DEFAULT_PROJECT_ROOT, env: { CDK_IP_ALLOWLIST_ENDPOINT: adminUrl } });
}

/**
 * The bin from `cwd`, with `env` on top of this process's environment minus the variables that say which
 * instance to call: the test gives those it means.
 */
export async function runBinIn(
  args: readonly string[],
  where: { readonly cwd: string; readonly env?: Readonly<Record<string, string>> },
): Promise<CliRun> {
  const inherited = { ...process.env };
  delete inherited.CDK_IP_ALLOWLIST_ENDPOINT;
  delete inherited.CDK_IP_ALLOWLIST_DATA_DIR;
  const options = { cwd: where.cwd, env: { ...inherited, ...where.env }, timeout: 120_000 };
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], options);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as ExecFileException & { stdout: string; stderr: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}
