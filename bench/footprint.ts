import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { median, round } from './stats';

/**
 * Lambda footprint: the authorizer bundle as the construct ships it (scripts/bundle.js, minified, AWS SDK left
 * to the Lambda runtime) and its module init time in fresh Node processes.
 */

const ROOT = path.resolve(__dirname, '..');

export interface BundleResult {
  readonly authorizer_bytes: number;
  readonly authorizer_gzip_bytes: number;
  readonly sdk_bundled: boolean;
  /** Inputs that contribute most to the bundle, largest first (from esbuild's metafile). */
  readonly top_inputs: { readonly path: string; readonly bytes: number }[];
  readonly all_handlers: Record<string, number>;
  readonly file: string;
}

interface Metafile {
  outputs: Record<
    string,
    {
      bytes: number;
      inputs: Record<string, { bytesInOutput: number }>;
      imports: { path: string; external?: boolean }[];
    }
  >;
}

export async function measureBundle(): Promise<BundleResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/bundle.js is plain CommonJS without type declarations; the cast is its type
  const { bundle } = require('../scripts/bundle.js') as {
    bundle: (o: { quiet: boolean }) => Promise<Record<string, { bytes: number; metafile: Metafile }>>;
  };
  const results = await bundle({ quiet: true });
  const authorizer = results.authorizer;
  if (!authorizer) throw new Error('scripts/bundle.js produced no authorizer bundle');
  const file = path.join(ROOT, 'assets', 'authorizer', 'index.js');
  const bytes = fs.readFileSync(file);
  const output = Object.values(authorizer.metafile.outputs)[0];
  const inputs = Object.entries(output?.inputs ?? {})
    .map(([p, v]) => ({ path: p, bytes: v.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
  const sdkBundled = inputs.some((i) => i.path.includes('@aws-sdk/') || i.path.includes('@smithy/'));
  return {
    authorizer_bytes: bytes.length,
    authorizer_gzip_bytes: zlib.gzipSync(bytes, { level: 9 }).length,
    sdk_bundled: sdkBundled,
    top_inputs: inputs,
    all_handlers: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.bytes])),
    file: path.relative(ROOT, file),
  };
}

export interface InitResult {
  /** Median wall time of a fresh process loading the bundle, minus that of an empty process. */
  readonly median_ms: number;
  readonly raw_median_ms: number;
  readonly baseline_median_ms: number;
  /** Median time of the `require()` itself, measured inside the child (no process start-up in it). */
  readonly require_median_ms: number;
  /** Median time of `require('@aws-sdk/client-dynamodb')` alone in a fresh process: the part of init the SDK takes. */
  readonly sdk_client_require_median_ms: number | null;
  readonly samples: number;
  readonly raw_ms: number[];
  readonly baseline_ms: number[];
  readonly require_ms: number[];
  readonly env: Record<string, string>;
  /** The same handler with the AWS SDK bundled in, for comparison (see buildSdkBundledVariant). */
  readonly variant_sdk_bundled?: Record<string, unknown>;
}

/** The environment the construct gives the function (table names etc.); values are placeholders. */
export const INIT_ENV: Record<string, string> = {
  ALLOWLISTS_TABLE_NAME: 'bench-Allowlists',
  API_KEYS_TABLE_NAME: 'bench-ApiKeys',
  API_KEY_HEADER: 'authorization',
  MEMORY_CACHE_TTL_SECONDS: '2',
  AWS_REGION: 'us-east-1',
  // Nothing answers here: init must not talk to DynamoDB (and does not, the client connects lazily).
  AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

function timeChild(script: string, env: NodeJS.ProcessEnv): { wallMs: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', cwd: ROOT });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`child node failed (${r.status}): ${r.stderr}`);
  return { wallMs, stdout: r.stdout };
}

export function measureInit(bundleFile: string, samples = 10, withSdkBreakdown = true): InitResult {
  const file = path.resolve(ROOT, bundleFile);
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...INIT_ENV };
  const t = 'const t=process.hrtime.bigint();';
  const loadScript = `${t}const m=require(${JSON.stringify(file)});if(typeof m.handler!=='function')throw new Error('no handler export');process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const emptyScript = `${t}process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  // The AWS SDK client alone, loaded the way the bundle loads it (from node_modules; the Lambda runtime's copy in AWS).
  const sdkScript = `${t}require('@aws-sdk/client-dynamodb');process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const raw: number[] = [];
  const base: number[] = [];
  const req: number[] = [];
  const sdk: number[] = [];
  // One unmeasured run of each warms the OS file cache, as a Lambda's code is on local disk before init.
  timeChild(loadScript, env);
  timeChild(emptyScript, env);
  timeChild(sdkScript, env);
  for (let i = 0; i < samples; i++) {
    const a = timeChild(emptyScript, env);
    base.push(a.wallMs);
    const b = timeChild(loadScript, env);
    raw.push(b.wallMs);
    req.push(Number(b.stdout));
    if (withSdkBreakdown) sdk.push(Number(timeChild(sdkScript, env).stdout));
  }
  const rawMedian = median(raw);
  const baseMedian = median(base);
  return {
    median_ms: round(rawMedian - baseMedian, 1),
    raw_median_ms: round(rawMedian, 1),
    baseline_median_ms: round(baseMedian, 1),
    require_median_ms: round(median(req), 1),
    sdk_client_require_median_ms: withSdkBreakdown ? round(median(sdk), 1) : null,
    samples,
    raw_ms: raw.map((v) => round(v, 1)),
    baseline_ms: base.map((v) => round(v, 1)),
    require_ms: req.map((v) => round(v, 1)),
    env: INIT_ENV,
  };
}

export interface SdkBundledVariant {
  readonly bytes: number;
  readonly gzip_bytes: number;
  readonly file: string;
}

/**
 * For comparison only (the construct does not ship it): the same entry and esbuild options as scripts/bundle.js
 * but with the AWS SDK bundled and tree-shaken in, written to a temporary folder. Loading one file instead of the
 * SDK's many modules is the usual way to cut init time; this shows what it would cost in size and save in time.
 */
export async function buildSdkBundledVariant(): Promise<SdkBundledVariant> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- esbuild is loaded only when this variant is built
  const esbuild = require('esbuild') as typeof import('esbuild');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sdk-bundled-'));
  const file = path.join(dir, 'index.js');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'lambda', 'authorizer', 'index.ts')],
    outfile: file,
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    legalComments: 'none',
    logLevel: 'error',
  });
  const bytes = fs.readFileSync(file);
  return { bytes: bytes.length, gzip_bytes: zlib.gzipSync(bytes, { level: 9 }).length, file };
}
