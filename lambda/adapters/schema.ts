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
 * - Traffic: partition `pk` (= `ORG#<org>`), sort `sk` (= `<project>#<keyId>#<sourceIp>#<outcome>`), TTL
 *   `expiresAt`; index `byLastSeen` (pk, lastSeen). The sightings the authorizer records: traffic-items.ts.
 *
 * Ids are restricted to ID_PATTERN (no `#`), so the composite keys cannot collide.
 */

// The tables' key schemas are part of the contract with the construct that creates them.
export {
  ALLOWLISTS_TABLE,
  API_KEYS_BY_PROJECT_INDEX,
  API_KEYS_TABLE,
  AUDIT_LOG_TABLE,
  TABLE_SCHEMAS,
  TRAFFIC_BY_LAST_SEEN_INDEX,
  TRAFFIC_TABLE,
  type AttributeSchema,
  type TableSchema,
} from '../../lib/contract';

export function organizationAllowlistPk(organizationId: string): string {
  return `ORG#${organizationId}`;
}

export function projectAllowlistPk(organizationId: string, projectId: string): string {
  return `ORG#${organizationId}#PROJECT#${projectId}`;
}

export function projectScope(organizationId: string, projectId: string): string {
  return `ORG#${organizationId}#PROJECT#${projectId}`;
}

/** Environment variables through which the construct passes table names to the Lambdas (lib/contract.ts). */
export { ENV } from '../../lib/contract';
