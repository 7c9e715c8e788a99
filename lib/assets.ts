import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/*
 * The Lambda handlers ship pre-bundled in the package (scripts/bundle.js writes assets/<name>/index.js, one
 * folder per key of its HANDLERS map), so a consumer synthesizes with neither esbuild nor Docker.
 */

const PACKAGE_NAME = 'cdk-ip-allowlist';

let cachedRoot: string | undefined;

/**
 * The folder holding this package's package.json. Found by walking up from this file, so it works both from
 * lib/ (ts-node, ts-jest) and from dist/lib/ (the installed package).
 */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const name = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
      if (name === PACKAGE_NAME) return (cachedRoot = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(
        `cannot find the ${PACKAGE_NAME} package root (a package.json named ${PACKAGE_NAME}) above ${__dirname}`,
      );
    }
    dir = parent;
  }
}

/** The folder of one pre-bundled handler; throws when the bundle was never built. */
export function assetDirectory(name: string): string {
  const dir = path.join(packageRoot(), 'assets', name);
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error(
      `the Lambda bundle "${name}" is missing (${path.join(dir, 'index.js')}); run \`npm run build\` in ${packageRoot()} ` +
        'to bundle the handlers into assets/',
    );
  }
  return dir;
}

/** Lambda code of one pre-bundled handler; its entry point is `index.handler`. */
export function handlerCode(name: string): lambda.Code {
  return lambda.Code.fromAsset(assetDirectory(name));
}

export const HANDLER = 'index.handler';
