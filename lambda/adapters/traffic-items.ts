import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  UpdateItemCommand,
  UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { AllowlistScope } from '../core/model';
import { MatchedEntries, Sighting, SightingUpdate, TRAFFIC_OUTCOMES, TrafficOutcome } from '../core/traffic';
import { CorruptItemError, Item } from './items';

/**
 * The Traffic table's items (lib/contract.ts TRAFFIC_TABLE), written by the authorizer and read by the admin API.
 *
 *   pk = `ORG#<org>`                                   (an organization's traffic is one partition)
 *   sk = `<project>#<keyId>#<sourceIp>#<outcome>`      (ids have no `#`, addresses and outcomes neither)
 *   organizationId, projectId, keyId, sourceIp, outcome (S), scope (S), orgEntry / projectEntry / keyEntry (S,
 *   each present only when that list matched), firstSeen, lastSeen (S, ISO-8601 with milliseconds), count (N),
 *   expiresAt (N, epoch seconds: lastSeen + retention; the table's TTL attribute)
 *   Index `byLastSeen`: partition pk, sort lastSeen, every attribute: an organization's traffic, newest first.
 *
 * One UpdateItem per sighting adds its count and moves lastSeen and expiresAt; firstSeen is set once. Several
 * containers write the same item, and a late write (a flush cut off by a freeze, answered after a newer one) must
 * not move lastSeen back: that would hide a recent caller from the lockout guard. So the update is conditioned on
 * lastSeen not being newer, and when it is, a second update only adds the count (`writeSighting`). DynamoDB's TTL
 * deletes expired items within days, not at once, so readers skip items whose expiresAt has passed.
 */

export function trafficPk(organizationId: string): string {
  return `ORG#${organizationId}`;
}

/** The sort key of one sighting. */
export function trafficSk(key: Pick<SightingUpdate, 'projectId' | 'keyId' | 'sourceIp' | 'outcome'>): string {
  return `${key.projectId}#${key.keyId}#${key.sourceIp}#${key.outcome}`;
}

/** The sort-key prefix of a project's sightings, or of one key's (`begins_with`). */
export function trafficSkPrefix(projectId: string, keyId?: string): string {
  return keyId === undefined ? `${projectId}#` : `${projectId}#${keyId}#`;
}

const MATCHED_ATTRIBUTES: Record<keyof MatchedEntries, string> = {
  organization: 'orgEntry',
  project: 'projectEntry',
  key: 'keyEntry',
};

/**
 * The UpdateItem that adds `update` to its sighting, keeping it `retentionSeconds` after its last decision.
 * The entries matched are those of the latest flush (a list edited since may match otherwise): SET, and REMOVE for
 * a list that no longer matched.
 */
export function sightingUpdateInput(
  tableName: string,
  update: SightingUpdate,
  retentionSeconds: number,
): UpdateItemCommandInput {
  const names: Record<string, string> = { '#count': 'count', '#scope': 'scope' };
  const values: Item = {
    ':org': { S: update.organizationId },
    ':project': { S: update.projectId },
    ':key': { S: update.keyId },
    ':ip': { S: update.sourceIp },
    ':outcome': { S: update.outcome },
    ':scope': { S: update.scope },
    ':first': { S: new Date(update.firstSeen).toISOString() },
    ':last': { S: new Date(update.lastSeen).toISOString() },
    ':expires': { N: String(Math.ceil(update.lastSeen / 1000) + retentionSeconds) },
    ':count': { N: String(update.count) },
  };
  const set = [
    'organizationId = :org',
    'projectId = :project',
    'keyId = :key',
    'sourceIp = :ip',
    'outcome = :outcome',
    '#scope = :scope',
    'firstSeen = if_not_exists(firstSeen, :first)',
    'lastSeen = :last',
    'expiresAt = :expires',
  ];
  const remove: string[] = [];
  for (const [list, attribute] of Object.entries(MATCHED_ATTRIBUTES) as [keyof MatchedEntries, string][]) {
    const entry = update.matched[list];
    if (entry === undefined) remove.push(attribute);
    else {
      set.push(`${attribute} = :${attribute}`);
      values[`:${attribute}`] = { S: entry };
    }
  }
  return {
    TableName: tableName,
    Key: { pk: { S: trafficPk(update.organizationId) }, sk: { S: trafficSk(update) } },
    UpdateExpression: `SET ${set.join(', ')} ADD #count :count${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
    ConditionExpression: 'attribute_not_exists(lastSeen) OR lastSeen <= :last',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** The UpdateItem for a sighting whose stored lastSeen is newer: its decisions are counted, nothing else moves. */
export function sightingCountInput(tableName: string, update: SightingUpdate): UpdateItemCommandInput {
  return {
    TableName: tableName,
    Key: { pk: { S: trafficPk(update.organizationId) }, sk: { S: trafficSk(update) } },
    UpdateExpression: 'ADD #count :count',
    // Never creates an item: the first update found one, with a newer lastSeen.
    ConditionExpression: 'attribute_exists(lastSeen)',
    ExpressionAttributeNames: { '#count': 'count' },
    ExpressionAttributeValues: { ':count': { N: String(update.count) } },
  };
}

/**
 * Records one sighting: `sightingUpdateInput`, or, when the stored sighting was last seen later (a late write),
 * `sightingCountInput`. Each call is sent once: the client must not retry (UpdateItem adds, so a retry of a write
 * DynamoDB applied would count it twice).
 */
export async function writeSighting(
  client: DynamoDBClient,
  tableName: string,
  update: SightingUpdate,
  retentionSeconds: number,
  abortSignal?: AbortSignal,
): Promise<void> {
  try {
    await client.send(new UpdateItemCommand(sightingUpdateInput(tableName, update, retentionSeconds)), {
      abortSignal,
    });
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    await client.send(new UpdateItemCommand(sightingCountInput(tableName, update)), { abortSignal });
  }
}

const SCOPES: readonly AllowlistScope[] = ['organization', 'project', 'key', 'none'];

/**
 * A Traffic item as a sighting.
 *
 * @throws CorruptItemError when the item is not one the authorizer writes
 */
export function sightingFromItem(item: Item): Sighting {
  const text = (name: string): string => {
    const v = item[name]?.S;
    if (v === undefined) throw new CorruptItemError(`traffic item without string ${name}`, item);
    return v;
  };
  const whole = (name: string): number => {
    const raw = item[name]?.N;
    const n = raw === undefined ? NaN : Number(raw);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new CorruptItemError(`traffic item ${name} is not a whole number`, item);
    return n;
  };
  const time = (name: string): string => {
    const v = text(name);
    if (Number.isNaN(Date.parse(v))) throw new CorruptItemError(`traffic item ${name} is not a time`, item);
    return v;
  };
  const outcome = text('outcome');
  if (!TRAFFIC_OUTCOMES.some((o) => o === outcome)) throw new CorruptItemError('traffic item outcome unknown', item);
  const scope = text('scope');
  if (!SCOPES.some((s) => s === scope)) throw new CorruptItemError('traffic item scope unknown', item);
  const matched: { -readonly [K in keyof MatchedEntries]: string } = {};
  for (const [list, attribute] of Object.entries(MATCHED_ATTRIBUTES) as [keyof MatchedEntries, string][]) {
    const v = item[attribute];
    if (v === undefined) continue;
    if (v.S === undefined) throw new CorruptItemError(`traffic item ${attribute} is not a string`, item);
    matched[list] = v.S;
  }
  return {
    organizationId: text('organizationId'),
    projectId: text('projectId'),
    keyId: text('keyId'),
    sourceIp: text('sourceIp'),
    outcome: outcome as TrafficOutcome,
    scope: scope as AllowlistScope,
    matched,
    count: whole('count'),
    firstSeen: time('firstSeen'),
    lastSeen: time('lastSeen'),
    expiresAt: whole('expiresAt'),
  };
}
