import { DynamoDBClient, QueryCommand, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { Sighting } from '../core/traffic';
import { StoreUnavailableError } from './admin-store';
import { CorruptItemError, Item } from './items';
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

  private async query(input: QueryCommandInput) {
    try {
      return await this.client.send(new QueryCommand(input));
    } catch (err) {
      throw new StoreUnavailableError(err);
    }
  }
}
