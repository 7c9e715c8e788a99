/*
 * examples/consumer, run as a consumer runs it: a copy of it in a temp dir, next to the packed tarball exactly where
 * its package.json expects it (`file:../../cdk-ip-allowlist-<version>.tgz`), its dependencies installed by
 * `npm install` from the registry, then its README's commands: `npm run build` (tsc), `npx cdk synth` (cdk-nag 3
 * AwsSolutions registered: any finding fails it) and its own jest with --ci (its committed snapshot; a missing one
 * fails). esbuild is not installed, and `docker` and `esbuild` on its PATH are tripwires that record any call. npm's
 * cache, HOME (the CDK CLI's ~/.cdk) and jest's cache are all inside the temp dir, removed afterwards.
 *
 * After a change to the constructs' templates, update the example's snapshot: `npm pack` in the repository root,
 * then in examples/consumer `npm install && npx jest -u` (see examples/consumer/README.md).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectTarballDependency, isolatedEnv, packTarball, REPO_ROOT, runOrThrow } from '../package/pack';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'consumer');
// Each step runs a real tool in a child process (tsc, the CDK CLI, jest); on a quiet machine each takes 5-30 s.
jest.setTimeout(240_000);

let temp: string;
let project: string;
let tripwires: string;
let env: NodeJS.ProcessEnv;

/** Runs a command in the example's copy; returns its output, or throws with it. */
function run(command: string, args: string[]): string {
  return runOrThrow(project, env, command, args);
}

beforeAll(() => {
  temp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ip-allowlist-example-'));
  project = path.join(temp, 'examples', 'consumer');
  // What is committed, not what a developer's own `npm install` left in examples/consumer.
  fs.cpSync(EXAMPLE, project, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|cdk\.out)$/.test(src) && !src.endsWith('.tgz'),
  });
  const tarball = packTarball(temp);

  tripwires = path.join(temp, 'tripwires');
  const bin = path.join(temp, 'bin');
  fs.mkdirSync(bin);
  for (const tool of ['docker', 'esbuild']) {
    fs.writeFileSync(
      path.join(bin, tool),
      `#!/bin/sh\necho "${tool} $*" >> '${tripwires}'\necho '${tool} is not available to this consumer' >&2\nexit 1\n`,
      { mode: 0o755 },
    );
  }
  fs.mkdirSync(path.join(temp, 'home'));
  env = isolatedEnv([bin]);
  env.HOME = path.join(temp, 'home');
  env.npm_config_cache = path.join(temp, 'npm-cache');
  env.CDK_DOCKER = path.join(bin, 'docker');

  expectTarballDependency(project, tarball);
  run('npm', ['install', '--no-audit', '--no-fund']);
}, 300_000);

afterAll(() => {
  if (temp) fs.rmSync(temp, { recursive: true, force: true });
});

// That the tarball holds no examples/ file is pinned with the rest of its file list in test/package/package.test.ts.
test('examples/ is neither compiled nor tested by the repository itself', () => {
  const rootJest = jest.requireActual<{ roots: string[] }>(path.join(REPO_ROOT, 'jest.config.js'));
  const tsconfig = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tsconfig.json'), 'utf8'));

  expect(rootJest.roots).toEqual(['<rootDir>/test']);
  expect(tsconfig.include.filter((p: string) => p.startsWith('examples'))).toEqual([]);
  expect(tsconfig.exclude).toContain('examples');
});

test("the example's README gives the commands this test runs, and the repository's README links it", () => {
  const readme = fs.readFileSync(path.join(EXAMPLE, 'README.md'), 'utf8');
  const block = /## Run it[\s\S]*?```bash\n([\s\S]*?)```/.exec(readme)![1];
  const commands = block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);

  // `npm pack` and `cd` are what beforeAll does in the temp dir; the others are the tests below, in this order
  // (`npm test` is the example's jest, run with --ci below; cdk synth with --quiet to keep the template off stdout).
  expect(commands).toEqual([
    'npm pack',
    'cd examples/consumer',
    'npm install',
    'npm run build',
    'npx cdk synth',
    'npm test',
  ]);
  expect(readme).toContain('cdk-ip-allowlist-0.1.0.tgz');
  expect(readme).toContain(
    `cdk-ip-allowlist-${JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version}.tgz`,
  );
  expect(fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')).toContain('](examples/consumer/README.md)');
});

test('the example installs the tarball and its pinned dependencies, and no esbuild at any depth', () => {
  const installed = path.join(project, 'node_modules', 'cdk-ip-allowlist');
  const tree = JSON.parse(run('npm', ['ls', '--all', '--json']));

  // A copy unpacked from the tarball, not a link to this checkout.
  expect(fs.lstatSync(installed).isDirectory()).toBe(true);
  expect(fs.existsSync(path.join(installed, 'lib'))).toBe(false);
  expect(tree.dependencies['cdk-ip-allowlist'].resolved).toMatch(/^file:.*cdk-ip-allowlist-[\d.]+\.tgz$/);
  expect(tree.dependencies['aws-cdk-lib'].version).toBe('2.276.0');
  expect(tree.dependencies['cdk-nag'].version).toBe('3.0.2');
  expect(JSON.stringify(tree)).not.toContain('"esbuild"');
  expect(fs.existsSync(path.join(project, 'node_modules', 'esbuild'))).toBe(false);
});

test('`npm run build` type-checks the app against the installed declarations', () => {
  run('npm', ['run', 'build']);
});

test('`npx cdk synth` succeeds with cdk-nag AwsSolutions registered, from the Lambda bundles the tarball ships', () => {
  run('npx', ['cdk', 'synth', '--quiet', '--no-notices']);
  const out = path.join(project, 'cdk.out');
  const template = JSON.parse(fs.readFileSync(path.join(out, 'ConsumerExample.template.json'), 'utf8'));
  const report = JSON.parse(fs.readFileSync(path.join(out, 'validation-report.json'), 'utf8'));
  const shipped = ['admin', 'authorizer'].map((a) =>
    fs.readFileSync(path.join(project, 'node_modules', 'cdk-ip-allowlist', 'assets', a, 'index.js'), 'utf8'),
  );
  const assets = fs
    .readdirSync(out)
    .filter((d) => d.startsWith('asset.'))
    .map((d) => fs.readFileSync(path.join(out, d, 'index.js'), 'utf8'));

  expect(report.pluginReports.flatMap((r: { violations: unknown[] }) => r.violations)).toEqual([]);
  expect(
    Object.values(template.Resources as Record<string, { Type: string }>).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    ),
  ).toHaveLength(4);
  expect(assets.sort()).toEqual([...shipped].sort());
});

test("`npm test`: the example's own jest passes with --ci against its committed snapshot", () => {
  const report = path.join(temp, 'jest-report.json');
  run('npm', [
    'test',
    '--',
    '--ci',
    '--json',
    `--outputFile=${report}`,
    `--cacheDirectory=${path.join(temp, 'jest-cache')}`,
  ]);
  const result = JSON.parse(fs.readFileSync(report, 'utf8'));

  expect(fs.existsSync(path.join(EXAMPLE, 'test', '__snapshots__', 'consumer.test.ts.snap'))).toBe(true);
  expect(result.numFailedTests).toBe(0);
  expect(result.numPassedTests).toBeGreaterThanOrEqual(5);
  expect(result.snapshot).toMatchObject({ matched: 1, added: 0, unmatched: 0, filesAdded: 0 });
});

test('nothing called docker or esbuild', () => {
  expect(fs.existsSync(tripwires) ? fs.readFileSync(tripwires, 'utf8') : '').toBe('');
});
