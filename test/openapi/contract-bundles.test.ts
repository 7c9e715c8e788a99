import * as path from 'node:path';

/**
 * Where the contract's schemas travel. The admin Lambda parses requests with them (so zod is bundled into it); the
 * authorizer does not need them and must not grow, and the CLI takes only their types (and the dependency-free path
 * builder), so neither bundle carries zod or the OpenAPI generator.
 */

const root = path.join(__dirname, '..', '..');

interface Metafile {
  readonly inputs: Record<string, unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS build script, shared with the build
const { bundle } = require('../../scripts/bundle.js') as {
  bundle: (o: { quiet: boolean; write: boolean }) => Promise<Record<string, { metafile: Metafile }>>;
};

const inputs = (metafile: Metafile) => Object.keys(metafile.inputs);
const isZod = (file: string) => /node_modules\/(zod|@asteasolutions\/zod-to-openapi|openapi3-ts)\//.test(file);

let lambdas: Record<string, { metafile: Metafile }>;
let cli: Metafile;

beforeAll(async () => {
  lambdas = await bundle({ quiet: true, write: false });
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'cli', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  cli = result.metafile;
}, 60_000);

test('the admin Lambda parses with the schemas: zod and the contract are bundled, the generator is not', () => {
  const files = inputs(lambdas.admin.metafile);
  expect(files.some((f) => f.includes('node_modules/zod/'))).toBe(true);
  expect(files).toContain('lambda/admin/contract/schemas.ts');
  expect(files.filter((f) => /zod-to-openapi|openapi3-ts|contract\/(openapi|docs)\.ts/.test(f))).toEqual([]);
});

test('the authorizer bundle holds neither zod nor anything of the admin contract', () => {
  const files = inputs(lambdas.authorizer.metafile);
  expect(files.filter((f) => isZod(f) || f.startsWith('lambda/admin/'))).toEqual([]);
});

test('the CLI bundle takes the contract as types only: no zod, only the dependency-free path builder', () => {
  const files = inputs(cli);
  expect(files.filter(isZod)).toEqual([]);
  expect(files.filter((f) => f.startsWith('lambda/admin/'))).toEqual(['lambda/admin/contract/paths.ts']);
});
