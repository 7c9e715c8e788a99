/*
 * The jsii surface: what Python, Java, .NET and Go users get. `npm run build` (run by `prepare`, hence by `npm ci`
 * in CI) compiles lib/ with `jsii --fail-on-warnings`, so a jsii error or warning already fails the install; these
 * tests check what jsii does not: that nothing exported is silently left out of the assembly, that API.md is the
 * generated reference of this assembly, and that the Python binding is generated with the expected names.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as entry from '../../lib';

const root = path.resolve(__dirname, '..', '..');
const JSII_ENV = { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20' };

interface Assembly {
  name: string;
  targets: Record<string, unknown>;
  types: Record<string, { kind: string; name: string; methods?: { name: string; static?: boolean }[] }>;
}

let assembly: Assembly;
let scratch: string;

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourcesUnder(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

beforeAll(() => {
  const file = path.join(root, '.jsii');
  if (!fs.existsSync(file)) throw new Error('no .jsii assembly: run `npm run build` (npm ci runs it through prepare)');
  const built = fs.statSync(file).mtimeMs;
  const newer = [...sourcesUnder(path.join(root, 'lib')), path.join(root, 'package.json')].filter(
    (f) => fs.statSync(f).mtimeMs > built,
  );
  if (newer.length > 0) {
    throw new Error(`the .jsii assembly is older than ${path.relative(root, newer[0])}: run \`npm run build\``);
  }
  assembly = JSON.parse(fs.readFileSync(file, 'utf8')) as Assembly;
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ip-allowlist-jsii-'));
});

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

// jsii leaves exported functions and constants out of the assembly without a word: Python, Java, .NET and Go
// users would simply not have them. Every value the package root exports must be a class or an enum of the assembly.
test('every value the package root exports is a class or enum of the assembly, and the reverse', () => {
  const exported = Object.keys(entry).sort();
  const classesAndEnums = Object.values(assembly.types)
    .filter((t) => t.kind === 'class' || t.kind === 'enum')
    .map((t) => t.name)
    .sort();

  expect(classesAndEnums).toEqual(exported);
});

test('the assembly targets Python, Java, .NET and Go', () => {
  expect(Object.keys(assembly.targets).sort()).toEqual(['dotnet', 'go', 'java', 'js', 'python']);
});

test('API.md is the reference jsii-docgen generates from this assembly (regenerate: npm run docgen)', () => {
  const out = path.join(scratch, 'API.md');
  execFileSync(path.join(root, 'node_modules', '.bin', 'jsii-docgen'), ['--output', out], {
    cwd: root,
    env: JSII_ENV,
    stdio: 'pipe',
  });

  expect(fs.readFileSync(path.join(root, 'API.md'), 'utf8')).toBe(fs.readFileSync(out, 'utf8'));
});

test('jsii-pacmak generates the Python binding, with no member renamed around a reserved word', () => {
  const outdir = path.join(scratch, 'pacmak');
  execFileSync(
    path.join(root, 'node_modules', '.bin', 'jsii-pacmak'),
    ['--targets', 'python', '--code-only', '--no-npmignore', '--outdir', outdir],
    // pacmak packs this package with `npm pack`: without scripts, or `prepare` would rebuild it.
    { cwd: root, env: { ...JSII_ENV, npm_config_ignore_scripts: 'true' }, stdio: 'pipe' },
  );
  const init = fs.readFileSync(path.join(outdir, 'python', 'src', 'cdk_ip_allowlist', '__init__.py'), 'utf8');

  for (const cls of ['AllowlistAdminApi', 'AllowlistTables', 'IpAllowlistAuthorizer', 'IpAllowlistedApi', 'Upstream']) {
    expect(init).toMatch(new RegExp(`^class ${cls}\\(`, 'm'));
  }
  expect(init).toMatch(/def lambda_function\(/);
  // pacmak appends "_" to a name that is reserved in Python (`lambda` became `lambda_`): none left.
  expect(init.match(/def [a-z]+_\(/g) ?? []).toEqual([]);
});
