import { createServer, IncomingMessage, Server } from 'node:http';
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { AdminStore, auditEventFromItem, AuditEvent } from '../../../lambda/adapters/admin-store';
import { DynamoDbAuthorizerStore } from '../../../lambda/adapters/dynamodb-store';
import { createStageCacheFlusher, StageCacheFlusher, NO_STAGE_FLUSHER } from '../../../lambda/adapters/stage-cache';
import { writeSighting } from '../../../lambda/adapters/traffic-items';
import { TrafficReader } from '../../../lambda/adapters/traffic-store';
import type { SightingUpdate } from '../../../lambda/core/traffic';
import { AdminHandler, createAdminHandler } from '../../../lambda/admin/app';
import { AdminDependencies, AdminLogger } from '../../../lambda/admin/context';
import { eventIdentity, multiValueOf } from '../../support/api-gateway-events';
import {
  createTables,
  freePort,
  localClient,
  TableNames,
  testEndpoint,
  uniquePrefix,
} from '../../support/dynamodb-local';

/**
 * Shared set-up for the admin API's tests: real tables in the run's DynamoDB Local, the real store and handler,
 * and API Gateway proxy events shaped as API Gateway sends them for a `/{proxy+}` resource with AWS_IAM auth.
 */

export const ADMIN_ARN = 'arn:aws:iam::123456789012:user/alice';

export interface LogRecord {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly extra: Record<string, unknown>;
}

export function recordingLogger(): AdminLogger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    info: (message, extra) => records.push({ level: 'info', message, extra }),
    warn: (message, extra) => records.push({ level: 'warn', message, extra }),
    error: (message, extra) => records.push({ level: 'error', message, extra }),
  };
}

export interface EventOptions {
  /** JSON-serialized unless a string. */
  readonly body?: unknown;
  /** Decoded query values, as API Gateway passes them. */
  readonly query?: Record<string, string | string[]>;
  readonly headers?: Record<string, string>;
  /** The caller's IAM ARN; null for none. */
  readonly userArn?: string | null;
  readonly caller?: string | null;
  readonly base64?: boolean;
  /**
   * `event.path` when it differs from the path routed on: behind a custom domain it starts with the base path
   * mapping (`/admin/v1/...`).
   */
  readonly eventPath?: string;
  /** The Lambda context's remaining time; undefined: no context, as when the handler is called directly. */
  readonly remainingMs?: number;
}

/** `path` is the raw (still percent-encoded) path, as in REST API proxy events. */
export function proxyEvent(method: string, path: string, options: EventOptions = {}): APIGatewayProxyEvent {
  const headers: Record<string, string> = { Host: 'admin.example.com', ...options.headers };
  let body: string | null = null;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  if (body !== null && options.base64) body = Buffer.from(body, 'utf8').toString('base64');
  const multiQuery = options.query
    ? Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]))
    : null;
  const singleQuery = multiQuery
    ? Object.fromEntries(Object.entries(multiQuery).map(([k, v]) => [k, v[v.length - 1]]))
    : null;
  return {
    resource: '/{proxy+}',
    path: options.eventPath ?? path,
    httpMethod: method,
    headers,
    multiValueHeaders: multiValueOf(headers),
    queryStringParameters: singleQuery,
    multiValueQueryStringParameters: multiQuery,
    // API Gateway decodes path parameters (a %2F in the path becomes a / in proxy); event.path stays encoded.
    pathParameters: { proxy: path.split('/').slice(1).map(decodeLeniently).join('/') },
    stageVariables: null,
    body,
    isBase64Encoded: Boolean(options.base64),
    requestContext: {
      accountId: '123456789012',
      apiId: 'admin12345',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: `/v1${path}`,
      stage: 'v1',
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      requestTimeEpoch: Date.now(),
      resourceId: 'res1',
      resourcePath: '/{proxy+}',
      identity: eventIdentity({
        sourceIp: '192.0.2.10',
        accessKey: 'AKIAEXAMPLE',
        accountId: '123456789012',
        caller: options.caller === undefined ? 'AIDAEXAMPLE' : options.caller,
        user: 'AIDAEXAMPLE',
        userArn: options.userArn === undefined ? ADMIN_ARN : options.userArn,
      }),
    },
  };
}

function decodeLeniently(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface Reply {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON of any route: tests assert on it field by field, and the conformance test checks it against the contract's schemas
  readonly body: any;
  readonly headers: Record<string, string>;
}

export interface Harness {
  readonly ddb: DynamoDBClient;
  readonly names: TableNames;
  readonly store: AdminStore;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** The handler itself, for callers that bring their own proxy events (integ/'s, from its snapshot). */
  readonly handler: AdminHandler;
  call(method: string, path: string, options?: EventOptions): Promise<Reply>;
  /**
   * Records sightings as the authorizer does (the same UpdateItem), for tests of the routes that read traffic.
   * `retentionSeconds` defaults to 30 days.
   */
  recordSightings(updates: readonly SightingUpdate[], retentionSeconds?: number): Promise<void>;
  /** Every audit record of an organization, newest first, read straight from the table. */
  auditRecords(organizationId: string): Promise<AuditEvent[]>;
  destroy(): void;
}

export interface HarnessOptions {
  readonly maxEntries?: number;
  readonly propagationDelaySeconds?: number;
  readonly memoryCacheTtlSeconds?: number;
  /** @default 1 (the smallest bound: writes with a protected stage wait it before their last flush) */
  readonly maxDecisionAgeSeconds?: number;
  /** @default - the split of the propagation delay */
  readonly gatewayTtlSeconds?: number;
  readonly flusher?: StageCacheFlusher;
  readonly protectedStages?: { restApiId: string; stageName: string }[];
  /** Another DynamoDB client for the handler (e.g. one pointed at a dead endpoint). */
  readonly handlerClient?: DynamoDBClient;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** @default - 30 days */
  readonly trafficRetentionSeconds?: number;
  /**
   * The Traffic table the handler reads: null for a deployment that records no traffic (no reader), or another
   * table name (one that does not exist makes every traffic read fail).
   * @default - the harness's Traffic table
   */
  readonly trafficTable?: string | null;
  /** @default - DEFAULT_MAX_SCOPE_ITEMS */
  readonly trafficReadMaxItems?: number;
  /**
   * `none`: a deployment that records no traffic (no Traffic table); a function: the reader the handler gets, on
   * the handler's client and the Traffic table.
   *
   * @default - a TrafficReader on the handler's client
   */
  readonly traffic?: 'none' | ((client: DynamoDBClient, tableName: string) => TrafficReader);
}

export async function makeHarness(label: string, options: HarnessOptions = {}): Promise<Harness> {
  const ddb = localClient(testEndpoint());
  const names = await createTables(ddb, uniquePrefix(label));
  const logger = recordingLogger();
  const store = new AdminStore(options.handlerClient ?? ddb, names, logger);
  const deps: AdminDependencies = {
    store,
    traffic:
      options.trafficTable === null || options.traffic === 'none'
        ? undefined
        : (options.traffic ?? ((c, t) => new TrafficReader(c, t)))(
            options.handlerClient ?? ddb,
            options.trafficTable ?? names.traffic,
          ),
    flusher: options.flusher ?? NO_STAGE_FLUSHER,
    config: {
      maxEntries: options.maxEntries ?? 50,
      propagationDelaySeconds: options.propagationDelaySeconds ?? 300,
      memoryCacheTtlSeconds: options.memoryCacheTtlSeconds ?? 0,
      maxDecisionAgeSeconds: options.maxDecisionAgeSeconds ?? 1,
      gatewayTtlSeconds: options.gatewayTtlSeconds,
      protectedStages: options.protectedStages,
      trafficRetentionSeconds: options.trafficRetentionSeconds,
      trafficReadMaxItems: options.trafficReadMaxItems,
    },
    logger,
    sleep: options.sleep,
    now: options.now,
  };
  const handler = createAdminHandler(deps);
  return {
    ddb,
    names,
    store,
    logger,
    handler,
    async call(method, path, eventOptions) {
      const remainingMs = eventOptions?.remainingMs;
      const context = remainingMs === undefined ? undefined : { getRemainingTimeInMillis: () => remainingMs };
      const res = await handler(proxyEvent(method, path, eventOptions), context);
      return {
        status: res.statusCode,
        body: JSON.parse(res.body),
        headers: (res.headers ?? {}) as Record<string, string>,
      };
    },
    async recordSightings(updates, retentionSeconds = 30 * 86_400) {
      for (const update of updates) {
        await writeSighting(ddb, names.traffic, update, retentionSeconds);
      }
    },
    async auditRecords(organizationId) {
      const out = await ddb.send(
        new QueryCommand({
          TableName: names.auditLog,
          KeyConditionExpression: 'organizationId = :o',
          ExpressionAttributeValues: { ':o': { S: organizationId } },
          ScanIndexForward: false,
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []).map(auditEventFromItem);
    },
    destroy() {
      ddb.destroy();
    },
  };
}

/** Asserts the error shape every error of the API has, and returns the error object. */
/** The authorizer's real store on the harness's tables: what the authorizer reads after the admin API wrote. */
export function authorizerStore(h: Harness): DynamoDbAuthorizerStore {
  return new DynamoDbAuthorizerStore({
    client: h.ddb,
    allowlistsTableName: h.names.allowlists,
    apiKeysTableName: h.names.apiKeys,
  });
}

/** A project's API keys route. */
export const keysPath = (org: string, project: string) => `/v1/organizations/${org}/projects/${project}/api_keys`;

export function expectError(reply: Reply, status: number, code: string): Record<string, unknown> {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code });
  const error = reply.body.error;
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(10);
  expect(typeof error.type).toBe('string');
  expect(error.param === null || typeof error.param === 'string').toBe(true);
  expect(reply.headers['Content-Type']).toBe('application/json');
  return error;
}

/**
 * A tiny stand-in for API Gateway's control plane: records the requests it gets and answers
 * FlushStageAuthorizersCache (DELETE /restapis/{id}/stages/{stage}/cache/authorizers) with 202, or with
 * `failWith` when set.
 */
export interface FakeControlPlane {
  readonly endpoint: string;
  readonly requests: { method: string; url: string }[];
  failWith: number | undefined;
  /** When set, only flushes of this REST API id fail with `failWith`; the others succeed. */
  failOnlyApi: string | undefined;
  /** Never answer (until close). */
  hang: boolean;
  client(): APIGatewayClient;
  flusher(
    targets: { restApiId: string; stageName: string }[],
    logger: Parameters<typeof createStageCacheFlusher>[2],
    timeoutMs?: number,
  ): StageCacheFlusher;
  close(): Promise<void>;
}

export async function startFakeControlPlane(): Promise<FakeControlPlane> {
  const requests: { method: string; url: string }[] = [];
  const clients: APIGatewayClient[] = [];
  const state = {
    failWith: undefined as number | undefined,
    failOnlyApi: undefined as string | undefined,
    hang: false,
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '' });
      if (state.hang) return;
      const failsHere =
        state.failOnlyApi === undefined || (req.url ?? '').startsWith(`/restapis/${state.failOnlyApi}/`);
      if (state.failWith !== undefined && failsHere) {
        res.writeHead(state.failWith, {
          'Content-Type': 'application/json',
          'x-amzn-ErrorType': 'TooManyRequestsException',
        });
        res.end(JSON.stringify({ message: 'Too Many Requests' }));
        return;
      }
      res.writeHead(202, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${port}`;
  const plane: FakeControlPlane = {
    endpoint,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    get failOnlyApi() {
      return state.failOnlyApi;
    },
    set failOnlyApi(v) {
      state.failOnlyApi = v;
    },
    get hang() {
      return state.hang;
    },
    set hang(v) {
      state.hang = v;
    },
    client() {
      const c = new APIGatewayClient({
        endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
      });
      clients.push(c);
      return c;
    },
    flusher(targets, logger, timeoutMs) {
      return createStageCacheFlusher(plane.client(), targets, logger, timeoutMs);
    },
    close() {
      clients.forEach((c) => c.destroy());
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
  return plane;
}

export const FLUSH_PATH = (restApiId: string, stageName: string) =>
  `/restapis/${restApiId}/stages/${stageName}/cache/authorizers`;
