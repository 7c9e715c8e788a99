import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Runs a bundled Lambda handler the way the Lambda service does, close enough for local mode:
 * - each execution environment is a worker thread with the function's own environment variables, its own
 *   module state (SDK clients, in-memory caches) and one invocation at a time; concurrent invocations get more
 *   environments, up to `maxEnvironments`, and queue beyond that;
 * - the module is loaded once per environment (init), the handler is called per invocation, async or callback style;
 * - the function's Timeout is enforced: the invocation fails with `Task timed out after N seconds` and its
 *   environment is thrown away, as Lambda does;
 * - results are passed through JSON, as Lambda serializes them.
 */

export interface LambdaSpec {
  readonly functionName: string;
  /** `file.export`, e.g. `index.handler`. */
  readonly handler: string;
  /** Absolute folder of the code. */
  readonly codeDir: string;
  /** The function's complete environment (the runner adds only what the Lambda runtime itself sets). */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memorySize?: number;
  readonly region: string;
  /**
   * Folder of the modules the Lambda runtime provides (the AWS SDK v3, which the bundles leave external).
   *
   * @default - the node_modules folder local mode loads its own AWS SDK from
   */
  readonly runtimeModulesDir?: string;
}

export interface LambdaRunnerOptions {
  /**
   * Most execution environments kept at once.
   *
   * @default 8
   */
  readonly maxEnvironments?: number;
  /**
   * Where the function's stdout/stderr lines go.
   *
   * @default - process.stdout, each line prefixed with the function name
   */
  readonly log?: (functionName: string, line: string) => void;
}

export type InvokeResult =
  | { readonly ok: true; readonly payload: unknown; readonly requestId: string }
  | {
      readonly ok: false;
      readonly errorType: string;
      readonly errorMessage: string;
      readonly timedOut: boolean;
      readonly requestId: string;
    };

/** The worker's source. Plain JS so it runs the same under ts-node, jest and the compiled package. */
const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const path = require('node:path');
const { codeDir, handler, functionName, memorySize, region } = workerData;
let fn;
let initError;
try {
  const dot = handler.lastIndexOf('.');
  const mod = require(path.join(codeDir, handler.slice(0, dot)));
  fn = mod[handler.slice(dot + 1)];
  if (typeof fn !== 'function') {
    initError = { errorType: 'Runtime.HandlerNotFound', errorMessage: handler + ' is undefined or not exported' };
  }
} catch (err) {
  initError = { errorType: 'Runtime.ImportModuleError', errorMessage: String(err && err.stack || err) };
}
const toError = (err) => ({
  errorType: (err && err.name) || 'Error',
  errorMessage: err && err.message !== undefined ? String(err.message) : String(err),
});
parentPort.postMessage({ type: 'ready', initError });
parentPort.on('message', async (msg) => {
  if (msg.type !== 'invoke') return;
  if (initError) return parentPort.postMessage({ type: 'result', id: msg.id, error: initError });
  const deadline = msg.deadline;
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:' + region + ':000000000000:function:' + functionName,
    memoryLimitInMB: String(memorySize),
    awsRequestId: msg.id,
    logGroupName: '/aws/lambda/' + functionName,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const payload = await new Promise((resolve, reject) => {
      const callback = (err, res) => (err ? reject(err) : resolve(res));
      context.done = callback;
      context.succeed = (res) => resolve(res);
      context.fail = (err) => reject(err);
      const ret = fn(msg.event, context, callback);
      if (ret && typeof ret.then === 'function') ret.then(resolve, reject);
      else if (fn.length < 3) resolve(ret);
    });
    const json = payload === undefined ? 'null' : JSON.stringify(payload);
    parentPort.postMessage({ type: 'result', id: msg.id, json });
  } catch (err) {
    parentPort.postMessage({ type: 'result', id: msg.id, error: toError(err) });
  }
});
`;

interface Environment {
  readonly worker: Worker;
  readonly ready: Promise<{ errorType: string; errorMessage: string } | undefined>;
  busy: boolean;
  dead: boolean;
  pending?: { id: string; resolve: (r: InvokeResult) => void; timer?: NodeJS.Timeout };
}

export class LambdaFunctionRunner {
  private readonly environments: Environment[] = [];
  private readonly queue: Array<() => void> = [];
  private readonly maxEnvironments: number;
  private stopped = false;
  /** Number of invocations started: lets tests prove the gateway did NOT call a function. */
  invocations = 0;

  constructor(
    readonly spec: LambdaSpec,
    private readonly options: LambdaRunnerOptions = {},
  ) {
    this.maxEnvironments = options.maxEnvironments ?? 8;
  }

  /** Starts one environment ahead of the first request (a cold start at startup instead of on the first call). */
  async warm(): Promise<void> {
    if (this.environments.length === 0) {
      const env = this.spawn();
      const initError = await env.ready;
      if (initError) this.log(`init failed: ${initError.errorType}: ${initError.errorMessage}`);
    }
  }

  async invoke(event: unknown): Promise<InvokeResult> {
    if (this.stopped) throw new Error(`${this.spec.functionName}: runner stopped`);
    this.invocations += 1;
    const env = await this.acquire();
    const requestId = randomUUID();
    try {
      await env.ready;
      if (env.dead) {
        return {
          ok: false,
          errorType: 'Runtime.ExitError',
          errorMessage: 'the runtime exited during init',
          timedOut: false,
          requestId,
        };
      }
      return await new Promise<InvokeResult>((resolve) => {
        const timeoutMs = this.spec.timeoutSeconds * 1000;
        env.pending = { id: requestId, resolve };
        env.pending.timer = setTimeout(() => {
          // Lambda ends a timed-out invocation by discarding its environment.
          env.pending = undefined;
          this.discard(env);
          resolve({
            ok: false,
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
            timedOut: true,
            requestId,
          });
        }, timeoutMs);
        env.worker.postMessage({ type: 'invoke', id: requestId, event, deadline: Date.now() + timeoutMs });
      });
    } finally {
      this.release(env);
    }
  }

  /** Terminates every environment. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = this.environments.splice(0);
    await Promise.all(all.map((e) => this.terminate(e)));
    for (const next of this.queue.splice(0)) next();
  }

  private log(line: string): void {
    if (this.options.log) this.options.log(this.spec.functionName, line);
    else process.stdout.write(`[${this.spec.functionName}] ${line}\n`);
  }

  private acquire(): Promise<Environment> {
    const idle = this.environments.find((e) => !e.busy && !e.dead);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (this.environments.length < this.maxEnvironments) {
      const env = this.spawn();
      env.busy = true;
      return Promise.resolve(env);
    }
    return new Promise((resolve, reject) => {
      this.queue.push(() => {
        if (this.stopped) reject(new Error(`${this.spec.functionName}: runner stopped`));
        else this.acquire().then(resolve, reject);
      });
    });
  }

  private release(env: Environment): void {
    env.busy = false;
    this.queue.shift()?.();
  }

  private spawn(): Environment {
    const { spec } = this;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      env: lambdaRuntimeEnvironment(spec),
      workerData: {
        codeDir: spec.codeDir,
        handler: spec.handler,
        functionName: spec.functionName,
        memorySize: spec.memorySize ?? 128,
        region: spec.region,
      },
      stdout: true,
      stderr: true,
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          this.log(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
      });
      stream.on('end', () => buffered && this.log(buffered));
    }
    let markReady!: (v: { errorType: string; errorMessage: string } | undefined) => void;
    const env: Environment = {
      worker,
      ready: new Promise((r) => (markReady = r)),
      busy: false,
      dead: false,
    };
    worker.on(
      'message',
      (msg: {
        type: string;
        id?: string;
        json?: string;
        error?: { errorType: string; errorMessage: string };
        initError?: { errorType: string; errorMessage: string };
      }) => {
        if (msg.type === 'ready') return markReady(msg.initError);
        if (msg.type !== 'result' || !env.pending || env.pending.id !== msg.id) return;
        const { resolve, timer } = env.pending;
        env.pending = undefined;
        clearTimeout(timer);
        if (msg.error) resolve({ ok: false, ...msg.error, timedOut: false, requestId: msg.id });
        else resolve({ ok: true, payload: JSON.parse(msg.json ?? 'null'), requestId: msg.id });
      },
    );
    const crashed = (why: string) => {
      markReady({ errorType: 'Runtime.ExitError', errorMessage: why });
      if (env.pending) {
        const { resolve, timer, id } = env.pending;
        env.pending = undefined;
        clearTimeout(timer);
        resolve({ ok: false, errorType: 'Runtime.ExitError', errorMessage: why, timedOut: false, requestId: id });
      }
      this.discard(env);
    };
    // An unhandled rejection or a process.exit() in the handler ends the environment, as it ends Lambda's runtime.
    worker.on('error', (err) => crashed(`the runtime crashed: ${err instanceof Error ? err.message : String(err)}`));
    worker.on('exit', (code) => crashed(`the runtime exited with code ${code}`));
    this.environments.push(env);
    return env;
  }

  private discard(env: Environment): void {
    if (env.dead) return;
    env.dead = true;
    const i = this.environments.indexOf(env);
    if (i >= 0) this.environments.splice(i, 1);
    void this.terminate(env);
  }

  private async terminate(env: Environment): Promise<void> {
    env.dead = true;
    try {
      await env.worker.terminate();
    } catch {
      // Already gone.
    }
  }
}

/** The node_modules folder holding the AWS SDK v3 this process uses. */
export function defaultRuntimeModulesDir(): string {
  const pkg = require.resolve('@aws-sdk/client-dynamodb/package.json');
  return path.resolve(path.dirname(pkg), '..', '..');
}

/** The variables Lambda's Node.js runtime sets, with dummy credentials, plus the function's own. */
export function lambdaRuntimeEnvironment(spec: LambdaSpec): Record<string, string> {
  return {
    // Lambda's NODE_PATH is how a function finds the SDK the runtime ships; here it is our own copy.
    NODE_PATH: spec.runtimeModulesDir ?? defaultRuntimeModulesDir(),
    AWS_REGION: spec.region,
    AWS_DEFAULT_REGION: spec.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize ?? 128),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'local',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    LAMBDA_TASK_ROOT: spec.codeDir,
    _HANDLER: spec.handler,
    TZ: 'UTC',
    // Keep the developer's own AWS config (profiles, endpoint_url) out of the emulated function.
    AWS_CONFIG_FILE: path.join(spec.codeDir, '.no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(spec.codeDir, '.no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    // The function's declared runtime is what counts; the local Node version is not the Lambda's.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...spec.environment,
  };
}
