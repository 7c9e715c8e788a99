/*
 * The packed tarball, as `npm pack` writes it from the dist/ and assets/ that `npm run build` (the prepare script,
 * hence `npm ci`) leaves. Shared by the install test and the consumer example's test.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Packs the repository into `destination` (without re-running the build) and returns the tarball's path. */
export function packTarball(destination: string): string {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'lib', 'index.js'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm ci runs it through the prepare script)');
  }
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return path.join(destination, (JSON.parse(out) as { filename: string }[])[0].filename);
}
