/*
 * The packed tarball, as `npm pack` writes it from the dist/ and assets/ that `npm run build` (the prepare script,
 * hence `npm ci`) leaves, and the way the projects that install it (examples/consumer, integ/) are run: in a child
 * process with an environment that owes nothing to the repository. Shared by the install test, the consumer
 * example's test and the integration test's snapshot check.
 */
import { execFileSync, spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Packs the repository into `destination` (without re-running the build) and returns the tarball's path. */
export function packTarball(destination: string): string {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'lib', 'index.js'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm ci runs it through the prepare script)');
  }
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return path.join(destination, (JSON.parse(out) as { filename: string }[])[0].filename);
}

/**
 * Checks that a project's package.json takes the tarball from where it was packed (`file:<relative path>`), as the
 * project's README tells a reader to do, and names the file npm pack really wrote.
 */
export function expectTarballDependency(project: string, tarball: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const expected = `file:${path.relative(project, tarball).split(path.sep).join('/')}`;
  if (manifest.dependencies['cdk-ip-allowlist'] !== expected) {
    throw new Error(`${project}/package.json must depend on "cdk-ip-allowlist": "${expected}" (npm pack's file name)`);
  }
}

/**
 * An environment for a project that installs the tarball: none of the npm_* variables of the `npm test` running
 * this, no NODE_PATH or NODE_OPTIONS, and no node_modules/.bin of the repository (where esbuild is) on PATH.
 * `extraPath` directories come first on PATH.
 */
export function isolatedEnv(extraPath: string[] = []): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_PATH' && k !== 'NODE_OPTIONS'),
  );
  env.PATH = [
    ...extraPath,
    ...(process.env.PATH ?? '').split(path.delimiter).filter((p) => p && !p.includes('node_modules')),
  ].join(path.delimiter);
  env.CDK_DISABLE_CLI_TELEMETRY = 'true';
  env.CI = 'true';
  return env;
}

/** Runs a command in `cwd` and returns what it did, whatever its exit code. */
export function runIn(
  cwd: string,
  env: NodeJS.ProcessEnv,
  command: string,
  args: string[],
  timeoutMs = 240_000,
): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
}

/** Runs a command in `cwd`; returns its output, or throws with it. */
export function runOrThrow(
  cwd: string,
  env: NodeJS.ProcessEnv,
  command: string,
  args: string[],
  timeoutMs?: number,
): string {
  const result = runIn(cwd, env, command, args, timeoutMs);
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` exited ${result.status ?? result.signal}:\n${output.slice(-4000)}`,
    );
  }
  return output;
}
