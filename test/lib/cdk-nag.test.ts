import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { App, Aspects, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AwsSolutionsChecks as AwsSolutionsChecksV2, NagSuppressions } from 'cdk-nag-v2';
import {
  AllowlistAdminApi,
  AllowlistTables,
  IpAllowlistAuthorizer,
  IpAllowlistedApi,
  IpAllowlistMonitoring,
  Upstream,
} from '../../lib';
import { acknowledgementsIn, TempOutdirs } from './synth-helpers';

/**
 * A consumer runs cdk-nag's AwsSolutions pack over stacks that use the constructs: no finding on a resource the
 * library creates, including the IAM policies its grants write into the consumer's roles. cdk-nag 3 (validation
 * plugin, `Validations` acknowledgements) and cdk-nag 2 (an Aspect reading `cdk_nag` metadata) both; the library
 * itself never loads cdk-nag.
 */

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

function newApp(): App {
  return new App({ outdir: outdirs.make(), context: { 'aws:cdk:version-reporting': false } });
}

interface Consumer {
  readonly stacks: Stack[];
  readonly ops: iam.Role[];
}

/**
 * Two consumer stacks: one with an IpAllowlistedApi (and its admin API) next to a second admin API built from the same
 * authorizer, one with an IpAllowlistedApi without an admin API and a standalone admin API built from its authorizer;
 * in each, a role of the consumer's gets every kind of grant, and monitoring (`addMonitoring`, and the standalone
 * IpAllowlistMonitoring).
 */
function consumer(app: App): Consumer {
  const one = new Stack(app, 'ConsumerOne');
  const api = new IpAllowlistedApi(one, 'Api', { upstream: Upstream.http('https://upstream.example.com') });
  const admin = new AllowlistAdminApi(one, 'Admin', { authorizers: [api.authorizer] });
  const opsOne = new iam.Role(one, 'Ops', { assumedBy: new iam.AccountRootPrincipal() });
  api.adminApi.grantWrite(opsOne, 'acme');
  api.adminApi.grantRead(opsOne);
  admin.grantRead(opsOne, 'acme');
  admin.grantWrite(opsOne);
  api.addMonitoring();

  const two = new Stack(app, 'ConsumerTwo');
  const tables = new AllowlistTables(two, 'Tables');
  const protectedApi = new IpAllowlistedApi(two, 'Api', {
    upstream: Upstream.http('https://upstream.example.com'),
    tables,
    adminApi: false,
  });
  const standalone = new AllowlistAdminApi(two, 'Admin', { authorizers: [protectedApi.authorizer] });
  new IpAllowlistMonitoring(two, 'Monitoring', { authorizer: protectedApi.authorizer, adminApi: standalone });
  const opsTwo = new iam.Role(two, 'Ops', { assumedBy: new iam.AccountRootPrincipal() });
  standalone.grantWrite(opsTwo, 'acme');
  standalone.grantRead(opsTwo);
  tables.grantRead(opsTwo);
  tables.grantReadWrite(opsTwo);
  return { stacks: [one, two], ops: [opsOne, opsTwo] };
}

/** The consumer's own mistake on its own role: a wildcard resource. Checks must still see it. */
function addCarelessStatement(role: iam.Role): void {
  role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
}

function v3Findings(app: App): { rule: string; paths: (string | undefined)[] }[] {
  app.synth();
  return new AwsSolutionsChecks().validateScope(app).violations.map((v) => ({
    rule: v.ruleName,
    paths: v.violatingResources.map((r) => r.constructPath),
  }));
}

function v2Findings(stacks: Stack[]): string[] {
  return stacks.flatMap((stack) => {
    const annotations = Annotations.fromStack(stack);
    return [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-')),
    ].map((m) => {
      // An annotation's data is its message, a string.
      const message = typeof m.entry.data === 'string' ? m.entry.data : JSON.stringify(m.entry.data);
      return `${m.id} ${/^AwsSolutions-\w+(\[[^\]]*\])?/.exec(message)?.[0]}`;
    });
  });
}

describe('cdk-nag 3 (Validations plugin)', () => {
  test('registered as a plugin: synthesis succeeds, and validateScope lists no finding', () => {
    const app = newApp();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    consumer(app);

    expect(v3Findings(app)).toEqual([]);
  });

  test("the grants' acknowledgements are exact: the consumer's own wildcard on the same role is still reported", () => {
    const app = newApp();
    const { ops } = consumer(app);
    ops.forEach(addCarelessStatement);

    expect(v3Findings(app)).toEqual([
      {
        rule: 'AwsSolutions-IAM5[Resource::*]',
        paths: ['ConsumerOne/Ops/DefaultPolicy/Resource', 'ConsumerTwo/Ops/DefaultPolicy/Resource'],
      },
    ]);
  });

  test('every acknowledgement the library writes gives its reason', () => {
    const app = newApp();
    consumer(app);

    const acknowledgements = acknowledgementsIn(app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) {
      expect(id).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(reason.length).toBeGreaterThan(40);
    }
  });
});

describe('what is left to the consumer (docs/constructs.md: cdk-nag)', () => {
  test('a RestApi of their own given to protectRestApi: its own findings stay, COG4 on its methods is acknowledged', () => {
    const app = newApp();
    const stack = new Stack(app, 'Consumer');
    const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist');
    const theirs = new apigateway.RestApi(stack, 'Theirs', { cloudWatchRole: false });
    theirs.root.addResource('chat').addMethod('POST', new apigateway.MockIntegration());
    allowlist.protectRestApi(theirs);
    theirs.root.addMethod('GET', new apigateway.MockIntegration());

    const rules = v3Findings(app).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-APIG2', 'AwsSolutions-APIG3']));
    expect(rules).not.toContain('AwsSolutions-COG4');
    expect(
      v3Findings(app)
        .flatMap((f) => f.paths)
        .every((p) => p!.startsWith('Consumer/Theirs/')),
    ).toBe(true);
  });

  test('a grant to a role in another stack: the ARN becomes an import, and its IAM5 finding is reported', () => {
    const app = newApp();
    const owner = new Stack(app, 'Owner');
    const protectedApi = new IpAllowlistedApi(owner, 'Api', {
      upstream: Upstream.http('https://upstream.example.com'),
      adminApi: false,
    });
    const admin = new AllowlistAdminApi(owner, 'Admin', { authorizers: [protectedApi.authorizer] });
    const role = new iam.Role(new Stack(app, 'Other'), 'Ops', { assumedBy: new iam.AccountRootPrincipal() });
    admin.grantWrite(role, 'acme');

    const findings = v3Findings(app);
    expect(findings).toHaveLength(1);
    expect(findings[0].rule).toMatch(
      /^AwsSolutions-IAM5\[Resource::.*Owner:ExportsOutputRefAdmin.*\/v1\/organizations\/acme\/\*\]$/,
    );
    expect(findings[0].paths).toEqual(['Other/Ops/DefaultPolicy/Resource']);
  });
});

describe('cdk-nag 2 (Aspect and NagSuppressions)', () => {
  test('no error or warning on any resource', () => {
    const app = newApp();
    Aspects.of(app).add(new AwsSolutionsChecksV2());
    const { stacks } = consumer(app);

    expect(v2Findings(stacks)).toEqual([]);
  });

  test("the consumer's own wildcard is still reported", () => {
    const app = newApp();
    Aspects.of(app).add(new AwsSolutionsChecksV2());
    const { stacks, ops } = consumer(app);
    ops.forEach(addCarelessStatement);

    expect(v2Findings(stacks)).toEqual([
      '/ConsumerOne/Ops/DefaultPolicy/Resource AwsSolutions-IAM5[Resource::*]',
      '/ConsumerTwo/Ops/DefaultPolicy/Resource AwsSolutions-IAM5[Resource::*]',
    ]);
  });

  test("the consumer's own NagSuppressions on the same resources are kept next to the library's", () => {
    const app = newApp();
    Aspects.of(app).add(new AwsSolutionsChecksV2());
    const { stacks, ops } = consumer(app);
    for (const role of ops) {
      addCarelessStatement(role);
      NagSuppressions.addResourceSuppressions(
        role,
        [
          {
            id: 'AwsSolutions-IAM5',
            reason: 'Read-only access to our public assets bucket.',
            appliesTo: ['Resource::*'],
          },
        ],
        true,
      );
    }

    expect(v2Findings(stacks)).toEqual([]);
  });
});

test('the library synthesizes without cdk-nag installed (it is a devDependency)', () => {
  // A child process in which resolving any cdk-nag module fails, as in a consumer project without it.
  const script = `
    const Module = require('module');
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (/^cdk-nag/.test(request)) throw new Error('cdk-nag was required: ' + request);
      return resolve.call(this, request, ...rest);
    };
    const { App, Stack } = require('aws-cdk-lib');
    const { Template } = require('aws-cdk-lib/assertions');
    const iam = require('aws-cdk-lib/aws-iam');
    const lib = require('./lib');
    const stack = new Stack(new App(), 'Consumer');
    const api = new lib.IpAllowlistedApi(stack, 'Api', { upstream: lib.Upstream.http('https://upstream.example.com') });
    api.adminApi.grantWrite(new iam.Role(stack, 'Ops', { assumedBy: new iam.AccountRootPrincipal() }), 'acme');
    const resources = Object.values(Template.fromStack(stack).toJSON().Resources);
    console.log(resources.filter((r) => r.Metadata && r.Metadata.cdk_nag).length);
  `;
  const root = path.join(__dirname, '../..');
  const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  // The cdk-nag 2 metadata is written all the same.
  expect(Number(out.trim().split('\n').pop())).toBeGreaterThan(0);
});
