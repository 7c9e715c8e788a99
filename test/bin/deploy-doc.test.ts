/*
 * docs/deploy.md's claims that can be checked without an account: the versions it names are the ones the
 * repository pins, the example stack holds nothing billed by the hour and retains its data, and the integration
 * test commands it gives are integ/'s.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildExampleApp } from '../../bin/app';
import { REPO_ROOT } from '../package/pack';
import { TempOutdirs } from '../lib/synth-helpers';

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
const readManifest = (...at: string[]) =>
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, ...at, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
  };
const manifest = readManifest();
const integ = readManifest('integ');

/** Resource types billed per request or per GB stored, never for the time they exist. */
const BILLED_BY_USE = new Set([
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::Authorizer',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::GatewayResponse',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Stage',
  'AWS::DynamoDB::Table',
  'AWS::IAM::Policy',
  'AWS::IAM::Role',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Logs::LogGroup',
]);

test('the versions it names are the pinned CLI, the peer range and integ/ pins', () => {
  expect(doc).toContain(`The AWS CDK CLI **${manifest.devDependencies['aws-cdk']}**`);
  expect(doc).toContain(`aws-cdk@${manifest.devDependencies['aws-cdk']}`);
  expect(doc).toContain(`The peer range is \`${manifest.peerDependencies['aws-cdk-lib']}\``);
  expect(doc).toContain(`\`aws-cdk-lib\` **${manifest.peerDependencies['aws-cdk-lib'].slice(1)} or later**`);
  expect(doc).toContain(`\`constructs\` ${manifest.peerDependencies.constructs.slice(1)} or`);
  expect(doc).toContain(`aws-cdk-lib ${integ.dependencies['aws-cdk-lib']}, \`@aws-cdk/integ-tests-alpha\``);
  expect(doc).toContain(integ.dependencies['@aws-cdk/integ-tests-alpha']);
  expect(doc).toContain(`\`@aws-cdk/integ-runner\` ${integ.devDependencies['@aws-cdk/integ-runner']}`);
  expect(doc).toContain(`The repository itself builds with aws-cdk-lib ${manifest.devDependencies['aws-cdk-lib']}.`);
});

test('the example stack holds nothing billed by the hour, and retains its tables and log groups', () => {
  const { stack } = buildExampleApp({ outdir: outdirs.make(), context: { 'aws:cdk:version-reporting': false } });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }
  >;
  const all = Object.values(resources);

  expect([...new Set(all.map((r) => r.Type))].filter((t) => !BILLED_BY_USE.has(t))).toEqual([]);
  expect(all.filter((r) => r.Type === 'AWS::ApiGateway::Stage' && r.Properties?.CacheClusterEnabled)).toEqual([]);
  const retained = (type: string) => all.filter((r) => r.Type === type).map((r) => r.DeletionPolicy);
  expect(retained('AWS::DynamoDB::Table')).toEqual(['Retain', 'Retain', 'Retain', 'Retain']);
  expect(new Set(retained('AWS::Logs::LogGroup'))).toEqual(new Set(['Retain']));
});

test('its integ-runner commands are the ones test/integ runs, in integ/ with its TypeScript preset', () => {
  const blocks = [...doc.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
  const integBlocks = blocks.filter((b) => b.includes('integ-runner'));

  expect(integBlocks).toHaveLength(2);
  for (const block of integBlocks) {
    expect(block).toMatch(/^npm (ci && npm )?pack\b/m);
    expect(block).toMatch(/^cd integ$/m);
    // npm keeps an installed tarball of the same version (no lockfile): integ-snapshot.test.ts removes it too.
    expect(block).toMatch(/^rm -rf node_modules\/cdk-ip-allowlist\b.*\nnpm install$/m);
    for (const line of block.split('\n').filter((l) => l.includes('integ-runner'))) {
      expect(line).toMatch(/^npx integ-runner --language typescript\b/);
    }
  }
  expect(integ.dependencies['cdk-ip-allowlist']).toBe(
    `file:../cdk-ip-allowlist-${JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version}.tgz`,
  );
  expect(doc).toContain('[cost model](performance.md#cost-model)');
  expect(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'performance.md'), 'utf8')).toMatch(/^## Cost model$/m);
});
