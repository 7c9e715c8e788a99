import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { controlPlaneListener } from './control-plane';
import { startDynamoDbLocal } from './dynamodb-local';
import { GatewayEmulator, Invoker } from './gateway';
import { LambdaFunctionRunner } from './lambda-runner';
import { ApiModel, readStackModel, StackModel, TableModel } from './model';
import { seedDemo } from './seed';
import { listenLoopback, LoopbackServer } from './servers';
import {
  DEFAULT_ADMIN_PORT,
  DEFAULT_PORT,
  DemoSeed,
  LocalState,
  runningLocalState,
  stateFile,
  writeJson,
} from './state';
import { synthesizeExampleApp, SynthesizedStack } from './synth';

/**
 * Local mode: the example stack, synthesized and run on this machine. DynamoDB Local holds the tables the
 * template declares; the template's Lambdas run from their staged assets with their resolved environment; one
 * emulated API Gateway stage per REST API serves on loopback; the admin Lambda's cache flush reaches the
 * emulated gateway through a local FlushStageAuthorizersCache endpoint.
 */

export interface LocalModeOptions {
  /**
   * Repository root: where cdk.json and bin/app.ts are.
   *
   * @default - the folder above local/
   */
  readonly projectRoot?: string;
  /**
   * Folder for DynamoDB Local's data, the cloud assembly and the state files.
   *
   * @default <projectRoot>/.local
   */
  readonly stateDir?: string;
  /**
   * Port of the protected API (0 = a free port).
   *
   * @default 8080
   */
  readonly port?: number;
  /**
   * Port of the admin API (0 = a free port).
   *
   * @default 8081
   */
  readonly adminPort?: number;
  /**
   * Keep DynamoDB Local's data in memory only.
   *
   * @default false - data persists under stateDir
   */
  readonly inMemory?: boolean;
  /**
   * Put the allowlist in front of this HTTP service instead of the echo Lambda (synth context `upstreamUrl`).
   *
   * @default - the example's echo Lambda
   */
  readonly upstreamUrl?: string;
  /**
   * Propagation delay in seconds (synth context `propagationDelaySeconds`).
   *
   * @default - the example app's default
   */
  readonly propagationDelaySeconds?: number;
  /**
   * Use this running DynamoDB Local instead of starting one (tests share one).
   *
   * @default - start one
   */
  readonly dynamoDbEndpoint?: string;
  /**
   * Prefix of the local table names.
   *
   * @default - none
   */
  readonly tablePrefix?: string;
  /**
   * Seed the demo organization, project and key.
   *
   * @default true
   */
  readonly seed?: boolean;
  /**
   * Serve this already synthesized stack instead of synthesizing the example app.
   *
   * @default - synthesize bin/app.ts
   */
  readonly synthesized?: SynthesizedStack;
  /**
   * Record this run in stateDir/state.json (the CLI reads it; a second run on the same data refuses to start).
   *
   * @default true
   */
  readonly writeState?: boolean;
  /**
   * Where local mode's own messages go.
   *
   * @default - stdout
   */
  readonly log?: (line: string) => void;
  /**
   * Where the Lambdas' output goes.
   *
   * @default - stdout, prefixed with the function name
   */
  readonly lambdaLog?: (functionName: string, line: string) => void;
  /**
   * Receives one line per request to either API.
   *
   * @default - no access log
   */
  readonly accessLog?: (line: string) => void;
  /**
   * Clock of the emulated authorizer caches.
   *
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Caller recorded for admin requests without an `x-local-user` header.
   *
   * @default - the OS user
   */
  readonly localUser?: string;
}

export interface RunningLocalMode {
  /** Base URL of the protected API (IPv4 loopback). */
  readonly url: string;
  /** The same API over IPv6 loopback, when the machine has it. */
  readonly urlIpv6?: string;
  readonly port: number;
  /** Base URL of the admin API, when the stack has one. */
  readonly adminUrl?: string;
  readonly adminPort?: number;
  readonly dynamoDbEndpoint: string;
  /**
   * Where the DynamoDB Local this run started listens (`127.0.0.1`, or `all interfaces (why)`); undefined when
   * it was given one (`dynamoDbEndpoint` option).
   */
  readonly dynamoDbListensOn?: string;
  /** The emulated API Gateway management endpoint (AWS_ENDPOINT_URL_API_GATEWAY of the Lambdas). */
  readonly controlUrl: string;
  readonly model: StackModel;
  readonly gateway: GatewayEmulator;
  readonly adminGateway?: GatewayEmulator;
  /** Lambda runners by the function's logical id. */
  readonly runners: ReadonlyMap<string, LambdaFunctionRunner>;
  /** Local table names by the table's logical id. */
  readonly tables: Readonly<Record<string, string>>;
  readonly demo?: DemoSeed;
  stop(): Promise<void>;
}

export const DEFAULT_PROJECT_ROOT = path.resolve(__dirname, '..');

export async function startLocalMode(options: LocalModeOptions = {}): Promise<RunningLocalMode> {
  const projectRoot = options.projectRoot ?? DEFAULT_PROJECT_ROOT;
  const stateDir = options.stateDir ?? path.join(projectRoot, '.local');
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const writeState = options.writeState ?? true;
  fs.mkdirSync(stateDir, { recursive: true });

  if (writeState) {
    const other = runningLocalState(stateDir);
    if (other && other.pid !== process.pid) {
      throw new Error(
        `local mode is already running (pid ${other.pid}) on ${other.url}: stop it first, or use another folder`,
      );
    }
  }

  // Everything started is registered here first, so a failure half-way still stops it all.
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      await c().catch((err: unknown) => log(`while stopping: ${err instanceof Error ? err.message : String(err)}`));
    }
  };

  // DynamoDB Local starts while the app synthesizes (both take seconds). Its stop is registered as soon as it
  // runs, and a failed start waits for it, so java never outlives a failed start.
  const ddbPromise = options.dynamoDbEndpoint
    ? Promise.resolve({ endpoint: options.dynamoDbEndpoint, listensOn: undefined, stop: () => Promise.resolve() })
    : startDynamoDbLocal({ dbPath: options.inMemory ? undefined : path.join(stateDir, 'dynamodb') });
  ddbPromise.then((d) => cleanups.push(() => d.stop())).catch(() => undefined);
  try {
    const context: Record<string, unknown> = {};
    if (options.upstreamUrl !== undefined) context.upstreamUrl = options.upstreamUrl;
    if (options.propagationDelaySeconds !== undefined)
      context.propagationDelaySeconds = options.propagationDelaySeconds;
    const synthesized: SynthesizedStack =
      options.synthesized ?? synthesizeExampleApp({ projectRoot, outdir: path.join(stateDir, 'cdk.out'), context });
    const model = readStackModel(synthesized.template, synthesized.stackName, synthesized.assemblyDir, {
      tablePrefix: options.tablePrefix,
    });
    const ddb = await ddbPromise;

    await createTables(ddb.endpoint, model.tables, log);

    const dataPlane = pickApi(model.apis, 'CUSTOM');
    const adminApi = model.apis.find((a) => a !== dataPlane && a.authorizationTypes.has('AWS_IAM'));
    if (!dataPlane)
      throw new Error('the stack has no REST API with a Lambda authorizer: nothing for local mode to protect');

    // The control plane must exist before the Lambdas start: its URL is part of their environment.
    const emulators: GatewayEmulator[] = [];
    const control = await listenLoopback(controlPlaneListener(emulators), 0);
    cleanups.push(() => control.close());
    const controlUrl = `http://127.0.0.1:${control.port}`;

    const runners = new Map<string, LambdaFunctionRunner>();
    for (const fn of model.functions.values()) {
      const runner = new LambdaFunctionRunner(
        {
          functionName: fn.functionName,
          handler: fn.handler,
          codeDir: fn.codeDir,
          timeoutSeconds: fn.timeoutSeconds,
          memorySize: fn.memorySize,
          region: model.region,
          environment: {
            ...fn.environment,
            AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
            AWS_ENDPOINT_URL_API_GATEWAY: controlUrl,
          },
        },
        { log: options.lambdaLog },
      );
      runners.set(fn.logicalId, runner);
    }
    cleanups.push(async () => {
      await Promise.all([...runners.values()].map((r) => r.stop()));
    });
    await Promise.all([...runners.values()].map((r) => r.warm()));

    const invoker: Invoker = {
      invoke(logicalId, event) {
        const runner = runners.get(logicalId);
        if (!runner) throw new Error(`no Lambda ${logicalId} in the stack`);
        return runner.invoke(event);
      },
    };
    const makeGateway = (api: ApiModel) =>
      new GatewayEmulator(api, {
        region: model.region,
        accountId: model.accountId,
        invoker,
        now: options.now,
        defaultLocalUser: options.localUser,
        accessLog: options.accessLog,
      });
    const gateway = makeGateway(dataPlane);
    emulators.push(gateway);
    const adminGateway = adminApi ? makeGateway(adminApi) : undefined;
    if (adminGateway) emulators.push(adminGateway);

    const dataServer = await listenLoopback(gateway.listener, options.port ?? DEFAULT_PORT);
    cleanups.push(() => dataServer.close());
    let adminServer: LoopbackServer | undefined;
    if (adminGateway) {
      adminServer = await listenLoopback(adminGateway.listener, options.adminPort ?? DEFAULT_ADMIN_PORT);
      cleanups.push(() => adminServer!.close());
    }

    const url = `http://127.0.0.1:${dataServer.port}`;
    const adminUrl = adminServer ? `http://127.0.0.1:${adminServer.port}` : undefined;
    const listeners = [dataServer, ...(adminServer ? [adminServer] : [])];
    await Promise.all(listeners.flatMap((s) => s.hosts.map((h) => waitForAnswer(h, s.port))));

    let demo: DemoSeed | undefined;
    if ((options.seed ?? true) && adminUrl) {
      demo = await seedDemo({ adminUrl, stateDir, persist: !options.inMemory, log });
    }

    if (writeState) {
      const state: LocalState = {
        pid: process.pid,
        url,
        adminUrl,
        dynamoDbEndpoint: ddb.endpoint,
        startedAt: new Date().toISOString(),
      };
      writeJson(stateFile(stateDir), state);
      cleanups.push(() => {
        if (runningLocalState(stateDir)?.pid === process.pid) fs.rmSync(stateFile(stateDir), { force: true });
        return Promise.resolve();
      });
    }

    const tables: Record<string, string> = {};
    for (const t of model.tables) tables[t.logicalId] = t.tableName;

    let stopping: Promise<void> | undefined;
    return {
      url,
      urlIpv6: dataServer.hosts.includes('::1') ? `http://[::1]:${dataServer.port}` : undefined,
      port: dataServer.port,
      adminUrl,
      adminPort: adminServer?.port,
      dynamoDbEndpoint: ddb.endpoint,
      dynamoDbListensOn: ddb.listensOn,
      controlUrl,
      model,
      gateway,
      adminGateway,
      runners,
      tables,
      demo,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await ddbPromise.catch(() => undefined);
    await stopAll();
    throw err;
  }
}

/** The API protected by a Lambda authorizer (the data plane). */
function pickApi(apis: readonly ApiModel[], authorizationType: string): ApiModel | undefined {
  const matching = apis.filter((a) => a.authorizationTypes.has(authorizationType));
  if (matching.length > 1)
    throw new Error(
      `the stack has ${matching.length} REST APIs with ${authorizationType} methods: local mode serves one`,
    );
  return matching[0];
}

/** Creates the template's tables in DynamoDB Local; existing ones (a restart) are kept if their keys agree. */
export async function createTables(
  endpoint: string,
  tables: readonly TableModel[],
  log: (line: string) => void,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    for (const t of tables) {
      let existing;
      try {
        existing = await client.send(new DescribeTableCommand({ TableName: t.tableName }));
      } catch (err) {
        if (!(err instanceof ResourceNotFoundException)) throw err;
      }
      if (existing?.Table) {
        const want = JSON.stringify(t.createTableInput.KeySchema);
        const have = JSON.stringify(existing.Table.KeySchema);
        if (want !== have) {
          throw new Error(
            `table ${t.tableName} in the local data has keys ${have}, the template now says ${want}: delete .local/dynamodb (or run with --in-memory)`,
          );
        }
        continue;
      }
      await client.send(new CreateTableCommand(t.createTableInput));
      log(`created table ${t.tableName}`);
    }
  } finally {
    client.destroy();
  }
}

/** Resolves once an HTTP request to host:port gets any answer. */
async function waitForAnswer(host: string, port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.request({ host, port, path: '/', method: 'GET', timeout: 2000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(true));
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing answers on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
