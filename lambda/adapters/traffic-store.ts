import { DynamoDBClient, QueryCommand, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { PASSING_OUTCOMES, Sighting, TrafficOutcome } from '../core/traffic';
import { StoreUnavailableError } from './admin-store';
import { CorruptItemError, Item } from './items';
import { TRAFFIC_BY_LAST_SEEN_INDEX } from './schema';
import { sightingFromItem, trafficPk, trafficSkPrefix } from './traffic-items';

/**
 * The admin API's reads of the Traffic table (lambda/adapters/traffic-items.ts has the item shape). Reads only:
 * the authorizer is the one writer. Items past their expiresAt are skipped (DynamoDB's TTL deletes them days
 * later, not at once); items that are not sightings are counted, never guessed at.
 */

/** Which sightings: an organization's, or one project's, or one key's, last seen at or after `since`. */
export interface TrafficScope {
  readonly organizationId: string;
  readonly projectId?: string;
  /** Only with `projectId`. */
  readonly keyId?: string;
  /** Epoch ms: sightings last seen before it are left out. */
  readonly since: number;
}

export interface ScopeSightings {
  readonly sightings: readonly Sighting[];
  /** Items in the scope that are not readable sightings (skipped). */
  readonly unreadable: number;
  /** True when `maxItems` stopped the read: more sightings exist than were returned. */
  readonly truncated: boolean;
}

/** The most items one scope read returns, so a huge organization cannot hold the admin Lambda past its deadline. */
export const DEFAULT_MAX_SCOPE_ITEMS = 10_000;

/** One page of an organization's traffic log: which sightings, newest first. */
export interface LogQuery {
  readonly organizationId: string;
  readonly projectId?: string;
  /** A key id; with or without `projectId` (the log filters on the attribute, not the sort key). */
  readonly keyId?: string;
  readonly outcome?: TrafficOutcome;
  /** Epoch ms: sightings last seen before it are left out. */
  readonly since: number;
  /** The most sightings the page holds (1 to 100). */
  readonly limit: number;
  /**
   * Where the previous page stopped: an index key (`pk`, `sk`, `lastSeen`) of this organization, at or after
   * `since` (the caller checks both: DynamoDB answers a start key outside the key condition with an error).
   */
  readonly start?: Item;
}

export interface LogPage {
  readonly sightings: readonly Sighting[];
  /** Where the next page starts; undefined when the log has no more sightings. */
  readonly next?: Item;
  /** Items of the page's range that are not readable sightings (skipped). */
  readonly unreadable: number;
}

/**
 * How many items (before filters) one log page may read: with narrow filters a page could otherwise walk a whole
 * organization's partition. A page that reaches it ends early, with a cursor.
 */
export const MAX_LOG_ITEMS_PER_PAGE = 1000;

/** Items one filtered Query of the log reads at least. */
const LOG_BATCH = 100;

export class TrafficReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * Every sighting of the scope since `scope.since`, in sort-key order (project, key, address, outcome).
   *
   * @throws StoreUnavailableError when DynamoDB cannot be read
   */
  async readScope(
    scope: TrafficScope,
    now: number,
    maxItems: number = DEFAULT_MAX_SCOPE_ITEMS,
  ): Promise<ScopeSightings> {
    if (scope.keyId !== undefined && scope.projectId === undefined)
      throw new Error('a key scope needs its project: keys are sorted under their project');
    const values: Item = { ':pk': { S: trafficPk(scope.organizationId) } };
    let keyCondition = 'pk = :pk';
    if (scope.projectId !== undefined) {
      keyCondition += ' AND begins_with(sk, :prefix)';
      values[':prefix'] = { S: trafficSkPrefix(scope.projectId, scope.keyId) };
    }
    const input: QueryCommandInput = {
      TableName: this.tableName,
      KeyConditionExpression: keyCondition,
      ExpressionAttributeValues: values,
    };
    const sightings: Sighting[] = [];
    let unreadable = 0;
    let start: Item | undefined;
    do {
      const out = await this.query({ ...input, ExclusiveStartKey: start });
      for (const item of out.Items ?? []) {
        let sighting: Sighting;
        try {
          sighting = sightingFromItem(item);
        } catch (err) {
          if (!(err instanceof CorruptItemError)) throw err;
          unreadable += 1;
          continue;
        }
        // Filtered here rather than by a FilterExpression, which would drop an unreadable item without a trace.
        if (Date.parse(sighting.lastSeen) < scope.since || sighting.expiresAt * 1000 <= now) continue;
        if (sightings.length >= maxItems) return { sightings, unreadable, truncated: true };
        sightings.push(sighting);
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return { sightings, unreadable, truncated: false };
  }

  /**
   * The sightings of the scope that went through (allowed or would_block) since `scope.since`, newest `lastSeen`
   * first, from the `byLastSeen` index: the window is the key condition, so older and blocked traffic costs the read
   * nothing against `maxItems` (the lockout guard's read: it protects only callers who passed recently). Project,
   * key and outcome are filters. Stops at `maxItems` sightings: `truncated` then says more may pass the filters.
   *
   * @throws StoreUnavailableError when DynamoDB cannot be read
   */
  async readRecentPassing(
    scope: TrafficScope,
    now: number,
    maxItems: number = DEFAULT_MAX_SCOPE_ITEMS,
  ): Promise<ScopeSightings> {
    const names: Record<string, string> = { '#outcome': 'outcome' };
    const values: Item = {
      ':pk': { S: trafficPk(scope.organizationId) },
      ':since': { S: new Date(scope.since).toISOString() },
    };
    const outcomes = PASSING_OUTCOMES.map((outcome, n) => {
      values[`:outcome${n}`] = { S: outcome };
      return `:outcome${n}`;
    });
    const filters = [`#outcome IN (${outcomes.join(', ')})`];
    for (const [attribute, value] of [
      ['projectId', scope.projectId],
      ['keyId', scope.keyId],
    ] as const) {
      if (value === undefined) continue;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = { S: value };
      filters.push(`#${attribute} = :${attribute}`);
    }
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: TRAFFIC_BY_LAST_SEEN_INDEX,
      KeyConditionExpression: 'pk = :pk AND lastSeen >= :since',
      FilterExpression: filters.map((f) => `(${f})`).join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
    };
    const sightings: Sighting[] = [];
    let unreadable = 0;
    let start: Item | undefined;
    do {
      const out = await this.query({ ...input, ExclusiveStartKey: start });
      start = out.LastEvaluatedKey;
      const items = out.Items ?? [];
      for (let n = 0; n < items.length; n += 1) {
        let sighting: Sighting;
        try {
          sighting = sightingFromItem(items[n]);
        } catch (err) {
          if (!(err instanceof CorruptItemError)) throw err;
          unreadable += 1;
          continue;
        }
        if (sighting.expiresAt * 1000 <= now) continue;
        if (sightings.length >= maxItems) return { sightings, unreadable, truncated: true };
        sightings.push(sighting);
      }
    } while (start !== undefined);
    return { sightings, unreadable, truncated: false };
  }

  /**
   * One page of an organization's sightings, newest `lastSeen` first (the `byLastSeen` index). Project, key and
   * outcome are filters: DynamoDB applies its Limit before them, so the read goes on until the page is full, the
   * log ends or MAX_LOG_ITEMS_PER_PAGE items were read, whichever comes first; `next` is set whenever more may
   * follow, and points just after the last sighting returned (or the last item read), never past one not returned.
   *
   * @throws StoreUnavailableError when DynamoDB cannot be read
   */
  async readLog(query: LogQuery, now: number, maxItems: number = MAX_LOG_ITEMS_PER_PAGE): Promise<LogPage> {
    const names: Record<string, string> = {};
    const values: Item = {
      ':pk': { S: trafficPk(query.organizationId) },
      ':since': { S: new Date(query.since).toISOString() },
    };
    const filters: string[] = [];
    const filter = (attribute: string, value: string | undefined) => {
      if (value === undefined) return;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = { S: value };
      filters.push(`#${attribute} = :${attribute}`);
    };
    filter('projectId', query.projectId);
    filter('keyId', query.keyId);
    filter('outcome', query.outcome);
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: TRAFFIC_BY_LAST_SEEN_INDEX,
      KeyConditionExpression: 'pk = :pk AND lastSeen >= :since',
      ExpressionAttributeValues: values,
      ...(filters.length > 0 ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names } : {}),
      ScanIndexForward: false,
    };
    const sightings: Sighting[] = [];
    let unreadable = 0;
    let read = 0;
    let start = query.start;
    do {
      // One item more than the page still needs, so a full page knows whether more follow (DynamoDB returns a
      // LastEvaluatedKey whenever it stops at Limit); filtered, at least a batch, so a rare match costs a few round
      // trips rather than one per item. A page that fills up mid-batch resumes after its last sighting.
      const needed = query.limit - sightings.length + 1;
      const out = await this.query({
        ...input,
        ExclusiveStartKey: start,
        Limit: Math.min(maxItems - read, filters.length > 0 ? Math.max(needed, LOG_BATCH) : needed),
      });
      read += out.ScannedCount ?? 0;
      start = out.LastEvaluatedKey;
      const items = out.Items ?? [];
      for (let n = 0; n < items.length; n += 1) {
        const item = items[n];
        let sighting: Sighting;
        try {
          sighting = sightingFromItem(item);
        } catch (err) {
          if (!(err instanceof CorruptItemError)) throw err;
          unreadable += 1;
          continue;
        }
        if (sighting.expiresAt * 1000 <= now) continue;
        sightings.push(sighting);
        if (sightings.length >= query.limit) {
          const more = n < items.length - 1 || start !== undefined;
          return { sightings, unreadable, next: more ? logKey(item) : undefined };
        }
      }
    } while (start !== undefined && read < maxItems);
    return { sightings, unreadable, next: start };
  }

  private async query(input: QueryCommandInput) {
    try {
      return await this.client.send(new QueryCommand(input));
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }
}

/** The index key of an item: where a page that ends with it resumes. */
function logKey(item: Item): Item {
  return { pk: item.pk, sk: item.sk, lastSeen: item.lastSeen };
}
