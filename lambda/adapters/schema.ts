/**
 * The DynamoDB layout: one source of truth read by the construct (lib/allowlist-tables.ts) to create the tables,
 * by the adapters to build keys, and by tests and local mode to create the same tables in DynamoDB Local.
 *
 * Tables
 * - Allowlists: partition key `pk`.
 *     organization list: pk = `ORG#<org>`
 *     project list:      pk = `ORG#<org>#PROJECT#<project>`
 *   attributes: enabled (BOOL), entries (L of M {value, description, createdAt, createdBy}), version (N),
 *   updatedAt (S), updatedBy (S). No item = disabled, no entries, version 0.
 * - ApiKeys: partition key `keyHash` (hex SHA-256 of the secret). attributes: keyId, organizationId, projectId,
 *   projectScope (= `ORG#<org>#PROJECT#<project>`, the GSI partition), name, status, redactedValue, createdAt,
 *   createdBy, revokedAt?, allowlist? (M, same shape as an Allowlists item without pk).
 *   GSI `byProject`: partition `projectScope`, sort `keyId` (list a project's keys; find one by id).
 * - AuditLog: partition `organizationId`, sort `eventId` (= `<ISO time>#<random>`, so a reverse Query is newest
 *   first). attributes: at, actor, action, scope, target, before, after (JSON strings; for a large list either
 *   both gzip-compressed in `snapshotGzip`, or both bounded: see admin-store.ts auditEventToItem), requestId.
 *   Append-only: written with attribute_not_exists(eventId), never updated or deleted.
 *
 * Ids are restricted to ID_PATTERN (no `#`), so the composite keys cannot collide.
 */

export interface AttributeSchema {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface TableSchema {
  /** Logical name, also the construct id of the table. */
  readonly logicalName: 'Allowlists' | 'ApiKeys' | 'AuditLog';
  readonly partitionKey: AttributeSchema;
  readonly sortKey?: AttributeSchema;
  readonly globalSecondaryIndexes?: readonly {
    readonly indexName: string;
    readonly partitionKey: AttributeSchema;
    readonly sortKey?: AttributeSchema;
  }[];
}

export const ALLOWLISTS_TABLE: TableSchema = {
  logicalName: 'Allowlists',
  partitionKey: { name: 'pk', type: 'S' },
};

export const API_KEYS_BY_PROJECT_INDEX = 'byProject';

export const API_KEYS_TABLE: TableSchema = {
  logicalName: 'ApiKeys',
  partitionKey: { name: 'keyHash', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: API_KEYS_BY_PROJECT_INDEX,
      partitionKey: { name: 'projectScope', type: 'S' },
      sortKey: { name: 'keyId', type: 'S' },
    },
  ],
};

export const AUDIT_LOG_TABLE: TableSchema = {
  logicalName: 'AuditLog',
  partitionKey: { name: 'organizationId', type: 'S' },
  sortKey: { name: 'eventId', type: 'S' },
};

export const TABLE_SCHEMAS = [ALLOWLISTS_TABLE, API_KEYS_TABLE, AUDIT_LOG_TABLE] as const;

export function organizationAllowlistPk(organizationId: string): string {
  return `ORG#${organizationId}`;
}

export function projectAllowlistPk(organizationId: string, projectId: string): string {
  return `ORG#${organizationId}#PROJECT#${projectId}`;
}

export function projectScope(organizationId: string, projectId: string): string {
  return `ORG#${organizationId}#PROJECT#${projectId}`;
}

/** Environment variables through which the construct passes table names to the Lambdas. */
export const ENV = {
  allowlistsTable: 'ALLOWLISTS_TABLE_NAME',
  apiKeysTable: 'API_KEYS_TABLE_NAME',
  auditLogTable: 'AUDIT_LOG_TABLE_NAME',
} as const;
