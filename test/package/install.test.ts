/*
 * The packed tarball, installed the way npm lays it out (node_modules/cdk-ip-allowlist) into a project that has
 * nothing but aws-cdk-lib and constructs: the package loads, its sub-path loads, a stack synthesizes from the
 * pre-bundled assets (no esbuild, no Docker) and the CLI runs. Everything runs in a child `node` whose module
 * resolution starts in that project, so a dependency the tarball forgot cannot be found in the repository.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { packTarball, REPO_ROOT } from './pack';

const root = REPO_ROOT;
let project: string;

beforeAll(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ip-allowlist-consumer-'));
  const tarball = packTarball(project);
  const target = path.join(project, 'node_modules', 'cdk-ip-allowlist');
  fs.mkdirSync(target, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
  // The consumer's own peer dependencies: the repository's copies, linked in.
  for (const peer of ['aws-cdk-lib', 'constructs']) {
    fs.symlinkSync(path.join(root, 'node_modules', peer), path.join(project, 'node_modules', peer), 'dir');
  }
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
});

afterAll(() => {
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

function runNode(script: string): string {
  return execFileSync(process.execPath, ['-e', script], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: '', CDK_DISABLE_CLI_TELEMETRY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('the package root and cdk-ip-allowlist/core load with only the peer dependencies installed', () => {
  const out = runNode(`
    const lib = require('cdk-ip-allowlist');
    const core = require('cdk-ip-allowlist/core');
    console.log(JSON.stringify({
      constructs: Object.keys(lib).sort(),
      normalized: core.normalizeAllowlistEntry('10.1.2.3'),
      resolvedFrom: require.resolve('cdk-ip-allowlist'),
    }));
  `);
  const result = JSON.parse(out);

  expect(result.constructs).toEqual(
    expect.arrayContaining(['AllowlistTables', 'IpAllowlistAuthorizer', 'IpAllowlistedApi', 'Upstream']),
  );
  expect(result.normalized).toBe('10.1.2.3/32');
  expect(result.resolvedFrom).toBe(
    fs.realpathSync(path.join(project, 'node_modules', 'cdk-ip-allowlist', 'dist', 'lib', 'index.js')),
  );
});

test('a stack using IpAllowlistedApi synthesizes from the shipped Lambda bundles', () => {
  const out = runNode(`
    const { App, Stack } = require('aws-cdk-lib');
    const { IpAllowlistedApi, Upstream } = require('cdk-ip-allowlist');
    const app = new App({ outdir: require('node:fs').mkdtempSync(require('node:path').join(process.cwd(), 'cdk.out-')) });
    const stack = new Stack(app, 'Consumer');
    new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://example.com') });
    const assembly = app.synth();
    const template = assembly.getStackByName('Consumer').template;
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    const assetDirs = require('node:fs').readdirSync(assembly.directory).filter((d) => d.startsWith('asset.'));
    console.log(JSON.stringify({ functions: functions.length, assetFiles: assetDirs.map((d) => require('node:fs').readdirSync(require('node:path').join(assembly.directory, d))) }));
  `);
  const result = JSON.parse(out);

  // The authorizer and the admin API.
  expect(result.functions).toBe(2);
  expect(result.assetFiles).toEqual([['index.js'], ['index.js']]);
});

test('the CLI runs from the installed package (dist/cli/index.js, its dependencies bundled in)', () => {
  const bin = path.join(project, 'node_modules', 'cdk-ip-allowlist', 'cli', 'cdk-ip-allowlist.js');
  const help = execFileSync(process.execPath, [bin, '--help'], { cwd: project, encoding: 'utf8' });

  expect(help).toMatch(/^Usage: cdk-ip-allowlist <command>/);
  expect(fs.existsSync(path.join(path.dirname(bin), 'main.ts'))).toBe(false);
});

// What TypeScript resolves each import to, under the module resolutions a consumer's tsconfig may use (a full
// type-check of a consumer against aws-cdk-lib's typings would cost tens of seconds per mode for the same answer).
// node10 ignores package.json "exports": typesVersions maps the sub-path for it.
test.each([
  ['node10', ts.ModuleResolutionKind.Node10, ts.ModuleKind.CommonJS],
  ['node16', ts.ModuleResolutionKind.Node16, ts.ModuleKind.Node16],
  ['bundler', ts.ModuleResolutionKind.Bundler, ts.ModuleKind.ESNext],
])(
  'TypeScript finds the declarations of the package root and cdk-ip-allowlist/core (moduleResolution %s)',
  (_name, moduleResolution, module) => {
    const containingFile = path.join(project, 'app.ts');
    const resolve = (specifier: string) =>
      ts.resolveModuleName(specifier, containingFile, { moduleResolution, module }, ts.sys).resolvedModule
        ?.resolvedFileName;
    const installed = path.join(project, 'node_modules', 'cdk-ip-allowlist');

    expect(resolve('cdk-ip-allowlist')).toBe(path.join(installed, 'dist', 'lib', 'index.d.ts'));
    expect(resolve('cdk-ip-allowlist/core')).toBe(path.join(installed, 'dist', 'lib', 'core.d.ts'));
  },
);
