import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * npm's own range logic. It is installed through aws-cdk-lib and jest rather than as a devDependency of its own
 * (one test does not justify a package and its types in the lockfile), so the two functions used are typed here.
 */
const semver = createRequire(__filename)('semver') as {
  subset(range: string, superset: string): boolean;
  satisfies(version: string, range: string): boolean;
};

/**
 * The Node.js versions the project states agree with what its packages ask for, so that `npm ci` prints no
 * EBADENGINE warning on any Node.js the project accepts: `devEngines` (working on this repository: every package of
 * package-lock.json is installed) lies inside every locked package's `engines`, and `engines` (using the published
 * package: only its peers are installed with it) inside its peers'.
 */
const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const lockedEngines: [string, string][] = Object.entries(
  lock.packages as Record<string, { engines?: { node?: string } }>,
)
  .filter(([where, pkg]) => where !== '' && typeof pkg.engines?.node === 'string')
  .map(([where, pkg]) => [where, pkg.engines!.node!]);

test('every locked package accepts every Node.js that devEngines accepts', () => {
  const dev = manifest.devEngines.runtime;
  expect(dev).toMatchObject({ name: 'node', onFail: 'error' });

  expect(lockedEngines.length).toBeGreaterThan(100);
  expect(lockedEngines.filter(([, range]) => !semver.subset(dev.version, range))).toEqual([]);
  expect(semver.satisfies(process.version, dev.version)).toBe(true);
});

test('the peers accept every Node.js that engines accepts, and devEngines asks for no less', () => {
  const peers = Object.keys(manifest.peerDependencies as Record<string, string>).map(
    (name) =>
      JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { engines?: { node?: string } },
  );

  expect(
    peers.filter((peer) => peer.engines?.node && !semver.subset(manifest.engines.node, peer.engines.node)),
  ).toEqual([]);
  expect(semver.subset(manifest.devEngines.runtime.version, manifest.engines.node)).toBe(true);
});

test("the README's prerequisites state the Node.js versions devEngines accepts", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  // `^20.19.0 || ^22.13.0 || >=24` is written "20.19 or later on the 20 line, 22.13 or later, or 24".
  const [first, ...rest] = (manifest.devEngines.runtime.version as string).split(' || ').map((range) => {
    const [major, minor] = range.replace(/^[\^>=]+/, '').split('.');
    return { major, version: minor === undefined || /^>=/.test(range) ? major : `${major}.${minor}` };
  });
  const last = rest.pop()!;
  const words = [
    `Node.js ${first.version} or later on the ${first.major} line`,
    ...rest.map((r) => `${r.version} or later`),
    `or ${last.version}`,
  ].join(', ');

  expect(readme).toContain(words);
});
