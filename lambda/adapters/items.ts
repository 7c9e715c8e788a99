import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { AllowlistEntry, AllowlistSettings, ApiKeyRecord, ApiKeyStatus, EMPTY_ALLOWLIST } from '../core/model';

/**
 * DynamoDB item <-> core record mapping, shared by the authorizer (reads) and the admin API (writes), so both
 * sides agree on one item shape (documented in schema.ts). Hand-written because the items are small and fixed,
 * and the authorizer bundle then needs nothing beyond the client that the Lambda runtime provides.
 */

export type Item = Record<string, AttributeValue>;

export class CorruptItemError extends Error {
  constructor(what: string, item: unknown) {
    super(`corrupt DynamoDB item: ${what} (${JSON.stringify(item)?.slice(0, 200)})`);
    this.name = 'CorruptItemError';
  }
}

function str(item: Item, name: string, required = true): string | undefined {
  const v = item[name];
  if (v === undefined) {
    if (required) throw new CorruptItemError(`missing string ${name}`, item);
    return undefined;
  }
  if (v.S === undefined) throw new CorruptItemError(`${name} is not a string`, item);
  return v.S;
}

export function allowlistToAttributes(settings: AllowlistSettings): Item {
  const item: Item = {
    enabled: { BOOL: settings.enabled },
    entries: {
      L: settings.entries.map((e) => ({
        M: {
          value: { S: e.value },
          description: { S: e.description },
          createdAt: { S: e.createdAt },
          createdBy: { S: e.createdBy },
        },
      })),
    },
    version: { N: String(settings.version) },
  };
  if (settings.updatedAt !== undefined) item.updatedAt = { S: settings.updatedAt };
  if (settings.updatedBy !== undefined) item.updatedBy = { S: settings.updatedBy };
  return item;
}

/** An Allowlists item (or the `allowlist` map of an ApiKeys item); undefined (no item) is the empty, disabled list. */
export function allowlistFromAttributes(item: Item | undefined): AllowlistSettings {
  if (!item) return EMPTY_ALLOWLIST;
  const enabled = item.enabled?.BOOL;
  if (enabled === undefined) throw new CorruptItemError('enabled is not a boolean', item);
  const list = item.entries?.L;
  if (!list) throw new CorruptItemError('entries is not a list', item);
  const entries: AllowlistEntry[] = list.map((av) => {
    const m = av.M;
    if (!m) throw new CorruptItemError('entry is not a map', item);
    return {
      value: str(m, 'value')!,
      description: str(m, 'description', false) ?? '',
      createdAt: str(m, 'createdAt', false) ?? '',
      createdBy: str(m, 'createdBy', false) ?? '',
    };
  });
  const version = Number(item.version?.N);
  if (!Number.isInteger(version) || version < 0) throw new CorruptItemError('version is not a whole number', item);
  return {
    enabled,
    entries,
    version,
    updatedAt: str(item, 'updatedAt', false),
    updatedBy: str(item, 'updatedBy', false),
  };
}

export function apiKeyToItem(record: ApiKeyRecord, projectScope: string): Item {
  const item: Item = {
    keyHash: { S: record.keyHash },
    keyId: { S: record.keyId },
    organizationId: { S: record.organizationId },
    projectId: { S: record.projectId },
    projectScope: { S: projectScope },
    name: { S: record.name },
    status: { S: record.status },
    redactedValue: { S: record.redactedValue },
    createdAt: { S: record.createdAt },
    createdBy: { S: record.createdBy },
  };
  if (record.revokedAt !== undefined) item.revokedAt = { S: record.revokedAt };
  if (record.allowlist !== undefined) item.allowlist = { M: allowlistToAttributes(record.allowlist) };
  return item;
}

export function apiKeyFromItem(item: Item): ApiKeyRecord {
  const status = str(item, 'status');
  if (status !== 'active' && status !== 'revoked') throw new CorruptItemError(`unknown status ${status}`, item);
  const allowlistMap = item.allowlist?.M;
  return {
    keyHash: str(item, 'keyHash')!,
    keyId: str(item, 'keyId')!,
    organizationId: str(item, 'organizationId')!,
    projectId: str(item, 'projectId')!,
    name: str(item, 'name', false) ?? '',
    status: status as ApiKeyStatus,
    redactedValue: str(item, 'redactedValue', false) ?? '',
    createdAt: str(item, 'createdAt', false) ?? '',
    createdBy: str(item, 'createdBy', false) ?? '',
    revokedAt: str(item, 'revokedAt', false),
    allowlist: allowlistMap ? allowlistFromAttributes(allowlistMap) : undefined,
  };
}
