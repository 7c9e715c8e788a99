import type { Sighting } from '../core/traffic';
import { trafficPk } from '../adapters/traffic-items';
import { AdminDependencies, AdminRequest, AdminResponse } from './context';
import { DEFAULT_PAGE_SIZE, TrafficSightingView } from './contract/schemas';
import { DEFAULT_TRAFFIC_RETENTION_DAYS } from '../../lib/contract';
import { badRequest, sinceInFuture, trafficNotRecorded } from './errors';
import { clock } from './writes';
import { decodeCursor, encodeCursor } from './views';

/**
 * GET traffic: an organization's sightings (what the authorizer decided, per project, key, source address and
 * outcome), newest first, filtered and paginated. The organization comes from the path and is the partition read,
 * and a cursor must name that partition: no query or cursor reaches another organization's traffic.
 */

/** How far back traffic can be read: the retention the construct gave the table's TTL. */
export function trafficRetentionMs(deps: AdminDependencies): number {
  return (deps.config.trafficRetentionSeconds ?? DEFAULT_TRAFFIC_RETENTION_DAYS * 86_400) * 1000;
}

export async function listTraffic(deps: AdminDependencies, req: AdminRequest<'listTraffic'>): Promise<AdminResponse> {
  const organizationId = req.params.org!;
  const { limit = DEFAULT_PAGE_SIZE, cursor, project, key, outcome, since: requested } = req.input.query;
  const now = clock(deps);
  if (requested !== undefined && requested > now) {
    throw sinceInFuture(new Date(requested).toISOString(), new Date(now).toISOString());
  }
  // Older sightings have expired (DynamoDB deletes them days later; the reader skips them): the answer says so.
  const since = Math.max(requested ?? 0, now - trafficRetentionMs(deps));
  const sinceIso = new Date(since).toISOString();
  const start =
    cursor === undefined
      ? undefined
      : decodeCursor(cursor, { pk: trafficPk(organizationId), sk: undefined, lastSeen: undefined });
  // A start key outside the key condition is an error from DynamoDB: a cursor older than `since` is not one of
  // this query's (a page of a query with an earlier `since`).
  if (start && !(start.lastSeen.S! >= sinceIso)) {
    throw badRequest(
      'invalid_cursor',
      `The cursor is older than since (${sinceIso}): it belongs to a query with an earlier since. Omit it to start from the beginning.`,
      'cursor',
    );
  }
  // After the input checks: a bad request gets its 400 on a deployment without traffic too.
  if (!deps.traffic) throw trafficNotRecorded();
  const page = await deps.traffic.readLog(
    { organizationId, projectId: project, keyId: key, outcome, since, limit, start },
    now,
  );
  return {
    statusCode: 200,
    body: {
      object: 'list',
      data: page.sightings.map(sightingView),
      next_cursor: encodeCursor(page.next),
      since: sinceIso,
      unreadable: page.unreadable,
    },
  };
}

export function sightingView(s: Sighting): TrafficSightingView {
  return {
    object: 'traffic_sighting',
    organizationId: s.organizationId,
    projectId: s.projectId,
    keyId: s.keyId,
    sourceIp: s.sourceIp,
    outcome: s.outcome,
    scope: s.scope,
    matched: {
      organization: s.matched.organization ?? null,
      project: s.matched.project ?? null,
      key: s.matched.key ?? null,
    },
    firstSeen: s.firstSeen,
    lastSeen: s.lastSeen,
    count: s.count,
  };
}
