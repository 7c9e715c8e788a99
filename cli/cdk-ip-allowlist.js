#!/usr/bin/env node
/*
 * The `cdk-ip-allowlist` command (package.json "bin").
 * - In the published package it runs dist/cli/index.js: the CLI bundled by the build (scripts/build.js) with
 *   its own dependencies, so installing the package installs nothing else.
 * - In a checkout of the repository (cli/main.ts is next to this file) it runs the TypeScript source through
 *   ts-node, transpile-only: no build step, and never a stale dist/.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, 'main.ts');
let cli;
if (fs.existsSync(source)) {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.json') });
  cli = require(source);
} else {
  cli = require(path.join(__dirname, '..', 'dist', 'cli', 'index.js'));
}

cli.runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
