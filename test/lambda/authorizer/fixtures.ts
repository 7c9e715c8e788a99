import { BatchGetItemCommandInput, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { allowlistToAttributes, apiKeyToItem } from '../../../lambda/adapters/items';
import { organizationAllowlistPk, projectAllowlistPk, projectScope } from '../../../lambda/adapters/schema';
import { generateApiKey } from '../../../lambda/core/api-key';
import { AllowlistSettings, ApiKeyStatus } from '../../../lambda/core/model';
import { requestAuthorizerEvent } from '../../support/api-gateway-events';
import { createTables, localClient, TableNames, testEndpoint, uniquePrefix } from '../../support/dynamodb-local';

/** Shared set-up for the authorizer's tests: real tables in the run's DynamoDB Local, seeded through items.ts. */

export const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123defg/prod/GET/v1/models';
export const STAGE_RESOURCE = 'arn:aws:execute-api:eu-west-1:123456789012:abc123defg/prod/*/*';

/** A real client that counts what it sends: per command, and per HTTP attempt (round trips). */
export interface CountingClient {
  readonly client: DynamoDBClient;
  /** Commands sent, by name (e.g. BatchGetItemCommand). */
  readonly commands: Record<string, number>;
  /** HTTP requests made, retries included. */
  roundTrips(): number;
  /** Inputs of the BatchGetItem commands sent, in order. */
  readonly batchGets: BatchGetItemCommandInput[];
  /** While set, every command fails with this error before reaching the network. */
  fault: Error | undefined;
  reset(): void;
}

export function countingClient(
  endpoint = testEndpoint(),
  overrides: Parameters<typeof localClient>[1] = {},
): CountingClient {
  const client = localClient(endpoint, overrides);
  const commands: Record<string, number> = {};
  const batchGets: BatchGetItemCommandInput[] = [];
  let http = 0;
  const counting: CountingClient = {
    client,
    commands,
    batchGets,
    fault: undefined,
    roundTrips: () => http,
    reset() {
      for (const k of Object.keys(commands)) delete commands[k];
      batchGets.length = 0;
      http = 0;
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName as string;
      commands[name] = (commands[name] ?? 0) + 1;
      if (name === 'BatchGetItemCommand') batchGets.push(structuredClone(args.input as BatchGetItemCommandInput));
      if (counting.fault) throw counting.fault;
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  // The deserialize step runs once per attempt, inside the retry loop: one HTTP exchange each.
  client.middlewareStack.add(
    (next) => async (args) => {
      http += 1;
      return next(args);
    },
    { step: 'deserialize', name: 'countRoundTrips' },
  );
  return counting;
}

export interface Tables {
  readonly admin: DynamoDBClient;
  readonly names: TableNames;
}

export async function makeTables(label: string): Promise<Tables> {
  const admin = localClient(testEndpoint());
  const names = await createTables(admin, uniquePrefix(label));
  return { admin, names };
}

export function list(enabled: boolean, ...values: string[]): AllowlistSettings {
  return {
    enabled,
    entries: values.map((value) => ({
      value,
      description: `test ${value}`,
      createdAt: '2026-01-01T00:00:00Z',
      createdBy: 'test',
    })),
    version: 1,
  };
}

export async function putOrgList(t: Tables, organizationId: string, settings: AllowlistSettings): Promise<void> {
  await t.admin.send(
    new PutItemCommand({
      TableName: t.names.allowlists,
      Item: { pk: { S: organizationAllowlistPk(organizationId) }, ...allowlistToAttributes(settings) },
    }),
  );
}

export async function putProjectList(
  t: Tables,
  organizationId: string,
  projectId: string,
  settings: AllowlistSettings,
): Promise<void> {
  await t.admin.send(
    new PutItemCommand({
      TableName: t.names.allowlists,
      Item: { pk: { S: projectAllowlistPk(organizationId, projectId) }, ...allowlistToAttributes(settings) },
    }),
  );
}

export interface SeededKey {
  readonly key: string;
  readonly keyId: string;
  readonly keyHash: string;
}

export async function putKey(
  t: Tables,
  organizationId: string,
  projectId: string,
  options: {
    status?: ApiKeyStatus;
    allowlist?: AllowlistSettings;
    /** Store the record under other ids than the key's route claims. */
    recordOrganizationId?: string;
  } = {},
): Promise<SeededKey> {
  const generated = generateApiKey({ organizationId, projectId });
  const recordOrg = options.recordOrganizationId ?? organizationId;
  await t.admin.send(
    new PutItemCommand({
      TableName: t.names.apiKeys,
      Item: apiKeyToItem(
        {
          keyHash: generated.keyHash,
          keyId: generated.keyId,
          organizationId: recordOrg,
          projectId,
          name: 'test key',
          status: options.status ?? 'active',
          redactedValue: generated.redactedValue,
          createdAt: '2026-01-01T00:00:00Z',
          createdBy: 'test',
          revokedAt: options.status === 'revoked' ? '2026-01-02T00:00:00Z' : undefined,
          allowlist: options.allowlist,
        },
        projectScope(recordOrg, projectId),
      ),
    }),
  );
  return { key: generated.key, keyId: generated.keyId, keyHash: generated.keyHash };
}

/** A REST API REQUEST authorizer event as API Gateway sends it (for METHOD_ARN unless told otherwise). */
export function authorizerEvent(options: {
  key?: string;
  sourceIp: string;
  headers?: Record<string, string>;
  methodArn?: string;
  requestId?: string;
}): APIGatewayRequestAuthorizerEvent {
  return requestAuthorizerEvent({ ...options, methodArn: options.methodArn ?? METHOD_ARN });
}

/** Everything written to stdout/stderr while active (Powertools Logger and Metrics write there). */
export function captureOutput(): { lines(): string[]; text(): string; restore(): void } {
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }),
  );
  return {
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== ''),
    restore: () => spies.forEach((s) => s.mockRestore()),
  };
}

/** The JSON log lines whose message is `message`. */
export function logRecords(lines: string[], message: string): Record<string, unknown>[] {
  return lines
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.message === message);
}
