import * as fs from 'node:fs';
import * as path from 'node:path';
import type { App, Stack } from 'aws-cdk-lib';
import type { CfnTemplate } from './intrinsics';

/**
 * Synthesizes a CDK app in-process into a cloud assembly and returns the stack local mode runs. The assembly is
 * written the way `cdk synth` writes it (assets staged next to the template, `aws:asset:path` metadata on every
 * Lambda), and local mode then reads only the assembly: the same files a deployment would upload.
 */

export interface SynthesizedStack {
  readonly template: CfnTemplate;
  readonly stackName: string;
  /** Absolute path of the cloud assembly folder (asset paths are relative to it). */
  readonly assemblyDir: string;
}

/** Context every local synth needs: asset paths in the template's metadata (the CLI sets this by default too). */
export const LOCAL_SYNTH_CONTEXT: Readonly<Record<string, unknown>> = {
  'aws:cdk:enable-asset-metadata': true,
  'aws:cdk:enable-path-metadata': true,
};

/**
 * Synthesizes an app and picks the stack that has a REST API (the only one local mode can serve).
 */
export function synthesizeApp(app: App): SynthesizedStack {
  // aws-cdk-lib's built-in CloudFormation schema validation is a lint (it never changes the template) and takes
  // most of the synth time (about 10 s of 11 here); `cdk synth` and the test suite still run it.
  const savedValidation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  let assembly;
  try {
    assembly = app.synth();
  } finally {
    restoreEnv('CDK_VALIDATION', savedValidation);
  }
  const candidates = assembly.stacks.filter((s) =>
    Object.values((s.template as CfnTemplate).Resources ?? {}).some((r) => r.Type === 'AWS::ApiGateway::RestApi'),
  );
  if (candidates.length === 0) throw new Error('the app has no stack with a REST API: local mode has nothing to serve');
  if (candidates.length > 1) {
    throw new Error(
      `the app has several stacks with REST APIs (${candidates.map((s) => s.stackName).join(', ')}): local mode serves one`,
    );
  }
  const stack = candidates[0];
  return { template: stack.template as CfnTemplate, stackName: stack.stackName, assemblyDir: assembly.directory };
}

export interface ExampleSynthOptions {
  /** Repository root (where cdk.json and bin/app.ts are). */
  readonly projectRoot: string;
  /** Where the cloud assembly is written. Inside the project, so the Lambdas' `require('@aws-sdk/...')` resolves. */
  readonly outdir: string;
  /** Extra context (e.g. upstreamUrl, propagationDelaySeconds), as `cdk synth -c key=value` would pass. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** Names under which bin/app.ts may export its app builder. */
const BUILDER_EXPORTS = ['buildExampleApp', 'createExampleApp', 'buildApp', 'createApp'];

/**
 * Synthesizes the repository's example app (bin/app.ts) with cdk.json's context plus `context`, exactly as the
 * CDK CLI would run it: the context and output folder are handed over through CDK_CONTEXT_JSON and CDK_OUTDIR,
 * the variables the CLI itself sets, so the app needs no special code path for local mode.
 */
export function synthesizeExampleApp(options: ExampleSynthOptions): SynthesizedStack {
  const cdkJsonPath = path.join(options.projectRoot, 'cdk.json');
  const cdkJson = fs.existsSync(cdkJsonPath)
    ? (JSON.parse(fs.readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> })
    : {};
  const context = { ...(cdkJson.context ?? {}), ...LOCAL_SYNTH_CONTEXT, ...(options.context ?? {}) };
  fs.rmSync(options.outdir, { recursive: true, force: true });
  fs.mkdirSync(options.outdir, { recursive: true });

  const saved = { context: process.env.CDK_CONTEXT_JSON, outdir: process.env.CDK_OUTDIR };
  process.env.CDK_CONTEXT_JSON = JSON.stringify(context);
  process.env.CDK_OUTDIR = options.outdir;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the app's module, by a path known only at run time, loaded synchronously between the environment changes around it
    const mod = require(path.join(options.projectRoot, 'bin', 'app')) as Record<string, unknown>;
    const builderName = BUILDER_EXPORTS.find((n) => typeof mod[n] === 'function');
    if (!builderName) {
      throw new Error(
        `bin/app.ts exports none of ${BUILDER_EXPORTS.join(', ')}: local mode cannot build the example app`,
      );
    }
    const built = (mod[builderName] as (props?: unknown) => App | Stack | { app: App })({
      context,
      outdir: options.outdir,
    });
    const app = (isStack(built) ? built.node.root : 'app' in built ? built.app : built) as App;
    return synthesizeApp(app);
  } finally {
    restoreEnv('CDK_CONTEXT_JSON', saved.context);
    restoreEnv('CDK_OUTDIR', saved.outdir);
  }
}

function isStack(x: unknown): x is Stack {
  return typeof x === 'object' && x !== null && 'templateOptions' in x && 'node' in x;
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
