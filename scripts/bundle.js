#!/usr/bin/env node
/*
 * Bundles every Lambda handler with esbuild into assets/<name>/index.js.
 * The constructs deploy these folders with Code.fromAsset, so a consumer of the published package synthesizes
 * with neither esbuild nor Docker. The AWS SDK v3 is left to the Lambda runtime (it ships with nodejs runtimes).
 */
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');

/** Left to the Lambda runtime, which ships the AWS SDK v3 with every nodejs runtime. */
const EXTERNAL = ['@aws-sdk/*', '@smithy/*'];

/** name -> entry file. The asset folder names are part of the construct's contract (lib/assets.ts). */
const HANDLERS = {
  admin: 'lambda/admin/index.ts',
  authorizer: 'lambda/authorizer/index.ts',
  echo: 'lambda/echo/index.ts',
};

/**
 * Bundles every handler. With `write: false` nothing is written (the results still carry esbuild's metafile):
 * test/package/package.test.ts reads which packages each bundle contains.
 */
async function bundle({ quiet = false, write = true } = {}) {
  const esbuild = require('esbuild');
  const results = {};
  for (const [name, entry] of Object.entries(HANDLERS)) {
    const outdir = path.join(root, 'assets', name);
    if (write) fs.mkdirSync(outdir, { recursive: true });
    const result = await esbuild.build({
      entryPoints: [path.join(root, entry)],
      outfile: path.join(outdir, 'index.js'),
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: EXTERNAL,
      legalComments: 'none',
      metafile: true,
      logLevel: 'warning',
      write,
    });
    const bytes = write ? fs.statSync(path.join(outdir, 'index.js')).size : result.outputFiles[0].contents.length;
    results[name] = { bytes, metafile: result.metafile };
    if (!quiet) console.log(`bundled ${name}: ${(bytes / 1024).toFixed(1)} KiB -> assets/${name}/index.js`);
  }
  return results;
}

module.exports = { bundle, HANDLERS, EXTERNAL };

if (require.main === module) {
  bundle({ quiet: process.argv.includes('--quiet') }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
