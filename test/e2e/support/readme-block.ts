import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_PROJECT_ROOT } from '../../../local/local-mode';
import { BIN } from '../../support/cli-bin';

/*
 * A README walkthrough run as written: its ```bash block executed by bash, line for line, against a running
 * local mode. Three things are substituted, and only these: the protected API's URL (the README shows `npm start`'s
 * default port; a test uses a free one); `npx`, whose `cdk-ip-allowlist` is this checkout's bin (in a checkout
 * `npx cdk-ip-allowlist` first builds the package, a minute per run; the bin it then runs is this same file); and
 * where the CLI finds the local mode: the test's data directory (CDK_IP_ALLOWLIST_DATA_DIR) instead of the
 * checkout's `.local/`, which a developer's own `npm start` may be using.
 */

const execFileAsync = promisify(execFile);

/** The README's default protected API URL (what `npm start` prints). */
export const README_API_URL = 'http://127.0.0.1:8080';

/** One command line of the block: what it printed (stdout and stderr, interleaved) and its exit status. */
export interface BlockCommand {
  readonly line: string;
  readonly output: string;
  readonly exitCode: number;
}

/** The commands under each numbered comment (`# 3. ...`); those under no number or an unnumbered comment are under 0. */
export type BlockSteps = ReadonlyMap<number, readonly BlockCommand[]>;

/** The first ```bash block after the heading that `heading` matches. */
export function readmeBlock(heading: RegExp, file = path.join(DEFAULT_PROJECT_ROOT, 'README.md')): string {
  const text = fs.readFileSync(file, 'utf8');
  const at = text.search(heading);
  if (at < 0) throw new Error(`no heading matching ${String(heading)} in ${file}`);
  const block = /```bash\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error(`no bash block after ${String(heading)} in ${file}`);
  return block[1];
}

/**
 * Runs the block with bash: every command line as written, followed by a marker with its exit status, so each
 * command's output and status can be asserted. A command that fails does not stop the block (bash's default, as in
 * a terminal): the test asserts each status.
 */
export async function runReadmeBlock(
  block: string,
  where: { readonly apiUrl: string; readonly dataDir: string },
): Promise<BlockSteps> {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-bin-'));
  try {
    fs.writeFileSync(
      path.join(bin, 'npx'),
      [
        '#!/usr/bin/env bash',
        'if [ "$1" != cdk-ip-allowlist ]; then echo "the README may only npx cdk-ip-allowlist, got: $*" >&2; exit 127; fi',
        'shift',
        `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const lines = block.split('\n');
    const script: string[] = ['exec 2>&1'];
    const commands: { line: string; step: number }[] = [];
    let step = 0;
    let previousWasComment = false;
    for (const line of lines) {
      const comment = line.trimStart().startsWith('#');
      // A comment continued on the next line keeps its step; a new unnumbered one starts step 0.
      if (comment && !previousWasComment) {
        const numbered = /^#\s*(\d+)\./.exec(line);
        step = numbered ? Number(numbered[1]) : 0;
      }
      previousWasComment = comment;
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
      const index = commands.length;
      commands.push({ line, step });
      script.push(`echo "@@CMD ${index}"`, line.split(README_API_URL).join(where.apiUrl), `echo "@@RC ${index} $?"`);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    delete env.CDK_IP_ALLOWLIST_ENDPOINT;
    env.CDK_IP_ALLOWLIST_DATA_DIR = where.dataDir;
    const { stdout } = await execFileAsync('bash', ['-c', script.join('\n')], {
      cwd: DEFAULT_PROJECT_ROOT,
      env,
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const steps = new Map<number, BlockCommand[]>();
    for (const [index, { line, step }] of commands.entries()) {
      const found = new RegExp(`@@CMD ${index}\\n([\\s\\S]*?)@@RC ${index} (\\d+)\\n`).exec(stdout);
      if (!found) throw new Error(`no output recorded for ${line}:\n${stdout}`);
      const list = steps.get(step) ?? [];
      list.push({ line, output: found[1], exitCode: Number(found[2]) });
      steps.set(step, list);
    }
    return steps;
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
}
