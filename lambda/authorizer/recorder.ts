import { DynamoDBClient, UpdateItemCommand, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { sightingUpdateInput } from '../adapters/traffic-items';
import { CompiledScopeList } from '../core/decision';
import { AllowlistScope } from '../core/model';
import { MatchedEntries, SightingUpdate, TrafficOutcome } from '../core/traffic';

/**
 * Traffic recording: every decision on a valid key becomes a sighting (lambda/core/traffic.ts) in the Traffic
 * table, without changing or failing a decision and without I/O on the warm path.
 *
 * - `note` (every decision, synchronous, no I/O): adds the decision to its sighting in memory (count, first and last
 *   seen, and the lists it was decided on). Sightings are aggregated per (organization, project, key, source IP,
 *   outcome), so a pair decided a thousand times between flushes costs one write.
 * - `flush` (only from an invocation that already did I/O: a cold load): one UpdateItem per buffered sighting
 *   (`sightingUpdateInput`), at most MAX_WRITES_PER_FLUSH of them, all in parallel, raced against
 *   TRAFFIC_FLUSH_TIMEOUT_MS. When the timer wins, the writes still under way are aborted. So recording delays a
 *   cold decision by at most that bound and a warm one not at all; a write that failed or was cut off is a
 *   `TrafficWriteErrors` count and one log line, never a 5xx, and is not retried (UpdateItem adds, so a retry of a
 *   write DynamoDB may have applied could count twice).
 * - When is a sighting written? A cold load happens at least once per in-memory TTL (m seconds) per key while that
 *   key has traffic, and at every decision with the in-memory cache off, so a sighting first seen on the warm path
 *   is written by the next cold load in its container: within m seconds while traffic continues. When traffic
 *   stops, what is buffered waits for the container's next cold load; a container that is reclaimed first loses
 *   it (as BatchedMetrics can lose its last counts).
 * - The buffer is bounded (`maxBufferedSightings`): a flood of made-up source addresses cannot grow memory. A
 *   sighting that finds the buffer full is dropped and counted in `TrafficWriteErrors` at the next flush.
 * - `matched` (the entry of each enforced or report-only list that contains the address) is computed at flush time
 *   from the lists the latest decision of the sighting used: off the warm path, and current as of that decision.
 */

/** The longest a flush may delay a decision, in milliseconds. */
export const TRAFFIC_FLUSH_TIMEOUT_MS = 100;
/** Sightings held in memory between flushes, at most. */
export const DEFAULT_MAX_BUFFERED_SIGHTINGS = 10_000;
/** UpdateItems one flush sends, at most (the oldest sightings first); the rest wait for the next flush. */
export const MAX_WRITES_PER_FLUSH = 50;

/** Sends one sighting's UpdateItem; rejects when it fails or `signal` aborts it. */
export interface TrafficWriter {
  write(input: UpdateItemCommandInput, signal: AbortSignal): Promise<void>;
}

/** The writer index.ts wires: the container's DynamoDB client. */
export function dynamoDbTrafficWriter(client: DynamoDBClient): TrafficWriter {
  return {
    async write(input, abortSignal) {
      await client.send(new UpdateItemCommand(input), { abortSignal });
    },
  };
}

export interface TrafficRecorderLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface TrafficRecorderMetrics {
  /** Sightings not recorded: failed, cut off by the time bound, or dropped from a full buffer. */
  recordTrafficWriteErrors(count: number, now: number): void;
}

export interface TrafficRecorderOptions {
  readonly tableName: string;
  /** How long a sighting is kept after it was last seen (the item's TTL). */
  readonly retentionSeconds: number;
  readonly writer: TrafficWriter;
  readonly logger: TrafficRecorderLogger;
  /** @default - no metrics */
  readonly metrics?: TrafficRecorderMetrics;
  /** @default TRAFFIC_FLUSH_TIMEOUT_MS */
  readonly flushTimeoutMs?: number;
  /** @default DEFAULT_MAX_BUFFERED_SIGHTINGS */
  readonly maxBufferedSightings?: number;
  /** @default MAX_WRITES_PER_FLUSH */
  readonly maxWritesPerFlush?: number;
}

/** The ids a sighting is recorded under: a valid key's. */
export interface SightingOwner {
  readonly keyId: string;
  readonly organizationId: string;
  readonly projectId: string;
}

/** The lists a decision was made on (the key's own only when it has an enforced or report-only one). */
export interface SightingLists {
  readonly organization: CompiledScopeList;
  readonly project: CompiledScopeList;
  readonly key: CompiledScopeList | undefined;
}

interface Pending {
  readonly owner: SightingOwner;
  readonly sourceIp: string;
  readonly outcome: TrafficOutcome;
  scope: AllowlistScope;
  lists: SightingLists;
  count: number;
  readonly firstSeen: number;
  lastSeen: number;
}

export class TrafficRecorder {
  private readonly buffer = new Map<string, Pending>();
  private dropped = 0;
  private readonly flushTimeoutMs: number;
  private readonly maxBuffered: number;
  private readonly maxWrites: number;

  constructor(private readonly options: TrafficRecorderOptions) {
    this.flushTimeoutMs = options.flushTimeoutMs ?? TRAFFIC_FLUSH_TIMEOUT_MS;
    this.maxBuffered = options.maxBufferedSightings ?? DEFAULT_MAX_BUFFERED_SIGHTINGS;
    this.maxWrites = options.maxWritesPerFlush ?? MAX_WRITES_PER_FLUSH;
    if (!(this.flushTimeoutMs > 0) || !(this.maxBuffered >= 1) || !(this.maxWrites >= 1)) {
      throw new Error(
        `invalid traffic recorder options: flushTimeoutMs ${this.flushTimeoutMs}, maxBufferedSightings ${this.maxBuffered}, maxWritesPerFlush ${this.maxWrites}`,
      );
    }
  }

  /** Adds one decision to its sighting, in memory. No I/O. */
  note(
    owner: SightingOwner,
    lists: SightingLists,
    sourceIp: string,
    outcome: TrafficOutcome,
    scope: AllowlistScope,
    now: number,
  ): void {
    // Ids have no newline, nor has an address or an outcome: the parts cannot run into each other.
    const id = `${owner.organizationId}\n${owner.projectId}\n${owner.keyId}\n${sourceIp}\n${outcome}`;
    const pending = this.buffer.get(id);
    if (pending !== undefined) {
      pending.count++;
      if (now > pending.lastSeen) pending.lastSeen = now;
      pending.scope = scope;
      pending.lists = lists;
      return;
    }
    if (this.buffer.size >= this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.buffer.set(id, { owner, sourceIp, outcome, scope, lists, count: 1, firstSeen: now, lastSeen: now });
  }

  /** Sightings waiting for a flush (for tests and diagnostics). */
  get buffered(): number {
    return this.buffer.size;
  }

  /**
   * Writes the buffered sightings (at most `maxWritesPerFlush`, oldest first) in parallel and resolves when they
   * are all answered or `flushTimeoutMs` has passed, whichever is first. Never rejects.
   */
  async flush(now: number): Promise<void> {
    const dropped = this.dropped;
    this.dropped = 0;
    const taken: Pending[] = [];
    for (const [id, pending] of this.buffer) {
      if (taken.length >= this.maxWrites) break;
      taken.push(pending);
      this.buffer.delete(id);
    }
    if (taken.length === 0 && dropped === 0) return;
    const { tableName, retentionSeconds, writer } = this.options;
    const controller = new AbortController();
    let failed = 0;
    let unanswered = taken.length;
    let firstError: unknown;
    const writes = taken.map(async (pending) => {
      try {
        await writer.write(sightingUpdateInput(tableName, toUpdate(pending), retentionSeconds), controller.signal);
      } catch (err) {
        // A write aborted by the timer is counted as late below, not again here.
        if (!controller.signal.aborted) {
          failed++;
          firstError ??= err;
        }
      } finally {
        unanswered--;
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.flushTimeoutMs);
    });
    await Promise.race([Promise.all(writes), timedOut]);
    clearTimeout(timer);
    const late = unanswered;
    if (late > 0) controller.abort();
    const errors = failed + late + dropped;
    if (errors === 0) return;
    this.options.logger.warn('traffic not recorded: sightings lost (decisions were not affected)', {
      failed,
      late,
      dropped,
      written: taken.length - failed - late,
      timeoutMs: this.flushTimeoutMs,
      cause: firstError instanceof Error ? `${firstError.name}: ${firstError.message}` : firstError,
    });
    this.options.metrics?.recordTrafficWriteErrors(errors, now);
  }
}

/** What a flush adds to a sighting, with the entries its latest decision's lists hold for the address. */
function toUpdate(p: Pending): SightingUpdate {
  const matched: { -readonly [K in keyof MatchedEntries]: string } = {};
  const organization = matchOf(p.lists.organization, p.sourceIp);
  const project = matchOf(p.lists.project, p.sourceIp);
  const key = p.lists.key === undefined ? undefined : matchOf(p.lists.key, p.sourceIp);
  if (organization !== undefined) matched.organization = organization;
  if (project !== undefined) matched.project = project;
  if (key !== undefined) matched.key = key;
  return {
    organizationId: p.owner.organizationId,
    projectId: p.owner.projectId,
    keyId: p.owner.keyId,
    sourceIp: p.sourceIp,
    outcome: p.outcome,
    scope: p.scope,
    matched,
    count: p.count,
    firstSeen: p.firstSeen,
    lastSeen: p.lastSeen,
  };
}

/** The entry of an enforced or report-only list that contains `ip`; an off list matches nothing. */
function matchOf(list: CompiledScopeList, ip: string): string | undefined {
  return list.enabled || list.reportOnly ? list.allowlist.match(ip) : undefined;
}
