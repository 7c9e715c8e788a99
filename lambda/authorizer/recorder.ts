import { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { writeSighting } from '../adapters/traffic-items';
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
 *   stops, a timer armed by the first sighting buffered (`idleFlushMs`, unref'd, off every decision's path) writes
 *   it: a lone request from a new address still shows in the traffic log, the preview and the lockout guard. On
 *   Lambda a frozen container runs that timer when it next wakes; a container reclaimed first loses what it held
 *   (as BatchedMetrics can lose its last counts).
 * - The buffer is bounded (`maxBufferedSightings`): a flood of made-up source addresses cannot grow memory. A
 *   sighting that finds the buffer full is dropped and counted in `TrafficWriteErrors` at the next flush.
 * - `matched` (the entry of each enforced or report-only list that contains the address) is computed at flush time
 *   from the lists the latest decision of the sighting used: off the warm path, and current as of that decision.
 */

/** The longest a flush may delay a decision, in milliseconds. */
export const TRAFFIC_FLUSH_TIMEOUT_MS = 100;
/** Sightings held in memory between flushes, at most. */
export const DEFAULT_MAX_BUFFERED_SIGHTINGS = 10_000;
/** How long a buffered sighting waits for a cold load before a timer writes it, in milliseconds. */
export const IDLE_FLUSH_MS = 250;
/** UpdateItems one flush sends, at most (the oldest sightings first); the rest wait for the next flush. */
export const MAX_WRITES_PER_FLUSH = 50;

/** Records one sighting in the Traffic table; rejects when it fails or `signal` aborts it. */
export interface TrafficWriter {
  write(tableName: string, update: SightingUpdate, retentionSeconds: number, signal: AbortSignal): Promise<void>;
}

/** The writer index.ts wires: one DynamoDB client of its own (`createTrafficWriterClient`). */
export function dynamoDbTrafficWriter(client: DynamoDBClient): TrafficWriter {
  return {
    write: (tableName, update, retentionSeconds, signal) =>
      writeSighting(client, tableName, update, retentionSeconds, signal),
  };
}

/**
 * The traffic writer's DynamoDB client: ONE attempt per request. The SDK's retries would resend an UpdateItem whose
 * reply was lost after DynamoDB applied it, and an UpdateItem adds: the decision would be counted twice. Not the
 * store's client, which retries its reads. `config` adds the endpoint, region and credentials (tests, local mode).
 */
export function createTrafficWriterClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    ...config,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true },
  });
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
  /**
   * A timer writes the buffer this long after a sighting is buffered, if no cold load has by then; 0: no timer
   * (only cold loads write).
   *
   * @default IDLE_FLUSH_MS
   */
  readonly idleFlushMs?: number;
  /**
   * The time the timer's flush is counted at (epoch ms).
   *
   * @default Date.now
   */
  readonly clock?: () => number;
}

/** The ids a sighting is recorded under: a valid key's, with its own list (enforced or report-only) if any. */
export interface SightingOwner {
  readonly keyId: string;
  readonly organizationId: string;
  readonly projectId: string;
  readonly keyList: CompiledScopeList | undefined;
}

/** What a decision was made on: the key and the lists of its route (the loader's `Loaded` for a valid key). */
export interface SightingSource {
  readonly key: SightingOwner;
  readonly organization: CompiledScopeList;
  readonly project: CompiledScopeList;
}

const OUTCOME_SLOT: Record<TrafficOutcome, 0 | 1 | 2> = { allowed: 0, blocked: 1, would_block: 2 };

/** A key's buffered sightings by source IP, one slot per outcome. */
type ByAddress = Map<string, [Pending | undefined, Pending | undefined, Pending | undefined]>;

interface Pending {
  readonly byAddress: ByAddress;
  readonly owner: SightingOwner;
  readonly sourceIp: string;
  readonly outcome: TrafficOutcome;
  scope: AllowlistScope;
  /** The lists of the latest decision (`matched` is computed from them at flush time; the key's is the owner's). */
  organization: CompiledScopeList;
  project: CompiledScopeList;
  count: number;
  readonly firstSeen: number;
  lastSeen: number;
}

export class TrafficRecorder {
  /** Sightings waiting for a flush, oldest first. */
  private readonly pending = new Set<Pending>();
  /**
   * The same sightings by key record and address, for the warm path: an identity lookup and a short-string one
   * instead of building and hashing a composite key per decision. A key reloaded from the store is a new record
   * object with a map of its own; its sightings then go into a new item's update, which adds up the same.
   */
  private readonly byOwner = new WeakMap<SightingOwner, ByAddress>();
  /** The last key noted and its map: a container mostly serves a few keys, and this skips the WeakMap lookup. */
  private lastOwner: SightingOwner | undefined;
  private lastByAddress: ByAddress | undefined;
  private dropped = 0;
  private readonly flushTimeoutMs: number;
  private readonly maxBuffered: number;
  private readonly maxWrites: number;
  private readonly idleFlushMs: number;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TrafficRecorderOptions) {
    this.flushTimeoutMs = options.flushTimeoutMs ?? TRAFFIC_FLUSH_TIMEOUT_MS;
    this.maxBuffered = options.maxBufferedSightings ?? DEFAULT_MAX_BUFFERED_SIGHTINGS;
    this.maxWrites = options.maxWritesPerFlush ?? MAX_WRITES_PER_FLUSH;
    this.idleFlushMs = options.idleFlushMs ?? IDLE_FLUSH_MS;
    if (!(this.flushTimeoutMs > 0) || !(this.maxBuffered >= 1) || !(this.maxWrites >= 1) || !(this.idleFlushMs >= 0)) {
      throw new Error(
        `invalid traffic recorder options: flushTimeoutMs ${this.flushTimeoutMs}, maxBufferedSightings ${this.maxBuffered}, maxWritesPerFlush ${this.maxWrites}, idleFlushMs ${this.idleFlushMs}`,
      );
    }
  }

  /** Adds one decision to its sighting, in memory. No I/O. */
  note(source: SightingSource, sourceIp: string, outcome: TrafficOutcome, scope: AllowlistScope, now: number): void {
    const owner = source.key;
    let byAddress = owner === this.lastOwner ? this.lastByAddress : this.byOwner.get(owner);
    const slots = byAddress?.get(sourceIp);
    const slot = OUTCOME_SLOT[outcome];
    const held = slots?.[slot];
    if (held !== undefined) {
      held.count++;
      if (now > held.lastSeen) held.lastSeen = now;
      held.scope = scope;
      // Lists change only when reloaded: compared rather than stored each time, so a warm hit writes no pointer.
      if (held.organization !== source.organization) held.organization = source.organization;
      if (held.project !== source.project) held.project = source.project;
      this.lastOwner = owner;
      this.lastByAddress = byAddress;
      return;
    }
    if (this.pending.size >= this.maxBuffered) {
      this.dropped++;
      return;
    }
    if (byAddress === undefined) {
      byAddress = new Map();
      this.byOwner.set(owner, byAddress);
    }
    this.lastOwner = owner;
    this.lastByAddress = byAddress;
    const pending: Pending = {
      byAddress,
      owner,
      sourceIp,
      outcome,
      scope,
      organization: source.organization,
      project: source.project,
      count: 1,
      firstSeen: now,
      lastSeen: now,
    };
    if (slots === undefined) {
      const fresh: [Pending | undefined, Pending | undefined, Pending | undefined] = [undefined, undefined, undefined];
      fresh[slot] = pending;
      byAddress.set(sourceIp, fresh);
    } else slots[slot] = pending;
    this.pending.add(pending);
    this.armIdleFlush();
  }

  /**
   * Arms the timer that writes the buffer when no cold load does (traffic stopped). Once per new sighting at most,
   * never on a repeat of a buffered one; the timer never keeps the process alive.
   */
  private armIdleFlush(): void {
    if (this.idleFlushMs === 0 || this.idleTimer !== undefined) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      void this.flush((this.options.clock ?? Date.now)());
    }, this.idleFlushMs);
    this.idleTimer.unref();
  }

  /** Sightings waiting for a flush (for tests and diagnostics). */
  get buffered(): number {
    return this.pending.size;
  }

  /** Takes a sighting out of the buffer: later decisions start a new one. */
  private take(p: Pending): void {
    this.pending.delete(p);
    const slots = p.byAddress.get(p.sourceIp);
    if (slots === undefined) return;
    slots[OUTCOME_SLOT[p.outcome]] = undefined;
    if (slots[0] === undefined && slots[1] === undefined && slots[2] === undefined) p.byAddress.delete(p.sourceIp);
  }

  /**
   * Writes the buffered sightings (at most `maxWritesPerFlush`, oldest first) in parallel and resolves when they
   * are all answered or `flushTimeoutMs` has passed, whichever is first. Never rejects.
   */
  async flush(now: number): Promise<void> {
    // This flush takes what the timer would have: the next sighting buffered arms it again.
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    const dropped = this.dropped;
    this.dropped = 0;
    const taken: Pending[] = [];
    for (const pending of this.pending) {
      if (taken.length >= this.maxWrites) break;
      taken.push(pending);
    }
    for (const pending of taken) this.take(pending);
    // What this flush could not take waits for the next cold load, or the timer.
    if (this.pending.size > 0) this.armIdleFlush();
    if (taken.length === 0 && dropped === 0) return;
    const { tableName, retentionSeconds, writer } = this.options;
    const controller = new AbortController();
    let failed = 0;
    let unanswered = taken.length;
    let firstError: unknown;
    const writes = taken.map(async (pending) => {
      try {
        await writer.write(tableName, toUpdate(pending), retentionSeconds, controller.signal);
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
  const organization = matchOf(p.organization, p.sourceIp);
  const project = matchOf(p.project, p.sourceIp);
  const keyList = p.owner.keyList;
  const key = keyList === undefined ? undefined : matchOf(keyList, p.sourceIp);
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
