import { median, percentile } from './stats';

/**
 * Timing of one operation in-process, on one core (Node runs it on its main thread).
 *
 * - Throughput: the process's CPU time (`process.cpuUsage()`) and wall time (`process.hrtime.bigint()`) around a
 *   batch of calls. CPU time is the headline: on this shared 2-core machine the wall clock also counts the time
 *   other tenants held the core, and "decisions per second on one core" means per second of CPU.
 * - Latency: a `process.hrtime.bigint()` pair around every call, minus the measured cost of an empty pair, so
 *   p50/p99 describe single calls (not batch means, which would hide the tail).
 * Each round does both; callers interleave the implementations they compare round by round, so noise from the
 * other tenants of this shared machine falls on both, and report the median over rounds.
 */

export type Operation = (i: number) => unknown;

export interface RoundResult {
  /** Calls per second of this process's CPU time: per core, whatever else the shared machine runs. */
  readonly perSecond: number;
  /** Calls per second of wall time (lower when other tenants take the core). */
  readonly perWallSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

/** Median cost of an empty `hrtime.bigint()` pair in nanoseconds. */
export function timerOverheadNs(samples = 20_000): number {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    const t1 = process.hrtime.bigint();
    values.push(Number(t1 - t0));
  }
  return median(values);
}

/** Runs `op` `count` times, awaiting it when it returns a promise (the handler is async, as Lambda calls it). */
export async function runBatch(op: Operation, count: number, async: boolean): Promise<bigint> {
  const t0 = process.hrtime.bigint();
  if (async) {
    for (let i = 0; i < count; i++) await op(i);
  } else {
    for (let i = 0; i < count; i++) op(i);
  }
  return process.hrtime.bigint() - t0;
}

export async function sampleLatencies(
  op: Operation,
  count: number,
  async: boolean,
  overheadNs: number,
): Promise<number[]> {
  const ns = new Float64Array(count);
  if (async) {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      await op(i);
      ns[i] = Number(process.hrtime.bigint() - t0);
    }
  } else {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      op(i);
      ns[i] = Number(process.hrtime.bigint() - t0);
    }
  }
  return Array.from(ns, (v) => Math.max(0, v - overheadNs) / 1000);
}

export interface Subject {
  readonly name: string;
  readonly op: Operation;
  /** Await each call (the handler, as Lambda calls it). @default true */
  readonly async?: boolean;
}

export interface CompareOptions {
  readonly rounds: number;
  /** Target wall time of each throughput batch and each latency sample, per subject and round. */
  readonly targetMsPerPhase: number;
  readonly warmupMs: number;
  /** Upper bound of calls in a phase (keeps latency arrays small for very fast operations). */
  readonly maxCallsPerPhase: number;
  readonly overheadNs: number;
}

export interface SubjectResult {
  readonly name: string;
  readonly rounds: RoundResult[];
  readonly callsPerPhase: number;
  /** Medians over rounds. */
  readonly perSecond: number;
  readonly perWallSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

/** How many calls take about `targetMs`, from a short calibration run. */
async function calibrate(op: Operation, async: boolean, targetMs: number, maxCalls: number): Promise<number> {
  let count = 16;
  for (;;) {
    const ns = Number(await runBatch(op, count, async));
    if (ns >= 20e6 || count >= maxCalls) {
      const perCall = ns / count;
      return Math.max(16, Math.min(maxCalls, Math.round((targetMs * 1e6) / perCall)));
    }
    count *= 4;
  }
}

/**
 * A full collection between phases (when node runs with --expose-gc, as `npm run bench` does), so garbage made by
 * one subject (the baseline makes a lot) is not collected during the next subject's phase and billed to it.
 */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

/** Measures the subjects round by round, interleaved. */
export async function compare(subjects: readonly Subject[], options: CompareOptions): Promise<SubjectResult[]> {
  const calls: number[] = [];
  for (const s of subjects) {
    const async = s.async ?? true;
    // Warm the JIT for each subject before any measurement.
    const deadline = Date.now() + options.warmupMs;
    let i = 0;
    while (Date.now() < deadline) {
      await runBatch((k) => s.op(i + k), 256, async);
      i += 256;
    }
    calls.push(await calibrate(s.op, async, options.targetMsPerPhase, options.maxCallsPerPhase));
  }
  const rounds: RoundResult[][] = subjects.map(() => []);
  for (let r = 0; r < options.rounds; r++) {
    for (let s = 0; s < subjects.length; s++) {
      const { op } = subjects[s];
      const async = subjects[s].async ?? true;
      const n = calls[s];
      collectGarbage();
      const cpu0 = process.cpuUsage();
      const ns = Number(await runBatch(op, n, async));
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      collectGarbage();
      const latencies = await sampleLatencies(op, n, async, options.overheadNs);
      rounds[s].push({
        perSecond: n / Math.max(cpuSeconds, 1e-6),
        perWallSecond: n / (ns / 1e9),
        p50Us: percentile(latencies, 50),
        p99Us: percentile(latencies, 99),
      });
    }
  }
  return subjects.map((s, k) => ({
    name: s.name,
    rounds: rounds[k],
    callsPerPhase: calls[k],
    perSecond: median(rounds[k].map((x) => x.perSecond)),
    perWallSecond: median(rounds[k].map((x) => x.perWallSecond)),
    p50Us: median(rounds[k].map((x) => x.p50Us)),
    p99Us: median(rounds[k].map((x) => x.p99Us)),
  }));
}
