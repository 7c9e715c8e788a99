import { BatchGetItemCommand, DynamoDBClient, KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { AllowlistSettings, ApiKeyRecord } from '../core/model';
import { MAX_DECISION_AGE_SECONDS } from '../core/propagation';
import { allowlistFromAttributes, apiKeyFromItem, Item } from './items';
import { ALLOWLISTS_TABLE, API_KEYS_TABLE, organizationAllowlistPk, projectAllowlistPk } from './schema';

/**
 * The authorizer's read side. Everything a decision needs (the key record and both allowlists of the project the
 * key names in its route) is fetched in ONE BatchGetItem, so a cold decision costs one DynamoDB round trip.
 * Reads are strongly consistent so that the propagation-delay budget starts when a write is acknowledged.
 */

/** What to read; the authorizer asks only for what its in-memory cache does not hold. */
export interface AuthorizerReadRequest {
  /** Hash of the presented key; omit when the key record is cached. */
  readonly keyHash?: string;
  /** The organization and project the key's route names (the lists are read before the key is known valid). */
  readonly organizationId: string;
  readonly projectId: string;
  readonly organizationList: boolean;
  readonly projectList: boolean;
  /**
   * The most this read may take, if less than the store's `timeoutMs`: what is left of the decision age bound
   * when the decision already holds older cached data.
   *
   * @default - the store's `timeoutMs`
   */
  readonly timeoutMs?: number;
}

export interface AuthorizerReadResult {
  /** Present when `keyHash` was requested: the record, or null when no key has that hash. */
  readonly key?: ApiKeyRecord | null;
  /** Present when requested; a list never stored reads as EMPTY_ALLOWLIST (disabled). */
  readonly organizationList?: AllowlistSettings;
  readonly projectList?: AllowlistSettings;
  /** With a requested list: whether its item exists (false: it never was stored, and reads as disabled). */
  readonly organizationListStored?: boolean;
  readonly projectListStored?: boolean;
}

export interface AuthorizerStore {
  /** Rejects (never resolves with a guess) when storage fails or an item is corrupt. */
  read(request: AuthorizerReadRequest): Promise<AuthorizerReadResult>;
}

/** Storage failed or returned something unusable. The authorizer fails closed on it. */
export class AuthorizerStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthorizerStoreError';
  }
}

export interface DynamoDbAuthorizerStoreProps {
  readonly client: DynamoDBClient;
  readonly allowlistsTableName: string;
  readonly apiKeysTableName: string;
  /**
   * How many times keys that DynamoDB left unprocessed (throttling) are requested again before giving up.
   *
   * @default 3
   */
  readonly maxUnprocessedRetries?: number;
  /**
   * Delay before the first such retry; doubles on each retry.
   *
   * @default 10 ms
   */
  readonly retryBaseDelayMs?: number;
  /**
   * Upper bound on one `read`, every SDK attempt and unprocessed-key retry included. When it passes, the request
   * is aborted and `read` rejects, so the authorizer fails closed with its own log line well before the Lambda
   * timeout. This does not rely on the SDK's own timeouts: whether `requestTimeout` aborts a request depends on the
   * SDK version the Lambda runtime ships (newer versions only warn unless `throwOnRequestTimeout` is set).
   *
   * @default 4000 ms (`DEFAULT_STORE_TIMEOUT_MS`, the largest decision age bound)
   */
  readonly timeoutMs?: number;
}

export const DEFAULT_STORE_TIMEOUT_MS = MAX_DECISION_AGE_SECONDS * 1000;

const ALLOWLIST_PK = ALLOWLISTS_TABLE.partitionKey.name;
const API_KEY_PK = API_KEYS_TABLE.partitionKey.name;

export class DynamoDbAuthorizerStore implements AuthorizerStore {
  private readonly client: DynamoDBClient;
  private readonly allowlistsTable: string;
  private readonly apiKeysTable: string;
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly timeoutMs: number;

  constructor(props: DynamoDbAuthorizerStoreProps) {
    if (props.allowlistsTableName === props.apiKeysTableName) {
      // BatchGetItem groups keys by table name; one name for both would mix the two key schemas.
      throw new Error('the allowlists table and the API keys table must be different tables');
    }
    this.client = props.client;
    this.allowlistsTable = props.allowlistsTableName;
    this.apiKeysTable = props.apiKeysTableName;
    this.maxRetries = props.maxUnprocessedRetries ?? 3;
    this.baseDelayMs = props.retryBaseDelayMs ?? 10;
    this.timeoutMs = props.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    if (!(Number.isInteger(this.timeoutMs) && this.timeoutMs > 0)) {
      throw new Error(`timeoutMs must be a whole number of milliseconds above 0, got ${props.timeoutMs}`);
    }
  }

  async read(request: AuthorizerReadRequest): Promise<AuthorizerReadResult> {
    const orgPk = organizationAllowlistPk(request.organizationId);
    const projectPk = projectAllowlistPk(request.organizationId, request.projectId);
    const requestItems: Record<string, KeysAndAttributes> = {};
    const listKeys: Item[] = [];
    if (request.organizationList) listKeys.push({ [ALLOWLIST_PK]: { S: orgPk } });
    if (request.projectList) listKeys.push({ [ALLOWLIST_PK]: { S: projectPk } });
    if (listKeys.length > 0) requestItems[this.allowlistsTable] = { Keys: listKeys, ConsistentRead: true };
    if (request.keyHash !== undefined) {
      requestItems[this.apiKeysTable] = { Keys: [{ [API_KEY_PK]: { S: request.keyHash } }], ConsistentRead: true };
    }
    if (listKeys.length === 0 && request.keyHash === undefined) return {};

    const timeoutMs = Math.min(this.timeoutMs, request.timeoutMs ?? this.timeoutMs);
    const items = await this.batchGetWithin(requestItems, Math.max(1, Math.floor(timeoutMs)));

    const lists = new Map<string, Item>();
    for (const item of items.get(this.allowlistsTable) ?? []) {
      const pk = item[ALLOWLIST_PK]?.S;
      if (pk !== undefined) lists.set(pk, item);
    }
    const result: { -readonly [K in keyof AuthorizerReadResult]: AuthorizerReadResult[K] } = {};
    try {
      if (request.organizationList) {
        result.organizationList = allowlistFromAttributes(lists.get(orgPk));
        result.organizationListStored = lists.has(orgPk);
      }
      if (request.projectList) {
        result.projectList = allowlistFromAttributes(lists.get(projectPk));
        result.projectListStored = lists.has(projectPk);
      }
      if (request.keyHash !== undefined) {
        const keyItem = items.get(this.apiKeysTable)?.[0];
        result.key = keyItem ? apiKeyFromItem(keyItem) : null;
      }
    } catch (err) {
      throw new AuthorizerStoreError(`unreadable item: ${(err as Error).message}`, { cause: err });
    }
    return result;
  }

  /**
   * `batchGet` bounded by `timeoutMs`. The race settles the read at the deadline even if the SDK in use ignored the
   * abort; the abort still ends the HTTP request and stops further retries.
   */
  private async batchGetWithin(
    requestItems: Record<string, KeysAndAttributes>,
    timeoutMs: number,
  ): Promise<Map<string, Item[]>> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const err = new AuthorizerStoreError(`timed out: no answer from DynamoDB within ${timeoutMs} ms`);
        controller.abort(err);
        reject(err);
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.batchGet(requestItems, controller.signal), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async batchGet(
    requestItems: Record<string, KeysAndAttributes>,
    signal: AbortSignal,
  ): Promise<Map<string, Item[]>> {
    const found = new Map<string, Item[]>();
    let pending: Record<string, KeysAndAttributes> | undefined = requestItems;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw signal.reason;
      let response;
      try {
        response = await this.client.send(new BatchGetItemCommand({ RequestItems: pending }), { abortSignal: signal });
      } catch (err) {
        throw new AuthorizerStoreError(`BatchGetItem failed: ${describe(err)}`, { cause: err });
      }
      for (const [table, items] of Object.entries(response.Responses ?? {})) {
        const list = found.get(table);
        if (list) list.push(...items);
        else found.set(table, [...items]);
      }
      pending = response.UnprocessedKeys;
      if (!pending || Object.keys(pending).length === 0) return found;
      if (attempt >= this.maxRetries) {
        throw new AuthorizerStoreError(`BatchGetItem left keys unprocessed after ${attempt + 1} attempts (throttled)`);
      }
      await sleep(this.baseDelayMs * 2 ** attempt);
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
