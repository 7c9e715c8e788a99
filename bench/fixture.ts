import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { allowlistToAttributes, apiKeyToItem } from '../lambda/adapters/items';
import { ALLOWLISTS_TABLE, organizationAllowlistPk, projectAllowlistPk, projectScope } from '../lambda/adapters/schema';
import { generateApiKey } from '../lambda/core/api-key';
import { requestAuthorizerEvent } from '../test/support/api-gateway-events';
import { AllowlistSettings, ApiKeyRecord, EMPTY_ALLOWLIST } from '../lambda/core/model';

/** One organization, project and key with its lists, built with the product's own key format and item mapping. */
export interface Tenant {
  /** The secret, as a client sends it. */
  readonly key: string;
  readonly record: ApiKeyRecord;
  readonly organization: AllowlistSettings;
  readonly project: AllowlistSettings;
}

export function allowlist(entries: readonly string[], enabled = true): AllowlistSettings {
  const createdAt = '2025-01-01T00:00:00.000Z';
  return {
    enabled,
    entries: entries.map((value) => ({ value, description: 'bench', createdAt, createdBy: 'bench' })),
    version: 1,
    updatedAt: createdAt,
    updatedBy: 'bench',
  };
}

export function makeTenant(options: {
  organizationId: string;
  projectId: string;
  organization?: AllowlistSettings;
  project?: AllowlistSettings;
  keyList?: AllowlistSettings;
  status?: 'active' | 'revoked';
}): Tenant {
  const generated = generateApiKey({ organizationId: options.organizationId, projectId: options.projectId });
  const record: ApiKeyRecord = {
    keyHash: generated.keyHash,
    keyId: generated.keyId,
    organizationId: options.organizationId,
    projectId: options.projectId,
    name: 'bench',
    status: options.status ?? 'active',
    redactedValue: generated.redactedValue,
    createdAt: '2025-01-01T00:00:00.000Z',
    createdBy: 'bench',
    allowlist: options.keyList,
  };
  return {
    key: generated.key,
    record,
    organization: options.organization ?? EMPTY_ALLOWLIST,
    project: options.project ?? EMPTY_ALLOWLIST,
  };
}

/** Writes the tenant's key and (non-empty) lists with the same item shapes the admin API writes. */
export async function seedTenant(
  client: DynamoDBClient,
  tables: { allowlists: string; apiKeys: string },
  tenant: Tenant,
): Promise<void> {
  const { organizationId, projectId } = tenant.record;
  await client.send(
    new PutItemCommand({
      TableName: tables.apiKeys,
      Item: apiKeyToItem(tenant.record, projectScope(organizationId, projectId)),
    }),
  );
  const pk = ALLOWLISTS_TABLE.partitionKey.name;
  if (tenant.organization.version > 0) {
    await client.send(
      new PutItemCommand({
        TableName: tables.allowlists,
        Item: { [pk]: { S: organizationAllowlistPk(organizationId) }, ...allowlistToAttributes(tenant.organization) },
      }),
    );
  }
  if (tenant.project.version > 0) {
    await client.send(
      new PutItemCommand({
        TableName: tables.allowlists,
        Item: { [pk]: { S: projectAllowlistPk(organizationId, projectId) }, ...allowlistToAttributes(tenant.project) },
      }),
    );
  }
}

/** A REQUEST-authorizer event as API Gateway sends it, with a spoofed X-Forwarded-For the authorizer must ignore. */
export function authorizerEvent(
  key: string | undefined,
  sourceIp: string,
  method = 'GET',
  resourcePath = '/v1/things',
) {
  return requestAuthorizerEvent({
    key,
    sourceIp,
    method,
    resourcePath,
    apiId: 'abc123',
    region: 'us-east-1',
    requestId: 'bench',
    headers: { Host: 'abc123.execute-api.us-east-1.amazonaws.com', 'X-Forwarded-For': '198.51.100.77' },
  });
}
