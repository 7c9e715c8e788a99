/*
 * integ/, the integration test for an AWS account (docs/deploy.md), checked without one: integ-runner in its
 * snapshot mode synthesizes integ/test/integ.ip-allowlist.ts against the packed library and aws-cdk-lib 2.245.0 (the
 * lowest version the peer range admits, and the newest whose cloud assembly integ-runner 2.197.10 reads), and
 * compares the result with the committed snapshot.
 *
 * The project runs in a copy under node_modules/.cache (never in integ/ itself, which this test may not write):
 * what is committed in integ/, the tarball npm pack writes next to it (integ/package.json takes
 * `file:../cdk-ip-allowlist-<version>.tgz`), and integ's own node_modules, kept between runs so that only the
 * tarball is installed again (`npm ci` empties node_modules/, so CI always installs from scratch).
 *
 * After a change to the constructs' templates, update the snapshot (see docs/deploy.md, "Integration tests"):
 * `npm pack` in the repository root, then in integ/ `rm -rf node_modules/cdk-ip-allowlist && npm install && npx
 * integ-runner --language typescript --update-on-failed --dry-run`, and review the snapshot's diff before committing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectTarballDependency, isolatedEnv, packTarball, REPO_ROOT, runIn, runOrThrow } from '../package/pack';

const INTEG = path.join(REPO_ROOT, 'integ');
const WORK = path.join(REPO_ROOT, 'node_modules', '.cache', 'cdk-ip-allowlist-integ');
const PROJECT = path.join(WORK, 'integ');
const SNAPSHOT = path.join('test', 'integ.ip-allowlist.ts.snapshot');
// npm install (from npm's cache), tsc and two integ-runner runs (each a synth in a child process): 10-40 s each.
jest.setTimeout(240_000);

const env = isolatedEnv();

function run(command: string, args: string[]): string {
  return runOrThrow(PROJECT, env, command, args);
}

interface Manifest {
  readonly version: string;
  readonly dependencies: Record<string, string>;
  readonly peerDependencies: Record<string, string>;
}

interface Template {
  readonly Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

function readJson<T = Manifest>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** What the committed files are: integ-runner's work directories and the snapshot's asset copies are not. */
function committed(src: string): boolean {
  return !/[\\/](node_modules|cdk-integ\.out\.[^\\/]*|asset\.[^\\/]*)$/.test(src);
}

beforeAll(() => {
  fs.mkdirSync(PROJECT, { recursive: true });
  for (const entry of fs.readdirSync(PROJECT)) {
    if (entry !== 'node_modules') fs.rmSync(path.join(PROJECT, entry), { recursive: true, force: true });
  }
  for (const old of fs.readdirSync(WORK).filter((f) => f.endsWith('.tgz'))) fs.rmSync(path.join(WORK, old));
  fs.cpSync(INTEG, PROJECT, { recursive: true, filter: committed });

  const tarball = packTarball(WORK);
  expectTarballDependency(PROJECT, tarball);
  // Without a lockfile npm would keep a cached install of an older tarball of the same version.
  fs.rmSync(path.join(PROJECT, 'node_modules', 'cdk-ip-allowlist'), { recursive: true, force: true });
  run('npm', ['install', '--no-audit', '--no-fund']);
}, 300_000);

test('integ/ installs the packed library with aws-cdk-lib 2.245.0, the lower bound of its peer range', () => {
  const manifest = readJson(path.join(REPO_ROOT, 'package.json'));
  const integManifest = readJson(path.join(INTEG, 'package.json'));
  const installed = (name: string) => readJson(path.join(PROJECT, 'node_modules', name, 'package.json'));

  expect(integManifest.dependencies['aws-cdk-lib']).toBe('2.245.0');
  expect(manifest.peerDependencies['aws-cdk-lib']).toBe(`^${integManifest.dependencies['aws-cdk-lib']}`);
  expect(installed('aws-cdk-lib').version).toBe('2.245.0');
  expect(installed('@aws-cdk/integ-tests-alpha').version).toBe('2.245.0-alpha.0');
  expect(installed('@aws-cdk/integ-runner').version).toBe('2.197.10');
  // Unpacked from the tarball (no lib/ sources), and with the peer range the repository declares.
  expect(fs.lstatSync(path.join(PROJECT, 'node_modules', 'cdk-ip-allowlist')).isDirectory()).toBe(true);
  expect(fs.existsSync(path.join(PROJECT, 'node_modules', 'cdk-ip-allowlist', 'lib'))).toBe(false);
  expect(installed('cdk-ip-allowlist').peerDependencies).toEqual(manifest.peerDependencies);
});

test('`npm run build` type-checks the integration test against aws-cdk-lib 2.245.0 and the installed declarations', () => {
  run('npm', ['run', 'build']);
});

test('integ-runner (snapshot mode, no AWS account) synthesizes the test and finds it UNCHANGED', () => {
  const output = run('npx', ['integ-runner', '--language', 'typescript']);

  expect(output).toMatch(/UNCHANGED\s+integ\.ip-allowlist\b/);
  expect(output).toMatch(/Tests:\s+1 passed, 1 total/);
});

test('a synthesized template that differs from the committed snapshot fails integ-runner', () => {
  // The snapshot as a library change would leave it: one property of the protected API different.
  const file = path.join(PROJECT, SNAPSHOT, 'CdkIpAllowlistInteg.template.json');
  const template = readJson<Template>(file);
  const api = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::ApiGateway::RestApi' && !/admin/i.test(JSON.stringify(r.Properties.Name)),
  );
  api!.Properties.Description = 'not what the library synthesizes';
  fs.writeFileSync(file, JSON.stringify(template, null, 1));

  const result = runIn(PROJECT, env, 'npx', ['integ-runner', '--language', 'typescript']);
  const output = `${result.stdout}${result.stderr}`;

  expect(result.status).not.toBe(0);
  expect(output).toMatch(/CHANGED\s+integ\.ip-allowlist\b/);
  expect(output).toMatch(/Tests:\s+1 failed, 1 total/);
});
