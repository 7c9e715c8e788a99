import { AllowlistScope } from './model';

/**
 * Traffic: what the authorizer saw, as plain data. A sighting is one (organization, project, key, source IP,
 * outcome) with when it was first and last seen and how many decisions it counts. The authorizer records them
 * (lambda/adapters/traffic-items.ts has the item shape); the admin API reads them for the traffic log, the impact
 * preview, the lockout guard and each entry's `lastMatchedAt`.
 *
 * A sighting counts decisions the authorizer MADE: API Gateway answers repeated requests of a (key, source IP)
 * from its cache without calling the authorizer, so `count` is at most one per gateway TTL per pair, not a
 * request count.
 */

/** What happened to the requests of a sighting. `would_block`: let through, but a report-only list would block. */
export const TRAFFIC_OUTCOMES = ['allowed', 'blocked', 'would_block'] as const;
export type TrafficOutcome = (typeof TRAFFIC_OUTCOMES)[number];

/** Outcomes whose requests went through: what a list being enforced must not cut off without asking. */
export const PASSING_OUTCOMES: readonly TrafficOutcome[] = ['allowed', 'would_block'];

/**
 * The entry of each list that contains the caller's address, for the lists that were evaluated (enforced or
 * report-only; an off list matches nothing). What `lastMatchedAt` is computed from.
 */
export interface MatchedEntries {
  readonly organization?: string;
  readonly project?: string;
  readonly key?: string;
}

/** The identity of a sighting: one item per value. */
export interface SightingKey {
  readonly organizationId: string;
  readonly projectId: string;
  readonly keyId: string;
  /** As API Gateway reported it (`requestContext.identity.sourceIp`). */
  readonly sourceIp: string;
  readonly outcome: TrafficOutcome;
}

/** What one flush adds to a sighting: `count` decisions between `firstSeen` and `lastSeen` (epoch ms). */
export interface SightingUpdate extends SightingKey {
  /**
   * The list that decided: for `allowed` the project/organization list that applied (`none` when neither is
   * enforced), for `blocked` the list that blocked, for `would_block` the report-only list that would block.
   */
  readonly scope: AllowlistScope;
  readonly matched: MatchedEntries;
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

/** A stored sighting. */
export interface Sighting extends SightingKey {
  readonly scope: AllowlistScope;
  readonly matched: MatchedEntries;
  readonly count: number;
  /** ISO-8601. */
  readonly firstSeen: string;
  /** ISO-8601. */
  readonly lastSeen: string;
  /** When DynamoDB's TTL may delete it (epoch seconds): `lastSeen` plus the retention. */
  readonly expiresAt: number;
}
