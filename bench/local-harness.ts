import { ChildProcess, fork, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

/**
 * The parent side of the end-to-end benchmarks: the upstream (upstream.ts) and local mode (local-child.ts) each
 * in a process of their own, started with ts-node like the rest of the bench, and stopped by their pid.
 */

const TS_NODE = ['-r', 'ts-node/register/transpile-only'];
const ROOT = path.resolve(__dirname, '..');

export interface LocalReady {
  readonly url: string;
  readonly adminUrl?: string;
  readonly ttlSeconds: number;
  readonly identitySources: string[];
  readonly authorizerFunction: string;
}

export interface LocalStats {
  readonly gateway: { authorizerInvocations: number; authorizerCacheHits: number; integrationInvocations: number };
  /** Authorizer invocations by `<sha256(key) prefix>|<source ip>`. */
  readonly perPair: Record<string, number>;
}

export interface Upstream {
  readonly url: string;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startUpstream(): Promise<Upstream> {
  const child = spawn(process.execPath, [...TS_NODE, path.join(__dirname, 'upstream.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the bench upstream exited (${code}) before listening`)));
  });
  return { url, stop: () => stopChild(child) };
}

export class LocalModeProcess {
  private readonly child: ChildProcess;
  private readonly waiting: { type: string; resolve: (m: never) => void; reject: (e: Error) => void }[] = [];
  private exited = false;

  private constructor() {
    this.child = fork(path.join(__dirname, 'local-child.ts'), [], {
      cwd: ROOT,
      execArgv: TS_NODE,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {
        ...process.env,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
      },
    });
    let stderr = '';
    this.child.stderr!.on('data', (d: Buffer) => {
      if (process.env.BENCH_LOCAL_DEBUG) process.stderr.write(d);
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    this.child.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') {
        const w = this.waiting.shift();
        w?.reject(new Error(`local mode: ${m.message}`));
        return;
      }
      const i = this.waiting.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiting.splice(i, 1)[0].resolve(m as never);
    });
    this.child.once('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiting.splice(0))
        w.reject(new Error(`local mode exited (${code ?? signal}): ${stderr.trim().split('\n').slice(-8).join('\n')}`));
    });
  }

  private request<T>(message: unknown, replyType: string, timeoutMs = 180_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error('local mode is not running'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`local mode: no ${replyType} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push({
        type: replyType,
        resolve: (m: T) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send(message as object);
    });
  }

  static async start(options: {
    upstreamUrl: string;
    dynamoDbEndpoint?: string;
    propagationDelaySeconds?: number;
  }): Promise<{ local: LocalModeProcess; ready: LocalReady }> {
    const local = new LocalModeProcess();
    try {
      const ready = await local.request<LocalReady>({ cmd: 'start', ...options }, 'ready');
      return { local, ready };
    } catch (err) {
      await local.stop();
      throw err;
    }
  }

  stats(): Promise<LocalStats> {
    return this.request<LocalStats>({ cmd: 'stats' }, 'stats', 10_000);
  }

  /** Moves the emulated gateway's cache clock forward. */
  async advanceClock(ms: number): Promise<void> {
    await this.request({ cmd: 'advance', ms }, 'advanced', 10_000);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    try {
      await this.request({ cmd: 'stop' }, 'stopped', 20_000);
    } catch {
      // Fall through to the signal: whatever happened, the child must go.
    }
    await stopChild(this.child);
  }
}
