/*
 * What `npm pack` ships, and what installing it pulls in. The file list is npm's own (`npm pack --dry-run`), over
 * the dist/ and assets/ that `npm run build` (run by `prepare`, hence by `npm ci`) leaves.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  bundledDependencies?: string[];
  bundleDependencies?: string[];
  optionalDependencies?: Record<string, string>;
  engines: { node: string };
};

interface PackResult {
  files: { path: string; size: number }[];
  /** Bytes of the .tgz. */
  size: number;
  unpackedSize: number;
}

let packed: PackResult;

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'lib', 'index.js'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm ci runs it through the prepare script)');
  }
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  packed = (JSON.parse(out) as PackResult[])[0];
});

const paths = (): string[] => packed.files.map((f) => f.path).sort();

/** The peer dependencies, which a consumer's CDK app already has. */
const PEERS = ['aws-cdk-lib', 'constructs'];

describe('the tarball ships the library, not the workshop', () => {
  test('it contains the constructs, their types, the jsii assembly, the Lambda bundles, the CLI and the OpenAPI document', () => {
    expect(paths()).toEqual(
      expect.arrayContaining([
        '.jsii',
        'README.md',
        'package.json',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/lib/core.js',
        'dist/lib/core.d.ts',
        'assets/admin/index.js',
        'assets/authorizer/index.js',
        'cli/cdk-ip-allowlist.js',
        'dist/cli/index.js',
        'openapi/admin-api.json',
      ]),
    );
  });

  test('no emulator, example app, benchmark, test, CLI source or handler source is shipped', () => {
    const offending = paths().filter(
      (p) => /(^|\/)(local|bin|bench|test|examples|scripts)\//.test(p) || /\.ts$/.test(p.replace(/\.d\.ts$/, '')),
    );

    expect(offending).toEqual([]);
  });

  test('every file is under a shipped folder, and dist/lambda holds only the constants modules the constructs load', () => {
    const allowed = [
      /^(README\.md|package\.json|\.jsii)$/,
      /^dist\/lib\/[a-z-]+\.(js|d\.ts)$/,
      /^dist\/cli\/index\.js$/,
      /^dist\/lambda\/(core|adapters|admin|authorizer)\/[a-z-]+\.(js|d\.ts)$/,
      /^assets\/(admin|authorizer)\/index\.js$/,
      /^cli\/cdk-ip-allowlist\.js$/,
      /^openapi\/admin-api\.json$/,
    ];
    const unexpected = paths().filter((p) => !allowed.some((re) => re.test(p)));

    expect(unexpected).toEqual([]);
    // A handler entry (its index.js) in dist/ would mean handler code, with its SDK imports, ships unbundled.
    expect(paths().filter((p) => /^dist\/lambda\/.*index\.js$/.test(p))).toEqual([]);
  });

  test('the example upstream (assets/echo) is not shipped: no construct deploys it', () => {
    expect(paths().filter((p) => p.startsWith('assets/echo/'))).toEqual([]);
  });
});

describe('installing the package installs nothing else', () => {
  test('there are no runtime dependencies: only aws-cdk-lib and constructs, as peer dependencies', () => {
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.optionalDependencies ?? {}).toEqual({});
    expect(manifest.bundledDependencies ?? manifest.bundleDependencies ?? []).toEqual([]);
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(PEERS);
  });

  test('every package bundled into a Lambda asset, and the SDK left to the Lambda runtime, is a devDependency', async () => {
    const { bundle, EXTERNAL } = jest.requireActual<{
      bundle: (o: {
        quiet: boolean;
        write: boolean;
      }) => Promise<Record<string, { metafile: { inputs: Record<string, unknown> } }>>;
      EXTERNAL: string[];
    }>('../../scripts/bundle.js');
    const results = await bundle({ quiet: true, write: false });
    const bundled = new Set<string>();
    for (const { metafile } of Object.values(results)) {
      for (const input of Object.keys(metafile.inputs)) {
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
        if (m) bundled.add(m[1]);
      }
    }
    // Prepare: the SDK packages the handlers import, left external for the runtime's copy.
    for (const pkg of Object.keys(manifest.devDependencies)) {
      if (EXTERNAL.some((pattern) => pkg.startsWith(pattern.replace('*', '')))) bundled.add(pkg);
    }

    expect(bundled.size).toBeGreaterThan(3);
    for (const pkg of bundled) {
      expect({ pkg, runtime: Object.keys(manifest.dependencies ?? {}).includes(pkg) }).toEqual({ pkg, runtime: false });
    }
    // The direct ones are declared, as devDependencies (transitive ones come with them).
    for (const direct of [
      '@aws-lambda-powertools/logger',
      '@aws-lambda-powertools/metrics',
      'ipaddr.js',
      '@aws-sdk/client-dynamodb',
    ]) {
      expect(bundled.has(direct)).toBe(true);
      expect(manifest.devDependencies[direct]).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  test('every require() of a shipped file resolves to a shipped file, a Node.js builtin or a peer dependency', () => {
    const shipped = new Set(paths());
    // Named only inside the AWS SDK's error messages ("install @aws-sdk/signature-v4-crt and call require(...)"),
    // for S3 Express and multi-region signing; the CLI signs execute-api requests with plain SigV4.
    const OPTIONAL = new Set(['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a']);
    // The launcher runs the TypeScript source through ts-node only when cli/main.ts sits next to it (a checkout);
    // the tarball ships no .ts (pinned above), so there it loads dist/cli/index.js (see install.test.ts).
    const CHECKOUT_ONLY = new Set(['cli/cdk-ip-allowlist.js: ts-node']);
    const problems: string[] = [];
    for (const file of paths().filter((p) => p.endsWith('.js'))) {
      const src = fs.readFileSync(path.join(root, file), 'utf8');
      for (const m of src.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1];
        if (spec.startsWith('.')) {
          const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
          if (!shipped.has(target) && !shipped.has(`${target}.js`) && !shipped.has(`${target}/index.js`)) {
            problems.push(`${file}: ${spec} is not in the tarball`);
          }
          continue;
        }
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (spec.startsWith('node:') || builtinModules.includes(spec) || PEERS.includes(name) || OPTIONAL.has(spec))
          continue;
        if (CHECKOUT_ONLY.has(`${file}: ${spec}`)) continue;
        // Lambda bundles run on the Lambda runtime, whose nodejs runtimes ship the AWS SDK v3.
        if (file.startsWith('assets/') && (name.startsWith('@aws-sdk/') || name.startsWith('@smithy/'))) continue;
        problems.push(`${file}: requires ${spec}, which a consumer does not have`);
      }
    }

    expect(problems).toEqual([]);
  });
});

describe("the README's install footprint", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const claim =
    /`npm install` adds \*\*(\d+) package \(cdk-ip-allowlist itself\), ([\d.]+) MB unpacked\*\* \(a ([\d.]+) MB download\)/.exec(
      readme.replace(/\s+/g, ' '),
    );

  test('states one package: the tarball installs no dependency', () => {
    expect(claim).not.toBeNull();
    expect(Number(claim![1])).toBe(1);
    expect(manifest.dependencies ?? {}).toEqual({});
  });

  test('states the unpacked and download sizes npm reports for the tarball, to the 0.1 MB they are rounded to', () => {
    const MB = 1_000_000;

    // Rounded as written, with a little room so that a README edit or a small lib/ change does not flap it.
    expect(Math.abs(packed.unpackedSize / MB - Number(claim![2]))).toBeLessThanOrEqual(0.15);
    expect(Math.abs(packed.size / MB - Number(claim![3]))).toBeLessThanOrEqual(0.1);
  });

  test('states the Node.js version package.json requires', () => {
    const major = /^>=(\d+)$/.exec(manifest.engines.node)![1];

    expect(readme).toContain(`Node.js ${major} or later`);
  });
});
