import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactWriteItem,
  TransactWriteItemsCommand,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { AllowlistScope, AllowlistSettings, ApiKeyRecord } from '../core/model';
import {
  CorruptAllowlist,
  Item,
  StoredApiKey,
  StoredListGuard,
  allowlistFromAttributes,
  allowlistToAttributes,
  apiKeyToItem,
  requireCanonicalEntries,
  storedApiKeyFromItem,
} from './items';
import { API_KEYS_BY_PROJECT_INDEX, organizationAllowlistPk, projectAllowlistPk, projectScope } from './schema';

/**
 * The admin API's side of DynamoDB. Every change is ONE TransactWriteItems: the item write, conditioned on the
 * version (or status) the change was computed from, plus the audit record. So there is no change without its
 * record and no record without its change, and a writer that computed its change from stale data writes nothing
 * (`WriteConflictError`) and can re-read and try again.
 */

export interface AdminTableNames {
  readonly allowlists: string;
  readonly apiKeys: string;
  readonly auditLog: string;
}

/** The organization or project list (Allowlists table). Key lists live on their key's item: see `KeyListTarget`. */
export type ScopeListTarget =
  | { readonly scope: 'organization'; readonly organizationId: string }
  | { readonly scope: 'project'; readonly organizationId: string; readonly projectId: string };

export interface KeyListTarget {
  readonly scope: 'key';
  readonly organizationId: string;
  readonly projectId: string;
  readonly keyId: string;
}

export type AllowlistTarget = ScopeListTarget | KeyListTarget;

/** One audit record. `before`/`after` are plain data (serialized as JSON); null where there is none. */
export interface AuditEvent {
  readonly organizationId: string;
  /** `<ISO time>#<random>`: the sort key, so a reverse query is newest first. */
  readonly eventId: string;
  readonly at: string;
  /** IAM ARN of the caller (or `local:<user>` in local mode). */
  readonly actor: string;
  /** e.g. `ip_allowlist.entries.add`, `api_key.create`. */
  readonly action: string;
  readonly scope: AllowlistScope;
  /** The changed resource as a path below /v1, e.g. `organizations/acme/projects/web/ip_allowlist`. */
  readonly target: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly requestId?: string;
}

/** The item changed since it was read (or a concurrent transaction held it): re-read and retry. */
export class WriteConflictError extends Error {
  constructor(message = 'conditional write lost to a concurrent change') {
    super(message);
    this.name = 'WriteConflictError';
  }
}

/** The change would make an item larger than DynamoDB's 400 KB item limit. */
export class ItemTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ItemTooLargeError';
  }
}

/** Any other storage failure (network, throttling, permissions, missing table): the request fails with 503. */
export class StoreUnavailableError extends Error {
  constructor(readonly cause: unknown) {
    super(`DynamoDB request failed: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
    this.name = 'StoreUnavailableError';
  }
}

export interface Page<T> {
  readonly items: readonly T[];
  /** DynamoDB's LastEvaluatedKey: more items may follow. */
  readonly lastEvaluatedKey?: Item;
}

/**
 * The SDK client settings of the admin Lambda's DynamoDB client. Without timeouts a stalled connection would
 * hold a write until the Lambda is killed and the caller gets API Gateway's 504 instead of our 503.
 */
export const ADMIN_DYNAMODB_CLIENT = { maxAttempts: 2, connectionTimeoutMs: 1000, requestTimeoutMs: 2000 } as const;

/** The admin Lambda's DynamoDB client, created once per container. */
export function createAdminDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: ADMIN_DYNAMODB_CLIENT.maxAttempts,
    requestHandler: {
      connectionTimeout: ADMIN_DYNAMODB_CLIENT.connectionTimeoutMs,
      requestTimeout: ADMIN_DYNAMODB_CLIENT.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}

export function newEventId(at: string): string {
  return `${at}#${randomBytes(6).toString('base64url')}`;
}

/** DynamoDB's item limit is 400 KB; an audit record whose JSON would come near it is stored gzip-compressed. */
const AUDIT_INLINE_LIMIT_BYTES = 300 * 1024;
const ITEM_LIMIT_BYTES = 400 * 1024;

export function allowlistPk(target: ScopeListTarget): string {
  return target.scope === 'organization'
    ? organizationAllowlistPk(target.organizationId)
    : projectAllowlistPk(target.organizationId, target.projectId);
}

export class AdminStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: AdminTableNames,
  ) {}

  // ---- reads -------------------------------------------------------------------------------------------------

  /**
   * The organization or project list; a list never written is the empty, disabled list (version 0).
   *
   * @throws CorruptAllowlistError when the stored list is unreadable
   */
  async readScopeList(target: ScopeListTarget): Promise<AllowlistSettings> {
    const out = await this.call(() =>
      this.client.send(
        new GetItemCommand({
          TableName: this.tables.allowlists,
          Key: { pk: { S: allowlistPk(target) } },
          ConsistentRead: true,
        }),
      ),
    );
    const settings = allowlistFromAttributes(out.Item);
    if (out.Item) requireCanonicalEntries(settings, out.Item);
    return settings;
  }

  /**
   * A key of one project, by id. The id is found through the byProject index, then the item itself is read
   * with a consistent read, so a write computed from it sees the latest version and status. A key whose own list
   * is unreadable is still found (it can be revoked, and its list replaced), with `corruptAllowlist` set.
   */
  async findApiKey(organizationId: string, projectId: string, keyId: string): Promise<StoredApiKey | undefined> {
    const found = await this.call(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tables.apiKeys,
          IndexName: API_KEYS_BY_PROJECT_INDEX,
          KeyConditionExpression: 'projectScope = :s AND keyId = :k',
          ExpressionAttributeValues: { ':s': { S: projectScope(organizationId, projectId) }, ':k': { S: keyId } },
          ProjectionExpression: 'keyHash',
        }),
      ),
    );
    const keyHash = found.Items?.[0]?.keyHash?.S;
    if (!keyHash) return undefined;
    const out = await this.call(() =>
      this.client.send(
        new GetItemCommand({ TableName: this.tables.apiKeys, Key: { keyHash: { S: keyHash } }, ConsistentRead: true }),
      ),
    );
    if (!out.Item) return undefined;
    const record = storedApiKeyFromItem(out.Item);
    // The index is keyed by the project; a record naming another one would be corrupt, never a match.
    return record.organizationId === organizationId && record.projectId === projectId ? record : undefined;
  }

  async listApiKeys(
    organizationId: string,
    projectId: string,
    limit: number,
    exclusiveStartKey?: Item,
  ): Promise<Page<StoredApiKey>> {
    const out = await this.call(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tables.apiKeys,
          IndexName: API_KEYS_BY_PROJECT_INDEX,
          KeyConditionExpression: 'projectScope = :s',
          ExpressionAttributeValues: { ':s': { S: projectScope(organizationId, projectId) } },
          Limit: limit,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      ),
    );
    return { items: (out.Items ?? []).map(storedApiKeyFromItem), lastEvaluatedKey: out.LastEvaluatedKey };
  }

  /** Newest first. */
  async listAuditEvents(organizationId: string, limit: number, exclusiveStartKey?: Item): Promise<Page<AuditEvent>> {
    const out = await this.call(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tables.auditLog,
          KeyConditionExpression: 'organizationId = :o',
          ExpressionAttributeValues: { ':o': { S: organizationId } },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: limit,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      ),
    );
    return { items: (out.Items ?? []).map(auditEventFromItem), lastEvaluatedKey: out.LastEvaluatedKey };
  }

  // ---- writes ------------------------------------------------------------------------------------------------

  /**
   * Writes `next` for an organization or project list if it is still at `expectedVersion` (0: no item yet).
   *
   * `overwriting`: the corrupt list that was read instead (its guard replaces the version condition).
   *
   * @throws WriteConflictError when it is not (nothing written)
   */
  async commitScopeList(
    target: ScopeListTarget,
    expectedVersion: number,
    nextSettings: AllowlistSettings,
    audit: AuditEvent,
    overwriting?: CorruptAllowlist,
  ): Promise<void> {
    const item: Item = { pk: { S: allowlistPk(target) }, ...allowlistToAttributes(nextSettings) };
    checkItemSize(item, 'the allowlist');
    await this.transact([
      {
        Put: {
          TableName: this.tables.allowlists,
          Item: item,
          ...(overwriting ? guardCondition(overwriting.guard, undefined, 'pk') : versionCondition('version', expectedVersion, 'pk')),
        },
      },
      this.auditPut(audit),
    ]);
  }

  /**
   * Writes a key's own list if the key is still active and its list still at `expectedVersion`.
   *
   * `overwriting`: the corrupt list that was read instead (its guard replaces the version condition).
   *
   * @throws WriteConflictError otherwise (nothing written; the caller re-reads to find out which)
   */
  async commitKeyList(
    key: ApiKeyRecord,
    expectedVersion: number,
    nextSettings: AllowlistSettings,
    audit: AuditEvent,
    overwriting?: CorruptAllowlist,
  ): Promise<void> {
    const list = allowlistToAttributes(nextSettings);
    checkItemSize({ ...apiKeyToItem(key, projectScope(key.organizationId, key.projectId)), allowlist: { M: list } }, 'the API key with its allowlist');
    const listCheck: Condition = overwriting
      ? guardCondition(overwriting.guard, '#al', '#al')
      : expectedVersion === 0
        ? { ConditionExpression: 'attribute_not_exists(#al)' }
        : {
            ConditionExpression: '#al.#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
          };
    await this.transact([
      {
        Update: {
          TableName: this.tables.apiKeys,
          Key: { keyHash: { S: key.keyHash } },
          UpdateExpression: 'SET #al = :al',
          ConditionExpression: `attribute_exists(keyHash) AND #status = :active AND (${listCheck.ConditionExpression})`,
          ExpressionAttributeNames: { '#al': 'allowlist', '#status': 'status', ...listCheck.ExpressionAttributeNames },
          ExpressionAttributeValues: {
            ':al': { M: list },
            ':active': { S: 'active' },
            ...listCheck.ExpressionAttributeValues,
          },
        },
      },
      this.auditPut(audit),
    ]);
  }

  /** Stores a new key (its hash, never the secret). */
  async createApiKey(record: ApiKeyRecord, audit: AuditEvent): Promise<void> {
    await this.transact([
      {
        Put: {
          TableName: this.tables.apiKeys,
          Item: apiKeyToItem(record, projectScope(record.organizationId, record.projectId)),
          ConditionExpression: 'attribute_not_exists(keyHash)',
        },
      },
      this.auditPut(audit),
    ]);
  }

  /**
   * Marks an active key revoked.
   *
   * @throws WriteConflictError if it is no longer active (nothing written)
   */
  async revokeApiKey(key: ApiKeyRecord, revokedAt: string, audit: AuditEvent): Promise<void> {
    await this.transact([
      {
        Update: {
          TableName: this.tables.apiKeys,
          Key: { keyHash: { S: key.keyHash } },
          UpdateExpression: 'SET #status = :revoked, revokedAt = :at',
          ConditionExpression: 'attribute_exists(keyHash) AND #status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':revoked': { S: 'revoked' }, ':active': { S: 'active' }, ':at': { S: revokedAt } },
        },
      },
      this.auditPut(audit),
    ]);
  }

  private auditPut(audit: AuditEvent): TransactWriteItem {
    return {
      Put: {
        TableName: this.tables.auditLog,
        Item: auditEventToItem(audit),
        // Event ids are random; this only guarantees a record is never silently replaced.
        ConditionExpression: 'attribute_not_exists(eventId)',
      },
    };
  }

  private async transact(items: TransactWriteItem[]): Promise<void> {
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (err) {
      if (err instanceof TransactionCanceledException || (err as Error)?.name === 'TransactionCanceledException') {
        const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
        const codes = reasons.map((r) => r.Code ?? 'None');
        if (codes.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict')) {
          throw new WriteConflictError(`transaction cancelled: ${codes.join(', ')}`);
        }
        if (codes.some((c) => c === 'ValidationError') && /size/i.test(String((err as Error).message))) {
          throw new ItemTooLargeError(String((err as Error).message));
        }
      }
      if ((err as Error)?.name === 'TransactionConflictException') throw new WriteConflictError((err as Error).message);
      throw new StoreUnavailableError(err);
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }
}

/** `attribute_not_exists(<key>)` for a list never written, `version = :expected` otherwise. */
function versionCondition(attribute: string, expectedVersion: number, partitionKey: string) {
  return expectedVersion === 0
    ? { ConditionExpression: `attribute_not_exists(${partitionKey})` }
    : {
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#version': attribute },
        ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
      };
}

/**
 * The condition that holds while the stored list is still the corrupt one that was read (see StoredListGuard).
 * `container` is the list's map attribute (`#al` for a key's list), or undefined when the list is the item itself;
 * `present` is an attribute that exists exactly when the list does.
 */
function guardCondition(guard: StoredListGuard, container: string | undefined, present: string): Condition {
  const version = container ? `${container}.#version` : '#version';
  const names = { '#version': 'version' };
  switch (guard.kind) {
    case 'version':
      return { ConditionExpression: `${version} = :guard`, ExpressionAttributeNames: names, ExpressionAttributeValues: { ':guard': { N: guard.raw } } };
    case 'noVersion':
      return { ConditionExpression: `attribute_exists(${present}) AND attribute_not_exists(${version})`, ExpressionAttributeNames: names };
    case 'versionType':
      return { ConditionExpression: `attribute_type(${version}, :guard)`, ExpressionAttributeNames: names, ExpressionAttributeValues: { ':guard': { S: guard.type } } };
    case 'containerType':
      return { ConditionExpression: `attribute_type(${container ?? present}, :guard)`, ExpressionAttributeValues: { ':guard': { S: guard.type } } };
  }
}

interface Condition {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Item;
}

/** A conservative estimate of DynamoDB's item size (attribute names + values, UTF-8). */
export function estimateItemSize(item: Item): number {
  let size = 0;
  const value = (v: Item[string]): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
    if (v.N !== undefined) return v.N.length + 1;
    if (v.B !== undefined) return v.B.length;
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.L !== undefined) return 3 + v.L.reduce((n, x) => n + 1 + value(x), 0);
    if (v.M !== undefined) return 3 + estimateItemSize(v.M as Item);
    return 0;
  };
  for (const [name, v] of Object.entries(item)) size += Buffer.byteLength(name, 'utf8') + value(v);
  return size;
}

function checkItemSize(item: Item, what: string): void {
  const size = estimateItemSize(item);
  if (size > ITEM_LIMIT_BYTES - 1024) {
    throw new ItemTooLargeError(
      `${what} would be about ${Math.ceil(size / 1024)} KB, over DynamoDB's 400 KB item limit; use fewer entries or shorter descriptions`,
    );
  }
}

// ---- audit item mapping ---------------------------------------------------------------------------------------

/**
 * before/after are JSON strings (schema.ts). A full 1000-entry list twice does not fit in one DynamoDB item, so
 * above a threshold the pair is stored gzip-compressed in `snapshotGzip` (a JSON `{before, after}`) instead;
 * readers of this module see the same event either way.
 */
export function auditEventToItem(e: AuditEvent): Item {
  const item: Item = {
    organizationId: { S: e.organizationId },
    eventId: { S: e.eventId },
    at: { S: e.at },
    actor: { S: e.actor },
    action: { S: e.action },
    scope: { S: e.scope },
    target: { S: e.target },
  };
  if (e.requestId) item.requestId = { S: e.requestId };
  const before = JSON.stringify(e.before ?? null);
  const after = JSON.stringify(e.after ?? null);
  if (Buffer.byteLength(before) + Buffer.byteLength(after) <= AUDIT_INLINE_LIMIT_BYTES) {
    item.before = { S: before };
    item.after = { S: after };
  } else {
    item.snapshotGzip = { B: gzipSync(`{"before":${before},"after":${after}}`) };
  }
  return item;
}

export function auditEventFromItem(item: Item): AuditEvent {
  const s = (name: string): string => item[name]?.S ?? '';
  let before: unknown = null;
  let after: unknown = null;
  if (item.snapshotGzip?.B) {
    const snapshot = JSON.parse(gunzipSync(Buffer.from(item.snapshotGzip.B)).toString('utf8')) as { before: unknown; after: unknown };
    before = snapshot.before;
    after = snapshot.after;
  } else {
    before = item.before?.S ? JSON.parse(item.before.S) : null;
    after = item.after?.S ? JSON.parse(item.after.S) : null;
  }
  return {
    organizationId: s('organizationId'),
    eventId: s('eventId'),
    at: s('at'),
    actor: s('actor'),
    action: s('action'),
    scope: s('scope') as AllowlistScope,
    target: s('target'),
    before,
    after,
    requestId: item.requestId?.S,
  };
}
