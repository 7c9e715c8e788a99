import type { AuthorizerReadRequest, AuthorizerReadResult, AuthorizerStore } from '../lambda/adapters/dynamodb-store';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createAuthorizer } from '../lambda/authorizer/authorizer';
import { BatchedMetrics } from '../lambda/authorizer/metrics';
import { TrafficRecorder } from '../lambda/authorizer/recorder';
import { compileAllowlist } from '../lambda/core/allowlist';
import { Caller, Family, generateCallers, generateRanges } from './data';
import { allowlist, authorizerEvent, makeTenant, Tenant } from './fixture';
import { compare, CompareOptions, SubjectResult, timerOverheadNs } from './measure';
import { NaiveData, naiveDecide, naiveMatch } from './naive';
import { round, sig } from './stats';

/**
 * Warm decisions in process: the real authorizer (createAuthorizer, the code index.ts wires) with its in-memory
 * cache filled and a frozen clock, so no request reaches storage (asserted), against the naive baseline on the
 * same events. A second, smaller table compares the matchers alone (compiled vs parse-and-scan).
 */

export const WARM_SIZES = [1, 50, 1000] as const;
export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

/** A store that answers from memory and counts its calls: the warm measurement requires it is never called. */
export class PreloadedStore implements AuthorizerStore {
  public calls = 0;
  constructor(private readonly tenants: readonly Tenant[]) {}

  read(request: AuthorizerReadRequest): Promise<AuthorizerReadResult> {
    this.calls += 1;
    const tenant = this.tenants.find(
      (t) => t.record.organizationId === request.organizationId && t.record.projectId === request.projectId,
    );
    const result: { -readonly [K in keyof AuthorizerReadResult]: AuthorizerReadResult[K] } = {};
    if (request.keyHash !== undefined) result.key = tenant?.record.keyHash === request.keyHash ? tenant.record : null;
    if (request.organizationList) result.organizationList = tenant?.organization ?? allowlist([], false);
    if (request.projectList) result.projectList = tenant?.project ?? allowlist([], false);
    return Promise.resolve(result);
  }
}

/** A logger that must stay silent: every warm request is an allowed one. */
class CountingLogger {
  public lines = 0;
  warn(): void {
    this.lines += 1;
  }
  error(): void {
    this.lines += 1;
  }
}

export interface WarmCaseResult {
  readonly entries: number;
  readonly family: Family;
  readonly callers: number;
  readonly handler: Summary;
  /** The same handler with traffic recording on (sightings buffered in memory; no write on the warm path). */
  readonly recording: Summary;
  /** recording p50 / handler p50, same rounds. */
  readonly telemetry_overhead_ratio: number;
  readonly naive: Summary;
  /** handler decisions/s divided by naive decisions/s. */
  readonly ratio_vs_naive: number;
  readonly matcher: { readonly compiled_per_s: number; readonly naive_per_s: number; readonly ratio: number };
  readonly store_calls_during_measurement: number;
}

interface Summary {
  /** Per second of CPU time (one core). */
  readonly decisions_per_s: number;
  /** Per second of wall time, for comparison (the machine is shared). */
  readonly decisions_per_wall_s: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly calls_per_phase: number;
  readonly rounds: { decisions_per_s: number; decisions_per_wall_s: number; p50_us: number; p99_us: number }[];
}

function summary(r: SubjectResult): Summary {
  return {
    decisions_per_s: Math.round(r.perSecond),
    decisions_per_wall_s: Math.round(r.perWallSecond),
    p50_us: sig(r.p50Us),
    p99_us: sig(r.p99Us),
    calls_per_phase: r.callsPerPhase,
    rounds: r.rounds.map((x) => ({
      decisions_per_s: Math.round(x.perSecond),
      decisions_per_wall_s: Math.round(x.perWallSecond),
      p50_us: sig(x.p50Us),
      p99_us: sig(x.p99Us),
    })),
  };
}

export interface WarmOptions extends Omit<CompareOptions, 'overheadNs'> {
  readonly sizes: readonly number[];
  /** Distinct caller IPs per case (each inside the list). */
  readonly callers: number;
}

export const DEFAULT_WARM_OPTIONS: WarmOptions = {
  sizes: WARM_SIZES,
  callers: 1024,
  rounds: 5,
  targetMsPerPhase: 50,
  warmupMs: 150,
  maxCallsPerPhase: 200_000,
};

interface PreparedCase {
  readonly entries: number;
  readonly family: Family;
  readonly callers: number;
  readonly store: PreloadedStore;
  readonly logger: CountingLogger;
  readonly handlerOp: (i: number) => unknown;
  readonly recordingOp: (i: number) => unknown;
  /** Traffic writes the recording handler sent (priming only; asserted unchanged while measuring). */
  readonly trafficWrites: () => number;
  readonly naiveOp: (i: number) => unknown;
  readonly compiledMatchOp: (i: number) => unknown;
  readonly naiveMatchOp: (i: number) => unknown;
}

/**
 * Builds one case (a tenant whose project list has `entries` entries, and allowed callers), primes the real
 * authorizer's cache (its only store call) and checks that the handler and the baseline agree on every event.
 */
export async function prepareWarmCase(entries: number, family: Family, callerCount: number): Promise<PreparedCase> {
  const seed = entries * 7919 + (family === 'ipv4' ? 4 : 6);
  const ranges = generateRanges(family, entries, seed);
  const callers: Caller[] = generateCallers(family, ranges, callerCount, seed + 1);
  const cidrs = ranges.map((r) => r.cidr);
  // The org list is enabled too (with other addresses): the project's list must win, as in real tenants.
  const tenant = makeTenant({
    organizationId: 'org-bench',
    projectId: `proj-${family}-${entries}`,
    organization: allowlist(family === 'ipv4' ? ['192.0.2.0/24'] : ['2001:db8::/32']),
    project: allowlist(cidrs),
  });
  const store = new PreloadedStore([tenant]);
  const logger = new CountingLogger();
  const frozenNow = Date.now();
  // The real per-request metrics path (BatchedMetrics, as index.ts wires it); only the EMF writer underneath is a
  // stub, so the bench's output stays readable. With the frozen clock it publishes once, at priming, as in
  // production it publishes once per flush interval.
  const emf = { addMetric: () => undefined, publishStoredMetrics: () => undefined } as unknown as Metrics;
  const authorizer = createAuthorizer({
    store,
    logger,
    metrics: new BatchedMetrics(emf),
    memoryCacheTtlSeconds: 2,
    clock: () => frozenNow,
  });
  // The same authorizer with recording on: its writer only counts (the warm path must never reach it after priming).
  let trafficWrites = 0;
  const recordingStore = new PreloadedStore([tenant]);
  const recording = createAuthorizer({
    store: recordingStore,
    logger,
    metrics: new BatchedMetrics(emf),
    memoryCacheTtlSeconds: 2,
    clock: () => frozenNow,
    traffic: new TrafficRecorder({
      tableName: 'bench-traffic',
      retentionSeconds: 86_400,
      writer: {
        write: () => {
          trafficWrites += 1;
          return Promise.resolve();
        },
      },
      logger,
      // The idle timer writes off every decision's path (and would make the count below depend on timers): what
      // is measured here is the decision with its in-memory recording.
      idleFlushMs: 0,
    }),
  });
  const events = callers.map((c) => authorizerEvent(tenant.key, c.ip));
  for (const ev of events) {
    const result = await recording.handle(ev);
    if ((result.policyDocument.Statement[0] as { Effect?: string }).Effect !== 'Allow')
      throw new Error(`warm ${family}/${entries}: the recording handler did not allow a caller the list holds`);
  }
  if (recordingStore.calls !== 1 || trafficWrites !== 1)
    throw new Error(
      `warm ${family}/${entries}: priming the recording handler should read once and write once, got ${recordingStore.calls} and ${trafficWrites}`,
    );
  const naiveData = new Map<string, NaiveData>([
    [tenant.record.keyHash, { key: tenant.record, organization: tenant.organization, project: tenant.project }],
  ]);

  // Every event through the real handler; the (slow) baseline on a sample of them.
  const sampleEvery = Math.max(1, Math.floor(events.length / 64));
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    const real = await authorizer.handle(ev);
    if (i % sampleEvery !== 0) continue;
    const naive = naiveDecide(ev, naiveData);
    const realEffect = (real.policyDocument.Statement[0] as { Effect?: string } | undefined)?.Effect;
    if (
      realEffect !== 'Allow' ||
      naive.policyDocument.Statement[0].Effect !== 'Allow' ||
      real.principalId !== naive.principalId
    ) {
      throw new Error(
        `warm ${family}/${entries}: expected Allow from both, got ${realEffect} and ${naive.policyDocument.Statement[0].Effect}`,
      );
    }
  }
  const compiled = compileAllowlist(cidrs);
  for (let i = 0; i < callers.length; i++) {
    const c = callers[i];
    const a = compiled.match(c.ip);
    const b = i % sampleEvery === 0 ? naiveMatch(cidrs, c.ip) : c.expected;
    if (a !== c.expected || b !== c.expected)
      throw new Error(`warm ${family}/${entries}: ${c.ip} matched ${a} / ${b}, expected ${c.expected}`);
  }
  if (store.calls !== 1)
    throw new Error(`warm ${family}/${entries}: priming should read the store once, read it ${store.calls} times`);
  store.calls = 0;

  const n = events.length;
  return {
    entries,
    family,
    callers: n,
    store,
    logger,
    handlerOp: (i) => authorizer.handle(events[i % n]),
    recordingOp: (i) => recording.handle(events[i % n]),
    trafficWrites: () => trafficWrites,
    // Wrapped in an async function: a Lambda handler is one, and the real one pays for its promise too.
    // eslint-disable-next-line @typescript-eslint/require-await -- async for its cost, as said above
    naiveOp: async (i) => naiveDecide(events[i % n], naiveData),
    compiledMatchOp: (i) => compiled.match(callers[i % n].ip),
    naiveMatchOp: (i) => naiveMatch(cidrs, callers[i % n].ip),
  };
}

/** All sizes of one family, measured round by round interleaved, so the growth and ratios compare like with like. */
export async function runWarmFamily(
  family: Family,
  options: WarmOptions,
  overheadNs: number,
): Promise<WarmCaseResult[]> {
  const prepared: PreparedCase[] = [];
  for (const entries of options.sizes) prepared.push(await prepareWarmCase(entries, family, options.callers));

  const decisions = await compare(
    prepared.flatMap((p) => [
      { name: `handler-${p.entries}`, op: p.handlerOp },
      { name: `naive-${p.entries}`, op: p.naiveOp },
      { name: `recording-${p.entries}`, op: p.recordingOp },
    ]),
    { ...options, overheadNs },
  );
  const matchers = await compare(
    prepared.flatMap((p) => [
      { name: `compiled-${p.entries}`, op: p.compiledMatchOp, async: false },
      { name: `naive-${p.entries}`, op: p.naiveMatchOp, async: false },
    ]),
    {
      ...options,
      rounds: Math.max(1, Math.ceil(options.rounds / 2)),
      targetMsPerPhase: options.targetMsPerPhase / 2,
      overheadNs,
    },
  );

  return prepared.map((p, k) => {
    if (p.store.calls !== 0)
      throw new Error(`warm ${family}/${p.entries}: the store was called ${p.store.calls} times while measuring`);
    if (p.logger.lines !== 0)
      throw new Error(`warm ${family}/${p.entries}: ${p.logger.lines} log lines (a deny or error) while measuring`);
    if (p.trafficWrites() !== 1)
      throw new Error(`warm ${family}/${p.entries}: ${p.trafficWrites() - 1} traffic writes while measuring`);
    const handler = decisions[3 * k];
    const naive = decisions[3 * k + 1];
    const recording = decisions[3 * k + 2];
    const mc = matchers[2 * k];
    const mn = matchers[2 * k + 1];
    return {
      entries: p.entries,
      family,
      callers: p.callers,
      handler: summary(handler),
      recording: summary(recording),
      telemetry_overhead_ratio: round(recording.p50Us / handler.p50Us, 2),
      naive: summary(naive),
      ratio_vs_naive: round(handler.perSecond / naive.perSecond, 1),
      matcher: {
        compiled_per_s: Math.round(mc.perSecond),
        naive_per_s: Math.round(mn.perSecond),
        ratio: round(mc.perSecond / mn.perSecond, 1),
      },
      store_calls_during_measurement: p.store.calls,
    };
  });
}

export interface WarmResult {
  /** Headline figures at 50 entries: the worse of IPv4 and IPv6. */
  readonly p50_us: number;
  readonly p99_us: number;
  readonly decisions_per_s: number;
  readonly ratio_vs_naive: number;
  /** Warm p50 with traffic recording on / off at 50 entries, same rounds, the worse family. */
  readonly telemetry_overhead_ratio: number;
  /** p50 at 1000 entries / p50 at 50 entries, the worse family. */
  readonly growth_50_to_1000: number | null;
  readonly timer_overhead_ns: number;
  readonly method: string;
  readonly cases: WarmCaseResult[];
}

export async function runWarm(
  options: WarmOptions = DEFAULT_WARM_OPTIONS,
  log: (s: string) => void = () => {},
): Promise<WarmResult> {
  const overheadNs = timerOverheadNs();
  const cases: WarmCaseResult[] = [];
  for (const family of FAMILIES) {
    for (const r of await runWarmFamily(family, options, overheadNs)) {
      log(
        `warm ${family} ${String(r.entries).padStart(4)} entries: handler p50 ${r.handler.p50_us} us, ${r.handler.decisions_per_s}/s; ` +
          `recording on p50 ${r.recording.p50_us} us (x${r.telemetry_overhead_ratio}); ` +
          `naive ${r.naive.decisions_per_s}/s (x${r.ratio_vs_naive})`,
      );
      cases.push(r);
    }
  }
  const at = (entries: number) => cases.filter((c) => c.entries === entries);
  const fifty = at(50);
  const thousand = at(1000);
  const growth =
    fifty.length > 0 && thousand.length > 0
      ? Math.max(
          ...FAMILIES.map(
            (f) =>
              thousand.find((c) => c.family === f)!.handler.p50_us / fifty.find((c) => c.family === f)!.handler.p50_us,
          ),
        )
      : null;
  return {
    p50_us: fifty.length ? Math.max(...fifty.map((c) => c.handler.p50_us)) : NaN,
    p99_us: fifty.length ? Math.max(...fifty.map((c) => c.handler.p99_us)) : NaN,
    decisions_per_s: fifty.length ? Math.min(...fifty.map((c) => c.handler.decisions_per_s)) : NaN,
    ratio_vs_naive: fifty.length ? Math.min(...fifty.map((c) => c.ratio_vs_naive)) : NaN,
    telemetry_overhead_ratio: fifty.length ? Math.max(...fifty.map((c) => c.telemetry_overhead_ratio)) : NaN,
    growth_50_to_1000: growth === null ? null : round(growth, 2),
    timer_overhead_ns: overheadNs,
    method:
      `createAuthorizer() with BatchedMetrics, a preloaded store (asserted: 0 store calls while measuring) and a frozen clock; ${options.callers} distinct ` +
      `allowed caller IPs per case, cycled; the same handler with traffic recording on (a TrafficRecorder whose writer counts: asserted 0 writes while measuring, so its ${options.callers} sightings stay buffered) measured in the same rounds; ` +
      `medians of ${options.rounds} interleaved rounds; decisions/s = calls per second of process CPU time over a batch (wall-clock rate reported beside it), ` +
      `p50/p99 from one hrtime pair per call minus the empty-pair overhead; headline = worse of IPv4 and IPv6`,
    cases,
  };
}
