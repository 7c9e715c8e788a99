#!/usr/bin/env node
/*
 * `npm run build` (and `prepare`, so git and tarball installs get a built package): everything the published
 * package ships, from a clean dist/.
 *
 * 1. jsii compiles lib/ (tsconfig.jsii.json) into dist/ and writes the .jsii assembly; warnings are errors, so
 *    the Python, Java, .NET and Go surface stays clean.
 * 2. esbuild bundles the Lambda handlers into assets/<name>/ (scripts/bundle.js).
 * 3. esbuild bundles the two entries that need third-party code, each into one self-contained file: the CLI
 *    (dist/cli/index.js, with the AWS SDK credential chain and the SigV4 signer) and `cdk-ip-allowlist/core`
 *    (dist/lib/core.js, with ipaddr.js). So the package has no runtime dependencies at all.
 * 4. dist/ is pruned to what those entries load at run time (and the declarations their types name): the jsii
 *    compile also emits every file lib/ imports only for types, e.g. the Lambda adapters that require the AWS SDK.
 *
 * openapi/admin-api.json is NOT written here: it is committed, `npm run openapi` regenerates it from the admin API's
 * schemas, and test/openapi/admin-api.test.ts fails when it is stale. A build that rewrote it would hide a stale
 * document from that test (CI's `npm ci` runs this build before the tests).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { bundle } = require('./bundle.js');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

/** Entries that run in a consumer's process: the jsii entry, the core sub-path and the CLI. */
const ENTRIES = ['dist/lib/index.js', 'dist/lib/core.js', 'dist/cli/index.js'];

/** Runs jsii; returns its exit code. Shared with test/package/jsii.test.ts. */
function compileJsii({ stdio = 'inherit' } = {}) {
  const bin = path.join(root, 'node_modules', '.bin', 'jsii');
  // jsii asks to compile against the lowest aws-cdk-lib of the peer range (2.245.0). We compile against a newer one
  // because the cdk-nag 3 tests need aws-cdk-lib's Validations (2.257+); integ/ proves the lowest version instead:
  // it installs the packed library with aws-cdk-lib 2.245.0 and synthesizes it (test/integ/integ-snapshot.test.ts).
  const result = spawnSync(bin, ['--fail-on-warnings', '--silence-warnings=metadata/missing-dev-dependency'], {
    cwd: root,
    stdio,
    encoding: 'utf8',
    // jsii prints a screen-wide end-of-life banner on every run under Node 20; the README's prerequisites say it once.
    env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' },
  });
  if (result.error) throw result.error;
  return result;
}

async function bundleEntries() {
  const esbuild = require('esbuild');
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'warning',
    // The peer dependencies: the consumer's own copies, so constructs are instances of the consumer's classes.
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
  };
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'lib', 'core.ts')],
    outfile: path.join(dist, 'lib', 'core.js'),
  });
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'cli', 'main.ts')],
    outfile: path.join(dist, 'cli', 'index.js'),
    minify: true,
  });
}

/** Relative `require("./x")` targets of a compiled file. */
function relativeRequires(file) {
  const src = fs.readFileSync(file, 'utf8');
  const out = [];
  for (const m of src.matchAll(/require\(["'](\.{1,2}\/[^"']+)["']\)/g)) {
    let target = path.resolve(path.dirname(file), m[1]);
    if (!target.endsWith('.js')) target += '.js';
    out.push(target);
  }
  return out;
}

/** Relative imports of a declaration file (`from '../x'`, `import("../x")`). */
function relativeTypeImports(file) {
  const src = fs.readFileSync(file, 'utf8');
  const out = [];
  for (const m of src.matchAll(/(?:from\s+|import\()["'](\.{1,2}\/[^"']+)["']/g)) {
    out.push(path.resolve(path.dirname(file), m[1]).replace(/(\.d\.ts|\.js)?$/, '.d.ts'));
  }
  return out;
}

function closure(starts, edges) {
  const seen = new Set();
  const stack = [...starts];
  while (stack.length) {
    const file = stack.pop();
    if (seen.has(file) || !fs.existsSync(file)) continue;
    seen.add(file);
    stack.push(...edges(file));
  }
  return seen;
}

function prune() {
  const js = closure(
    ENTRIES.map((e) => path.join(root, e)),
    relativeRequires,
  );
  const dts = closure(
    ['dist/lib/index.d.ts', 'dist/lib/core.d.ts'].map((e) => path.join(root, e)),
    relativeTypeImports,
  );
  const keep = new Set([...js, ...dts]);
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
        if (fs.readdirSync(full).length === 0) fs.rmdirSync(full);
      } else if (!keep.has(full)) {
        fs.rmSync(full);
      }
    }
  };
  walk(dist);
}

async function build({ quiet = false } = {}) {
  fs.rmSync(dist, { recursive: true, force: true });
  fs.rmSync(path.join(root, '.jsii'), { force: true });
  const jsii = compileJsii();
  if (jsii.status !== 0) throw new Error(`jsii failed (exit ${jsii.status}): see its diagnostics above`);
  await bundle({ quiet });
  await bundleEntries();
  prune();
  if (!quiet) console.log('built dist/ (jsii), assets/ (Lambda bundles), dist/cli/index.js and dist/lib/core.js');
}

module.exports = { build, compileJsii, ENTRIES };

if (require.main === module) {
  build({ quiet: process.argv.includes('--quiet') }).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
