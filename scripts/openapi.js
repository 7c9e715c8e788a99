#!/usr/bin/env node
/*
 * Writes openapi/admin-api.json from the admin API's schemas (lambda/admin/contract/openapi.ts, zod +
 * @asteasolutions/zod-to-openapi). `npm run openapi` runs it (the build does not, so CI sees a stale committed document); test/openapi/admin-api.test.ts fails when the committed
 * document is not what the schemas generate. The contract is TypeScript, so it is loaded through ts-node (a
 * devDependency, like everything the build uses).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const DOC_PATH = path.join(root, 'openapi', 'admin-api.json');

/** The document's text, as the schemas generate it. */
function generateOpenApi() {
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
  const { adminOpenApiJson } = require(path.join(root, 'lambda', 'admin', 'contract', 'openapi.ts'));
  return adminOpenApiJson();
}

function writeOpenApi({ quiet = false } = {}) {
  fs.mkdirSync(path.dirname(DOC_PATH), { recursive: true });
  fs.writeFileSync(DOC_PATH, generateOpenApi());
  if (!quiet) console.log(`generated ${path.relative(root, DOC_PATH)} from lambda/admin/contract`);
}

module.exports = { generateOpenApi, writeOpenApi, DOC_PATH };

if (require.main === module) writeOpenApi({ quiet: process.argv.includes('--quiet') });
