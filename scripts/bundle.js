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

/** name -> entry file. The asset folder names are part of the construct's contract (lib/assets.ts). */
const HANDLERS = {
  admin: 'lambda/admin/index.ts',
  authorizer: 'lambda/authorizer/index.ts',
  echo: 'lambda/echo/index.ts',
};

async function bundle({ quiet = false } = {}) {
  const esbuild = require('esbuild');
  const results = {};
  for (const [name, entry] of Object.entries(HANDLERS)) {
    const outdir = path.join(root, 'assets', name);
    fs.mkdirSync(outdir, { recursive: true });
    const result = await esbuild.build({
      entryPoints: [path.join(root, entry)],
      outfile: path.join(outdir, 'index.js'),
      bundle: true,
      minify: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['@aws-sdk/*', '@smithy/*'],
      legalComments: 'none',
      metafile: true,
      logLevel: 'warning',
    });
    const bytes = fs.statSync(path.join(outdir, 'index.js')).size;
    results[name] = { bytes, metafile: result.metafile };
    if (!quiet) console.log(`bundled ${name}: ${(bytes / 1024).toFixed(1)} KiB -> assets/${name}/index.js`);
  }
  return results;
}

module.exports = { bundle, HANDLERS };

if (require.main === module) {
  bundle({ quiet: process.argv.includes('--quiet') }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
