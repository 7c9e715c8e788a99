import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  TransactWriteItem,
  TransactWriteItemsCommand,
  TransactWriteItemsCommandInput,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { AllowlistScope, AllowlistSettings, ApiKeyRecord } from '../core/model';
import type { AuditAction } from '../admin/contract/schemas';
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
 *
 * A commit whose answer never came (timeout, reset connection, 5xx) may have been applied. It is resolved before
 * the store answers (see `transact`): a commit method returns only when the change is known committed, throws
 * WriteConflictError / ItemTooLargeError / StoreUnavailableError only when it is known NOT committed, and throws
 * WriteOutcomeUnknownError when it could not find out.
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
  readonly action: AuditAction;
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

/**
 * A storage failure after which nothing was written: a read failed, or a commit was refused by DynamoDB
 * (throttling, permissions, missing table) or never reached it. The request fails with 503 "nothing was changed".
 */
export class StoreUnavailableError extends Error {
  constructor(readonly cause: unknown) {
    super(`DynamoDB request failed: ${describeError(cause)}`);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * DynamoDB never confirmed the commit and it could not be found out whether it was applied: the audit record
 * `eventId` exists if and only if the change was made.
 */
export class WriteOutcomeUnknownError extends Error {
  constructor(
    readonly organizationId: string,
    readonly eventId: string,
    readonly cause: unknown,
  ) {
    super(`outcome of the commit of audit event ${eventId} unknown: ${describeError(cause)}`);
    this.name = 'WriteOutcomeUnknownError';
  }
}

/** Where the store reports how it resolved a commit whose answer was lost (the admin Lambda's logger). */
export interface AdminStoreLogger {
  warn(message: string, extra: Record<string, unknown>): void;
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

/** DynamoDB's item limit (400 KB), counted as DynamoDB does: attribute names plus values. */
const ITEM_LIMIT_BYTES = 400 * 1024;
/** What an audit record may take: the limit less a margin for the difference between our estimate and DynamoDB's. */
export const AUDIT_RECORD_BUDGET_BYTES = ITEM_LIMIT_BYTES - 8 * 1024;

export function allowlistPk(target: ScopeListTarget): string {
  return target.scope === 'organization'
    ? organizationAllowlistPk(target.organizationId)
    : projectAllowlistPk(target.organizationId, target.projectId);
}

export class AdminStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tables: AdminTableNames,
    private readonly logger?: AdminStoreLogger,
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
    await this.transact(
      {
        Put: {
          TableName: this.tables.allowlists,
          Item: item,
          ...(overwriting
            ? guardCondition(overwriting.guard, undefined, 'pk')
            : versionCondition('version', expectedVersion, 'pk')),
        },
      },
      audit,
    );
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
    checkItemSize(
      { ...apiKeyToItem(key, projectScope(key.organizationId, key.projectId)), allowlist: { M: list } },
      'the API key with its allowlist',
    );
    const listCheck: Condition = overwriting
      ? guardCondition(overwriting.guard, '#al', '#al')
      : expectedVersion === 0
        ? { ConditionExpression: 'attribute_not_exists(#al)' }
        : {
            ConditionExpression: '#al.#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
          };
    await this.transact(
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
      audit,
    );
  }

  /** Stores a new key (its hash, never the secret). */
  async createApiKey(record: ApiKeyRecord, audit: AuditEvent): Promise<void> {
    await this.transact(
      {
        Put: {
          TableName: this.tables.apiKeys,
          Item: apiKeyToItem(record, projectScope(record.organizationId, record.projectId)),
          ConditionExpression: 'attribute_not_exists(keyHash)',
        },
      },
      audit,
    );
  }

  /**
   * Marks an active key revoked.
   *
   * @throws WriteConflictError if it is no longer active (nothing written)
   */
  async revokeApiKey(key: ApiKeyRecord, revokedAt: string, audit: AuditEvent): Promise<void> {
    await this.transact(
      {
        Update: {
          TableName: this.tables.apiKeys,
          Key: { keyHash: { S: key.keyHash } },
          UpdateExpression: 'SET #status = :revoked, revokedAt = :at',
          ConditionExpression: 'attribute_exists(keyHash) AND #status = :active',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':revoked': { S: 'revoked' },
            ':active': { S: 'active' },
            ':at': { S: revokedAt },
          },
        },
      },
      audit,
    );
  }

  private auditPut(audit: AuditEvent): TransactWriteItem {
    return {
      Put: {
        TableName: this.tables.auditLog,
        Item: auditEventToItem(audit),
        // The audit log is append-only: a record is never replaced. It is also what makes a re-sent commit
        // recognisable: event ids are random, so only this change's own earlier attempt can have written it.
        ConditionExpression: 'attribute_not_exists(eventId)',
      },
    };
  }

  /**
   * Commits `change` with its audit record, and answers only what is known:
   * - returns when the transaction is committed (once: the audit record is never written twice);
   * - throws WriteConflictError / ItemTooLargeError / StoreUnavailableError when it is known not committed;
   * - throws WriteOutcomeUnknownError when that could not be found out.
   *
   * Every attempt carries the same ClientRequestToken, so DynamoDB answers a repeat of a committed transaction
   * (the SDK's own retry, or the re-send below) with success instead of applying it again. If DynamoDB no longer
   * remembers the token (10 minutes), the repeat is cancelled and the audit record's `attribute_not_exists`
   * condition failing is the proof that the first attempt committed: nobody else writes that event id.
   *
   * When no answer came back (timeout, reset connection, 5xx, a throttled retry of an unanswered attempt), the
   * outcome is resolved before answering: a consistent read of the audit record (present: committed); if it is
   * absent, the identical transaction is sent again, which either commits it now, is recognised as already
   * committed, or is cancelled because its condition no longer holds. The conditions are on versions that only
   * grow and statuses that never return to active, so a transaction cancelled for its condition can never
   * commit later: "not committed" is then final. Only when neither step gets an answer is the outcome unknown.
   */
  private async transact(change: TransactWriteItem, audit: AuditEvent): Promise<void> {
    const input: TransactWriteItemsCommandInput = {
      TransactItems: [change, this.auditPut(audit)],
      ClientRequestToken: randomUUID(),
    };
    const first = await this.send(input, false);
    if (first.outcome === 'committed') return;
    if (first.outcome === 'not_committed') throw first.error;

    const context = { organizationId: audit.organizationId, eventId: audit.eventId, error: describeError(first.cause) };
    if (await this.auditRecordExists(audit)) {
      this.logger?.warn('commit answer lost; its audit record shows it committed', context);
      return;
    }
    // The first send went unanswered: a conflict with "another" transaction may be with that very attempt.
    const again = await this.send(input, true);
    if (again.outcome === 'committed') {
      this.logger?.warn('commit answer lost; re-sending it committed it (once)', context);
      return;
    }
    if (again.outcome === 'not_committed' && again.error instanceof WriteConflictError) {
      this.logger?.warn('commit answer lost; the re-send shows it did not commit and no longer can', context);
      throw again.error;
    }
    if ((await this.auditRecordExists(audit)) === true) {
      this.logger?.warn('commit answer lost; its audit record shows it committed', context);
      return;
    }
    throw new WriteOutcomeUnknownError(
      audit.organizationId,
      audit.eventId,
      again.outcome === 'unknown' ? again.cause : again.error,
    );
  }

  /**
   * One send (with the SDK's retries), classified. A middleware inside the retry loop sees the error of every
   * attempt, because the final error alone does not say whether an earlier attempt went unanswered.
   */
  private async send(input: TransactWriteItemsCommandInput, earlierSendUnanswered: boolean): Promise<SendResult> {
    const command = new TransactWriteItemsCommand(input);
    const attemptErrors: unknown[] = [];
    command.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          attemptErrors.push(err);
          throw err;
        }
      },
      { step: 'deserialize', priority: 'high', name: 'recordTransactAttemptErrors' },
    );
    try {
      await this.client.send(command);
      return { outcome: 'committed' };
    } catch (err) {
      return classifyTransactError(
        err,
        input.TransactItems!.length - 1,
        attemptErrors.length ? attemptErrors : [err],
        earlierSendUnanswered,
      );
    }
  }

  /** true/false when the consistent read answered, undefined when it failed too. */
  private async auditRecordExists(audit: AuditEvent): Promise<boolean | undefined> {
    try {
      const out = await this.client.send(
        new GetItemCommand({
          TableName: this.tables.auditLog,
          Key: { organizationId: { S: audit.organizationId }, eventId: { S: audit.eventId } },
          ConsistentRead: true,
          ProjectionExpression: 'eventId',
        }),
      );
      return out.Item !== undefined;
    } catch {
      return undefined;
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

type SendResult =
  | { readonly outcome: 'committed' }
  | { readonly outcome: 'not_committed'; readonly error: Error }
  | { readonly outcome: 'unknown'; readonly cause: unknown };

/**
 * What a failed TransactWriteItems says about whether it committed.
 * - Cancelled with the audit record's own condition failing: only an earlier attempt of the same request can have
 *   written that event id, so it IS committed.
 * - Cancelled with the change's condition failing (ConditionalCheckFailed on a version that only grows or a status
 *   that never returns to active): it can never commit, whatever attempt is still in flight: final "not committed".
 *   (An earlier attempt that did commit makes DynamoDB answer a repeat with success, same token.)
 * - Cancelled only for TransactionConflict (another transaction holds an item): that proves nothing about an
 *   earlier attempt that went unanswered, because the transaction holding the item may be that very attempt, which
 *   can still commit. It is "not committed" only when no earlier attempt (of this send, or of an earlier send:
 *   `earlierSendUnanswered`) can have been applied; otherwise unknown, resolved like the other unknowns.
 * - Otherwise it is known not committed only if every attempt was either never sent (connection refused) or
 *   answered by DynamoDB with a 4xx refusal (throttling, validation, missing table, access denied).
 *   TransactionInProgressException (an earlier attempt with this token still running), timeouts, reset
 *   connections and 5xx leave it unknown.
 */
export function classifyTransactError(
  err: unknown,
  auditIndex: number,
  attemptErrors: readonly unknown[],
  earlierSendUnanswered = false,
): SendResult {
  const e = err as { name?: string; message?: string; CancellationReasons?: { Code?: string }[] };
  if (err instanceof TransactionCanceledException || e?.name === 'TransactionCanceledException') {
    const codes = (e.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
    if (codes[auditIndex] === 'ConditionalCheckFailed') return { outcome: 'committed' };
    if (codes.some((c) => c === 'ConditionalCheckFailed')) {
      return { outcome: 'not_committed', error: new WriteConflictError(`transaction cancelled: ${codes.join(', ')}`) };
    }
    if (codes.some((c) => c === 'TransactionConflict')) {
      // Every attempt error includes this cancellation, a 4xx answer: the others decide.
      if (earlierSendUnanswered || !attemptErrors.every(neverApplied)) return { outcome: 'unknown', cause: err };
      return { outcome: 'not_committed', error: new WriteConflictError(`transaction cancelled: ${codes.join(', ')}`) };
    }
    if (codes.some((c) => c === 'ValidationError') && isSizeError(e.message)) {
      return { outcome: 'not_committed', error: new ItemTooLargeError(String(e.message)) };
    }
    return { outcome: 'not_committed', error: new StoreUnavailableError(err) };
  }
  if (earlierSendUnanswered && e?.name === 'TransactionConflictException') return { outcome: 'unknown', cause: err };
  if (!attemptErrors.every(neverApplied)) return { outcome: 'unknown', cause: err };
  if (e?.name === 'TransactionConflictException')
    return { outcome: 'not_committed', error: new WriteConflictError(String(e.message)) };
  if (e?.name === 'ValidationException' && isSizeError(e.message)) {
    return { outcome: 'not_committed', error: new ItemTooLargeError(String(e.message)) };
  }
  return { outcome: 'not_committed', error: new StoreUnavailableError(err) };
}

/** An attempt that cannot have been applied: never sent, or refused by DynamoDB with a 4xx answer. */
function neverApplied(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.code === 'ECONNREFUSED') return true;
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return status >= 400 && status < 500 && e.name !== 'TransactionInProgressException';
}

function isSizeError(message: unknown): boolean {
  return /size/i.test(String(message));
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
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
      return {
        ConditionExpression: `${version} = :guard`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':guard': { N: guard.raw } },
      };
    case 'noVersion':
      return {
        ConditionExpression: `attribute_exists(${present}) AND attribute_not_exists(${version})`,
        ExpressionAttributeNames: names,
      };
    case 'versionType':
      return {
        ConditionExpression: `attribute_type(${version}, :guard)`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':guard': { S: guard.type } },
      };
    case 'containerType':
      return {
        ConditionExpression: `attribute_type(${container ?? present}, :guard)`,
        ExpressionAttributeValues: { ':guard': { S: guard.type } },
      };
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
    if (v.M !== undefined) return 3 + estimateItemSize(v.M);
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
 * before/after are JSON strings (schema.ts). A list can take up to one DynamoDB item, so a record of it before
 * AND after cannot always be stored whole. The first form that fits within AUDIT_RECORD_BUDGET_BYTES is used:
 * 1. `before` and `after` as JSON strings;
 * 2. the same pair gzip-compressed in `snapshotGzip` (descriptions and ARNs repeat, so this usually fits);
 * 3. both bounded (`boundedSnapshot`): every entry's value, without descriptions and creation details, plus the
 *    entry count and the SHA-256 of the full snapshot. At most 1000 values of at most 43 characters a side, this
 *    always fits, so every change that could be stored can be audited.
 * Readers of this module see `{before, after}` either way.
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
  const inline: Item = { ...item, before: { S: before }, after: { S: after } };
  if (estimateItemSize(inline) <= AUDIT_RECORD_BUDGET_BYTES) return inline;
  const compressed: Item = { ...item, snapshotGzip: { B: gzipSync(`{"before":${before},"after":${after}}`) } };
  if (estimateItemSize(compressed) <= AUDIT_RECORD_BUDGET_BYTES) return compressed;
  const bounded: Item = {
    ...item,
    before: { S: JSON.stringify(boundedSnapshot(e.before ?? null, before)) },
    after: { S: JSON.stringify(boundedSnapshot(e.after ?? null, after)) },
  };
  if (estimateItemSize(bounded) <= AUDIT_RECORD_BUDGET_BYTES) return bounded;
  // Only reachable with entries or ids beyond the API's limits; refused as too large, never retried as a 5xx.
  throw new ItemTooLargeError(
    `the audit record of this change would be about ${Math.ceil(estimateItemSize(bounded) / 1024)} KB`,
  );
}

/**
 * An allowlist snapshot (`{enabled, entries: [{value, ...}], version, ...}`) cut down to what bounds it: each
 * entry keeps only its value, and `sha256` (hex, of `fullJson`: the snapshot's JSON as a full record would hold
 * it) lets a full copy be checked against it. Anything that is not a list snapshot is small and kept as it is.
 */
export function boundedSnapshot(snapshot: unknown, fullJson: string): unknown {
  const s = snapshot as { entries?: unknown } | null;
  if (s === null || typeof s !== 'object' || !Array.isArray(s.entries)) return snapshot;
  const entries = s.entries as { value?: unknown }[];
  return {
    ...s,
    entries: entries.map((entry) => ({ value: entry?.value })),
    truncated: true,
    entryCount: entries.length,
    sha256: createHash('sha256').update(fullJson, 'utf8').digest('hex'),
  };
}

export function auditEventFromItem(item: Item): AuditEvent {
  const s = (name: string): string => item[name]?.S ?? '';
  let before: unknown = null;
  let after: unknown = null;
  if (item.snapshotGzip?.B) {
    const snapshot = JSON.parse(gunzipSync(Buffer.from(item.snapshotGzip.B)).toString('utf8')) as {
      before: unknown;
      after: unknown;
    };
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
    action: s('action') as AuditAction,
    scope: s('scope') as AllowlistScope,
    target: s('target'),
    before,
    after,
    requestId: item.requestId?.S,
  };
}
