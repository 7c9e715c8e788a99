import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ColdResult } from './cold';
import type { CostModel } from './cost-model';
import type { BundleResult, InitResult } from './footprint';
import type { WarmResult } from './warm';

/** The results file (bench/results/latest.json) and the table printed at the end of `npm run bench`. */

export interface NotMeasured {
  readonly status: string;
}

export interface Target {
  readonly id: string;
  readonly metric: string;
  readonly target: string;
  readonly value: number | string | null;
  /** null when the metric was not measured. */
  readonly met: boolean | null;
  /** How far from the target when missed, in the metric's unit or as a factor. */
  readonly miss?: string;
}

export interface BenchResults {
  readonly schema: 1;
  readonly command: string;
  readonly date: string;
  readonly git: { readonly commit: string; readonly dirty_files: number };
  readonly machine: Record<string, unknown>;
  readonly duration_s: Record<string, number>;
  readonly warm: WarmResult | NotMeasured;
  readonly cold: ColdResult | NotMeasured;
  readonly bundle: BundleResult | NotMeasured;
  readonly init: InitResult | NotMeasured;
  readonly e2e: Record<string, unknown>;
  readonly cache: Record<string, unknown>;
  /** The cost model (prices and assumptions inside), recomputed each run. */
  readonly cost: CostModel;
  readonly targets: Target[];
}

export function gitInfo(root: string): { commit: string; dirty_files: number } {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no');
    return { commit, dirty_files: dirty ? dirty.split('\n').length : 0 };
  } catch {
    return { commit: 'unknown', dirty_files: -1 };
  }
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
    note: 'shared machine: other engineers run tests on the same 2 cores; compare ratios from one run, not absolute times across runs',
  };
}

function num(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

function check(
  id: string,
  metric: string,
  target: string,
  value: number | null,
  ok: (v: number) => boolean,
  miss: (v: number) => string,
): Target {
  if (value === null) return { id, metric, target, value: null, met: null };
  const met = ok(value);
  return met ? { id, metric, target, value, met } : { id, metric, target, value, met, miss: miss(value) };
}

export const BUNDLE_LIMIT_BYTES = 150_000;

/** Every pair exactly once in every window (a mean of 1 could hide a pair seen twice and another never). */
function exactlyOnce(c: Record<string, unknown>): boolean {
  return c.invocations_per_pair_per_ttl === 1 && c.min_per_pair_per_window === 1 && c.max_per_pair_per_window === 1;
}

export function evaluateTargets(r: Omit<BenchResults, 'targets' | 'cost'>): Target[] {
  const warm = r.warm as Partial<WarmResult>;
  const cold = r.cold as Partial<ColdResult>;
  const bundle = r.bundle as Partial<BundleResult>;
  const init = r.init as Partial<InitResult>;
  const times = (v: number, limit: number) => `${(v / limit).toFixed(2)}x the limit (+${(v - limit).toFixed(2)})`;
  return [
    check(
      'warm.p50_us',
      'warm p50 at 50 entries (us)',
      '<= 5',
      num(warm.p50_us),
      (v) => v <= 5,
      (v) => times(v, 5),
    ),
    check(
      'warm.ratio_vs_naive',
      'warm speed-up vs naive at 50 entries',
      '>= 20x',
      num(warm.ratio_vs_naive),
      (v) => v >= 20,
      (v) => `${(20 / v).toFixed(2)}x short`,
    ),
    check(
      'warm.growth_50_to_1000',
      'warm p50 growth 50 -> 1000 entries',
      '<= 2x',
      num(warm.growth_50_to_1000),
      (v) => v <= 2,
      (v) => times(v, 2),
    ),
    check(
      'cold.round_trips',
      'cold DynamoDB sequential round trips',
      '<= 2 (goal 1)',
      num(cold.round_trips),
      (v) => v <= 2,
      (v) => `${v - 2} too many`,
    ),
    check(
      'forged.list_reads_per_tenant_window',
      "reads of each of a tenant's lists per in-memory window, 1,000 made-up keys",
      '<= 1',
      num(cold.forged?.list_reads_per_tenant_window),
      (v) => v <= 1,
      (v) => `${v} reads per window`,
    ),
    check(
      'bundle.authorizer_bytes',
      'authorizer bundle (bytes, minified)',
      `<= ${BUNDLE_LIMIT_BYTES}`,
      num(bundle.authorizer_bytes),
      (v) => v <= BUNDLE_LIMIT_BYTES,
      (v) => times(v, BUNDLE_LIMIT_BYTES),
    ),
    check(
      'init.median_ms',
      'authorizer module init (ms, net)',
      '<= 50',
      num(init.median_ms),
      (v) => v <= 50,
      (v) => times(v, 50),
    ),
    check(
      'warm.telemetry_overhead_ratio',
      'warm p50 with traffic recording on / off at 50 entries (same run)',
      '<= 1.1',
      num(warm.telemetry_overhead_ratio),
      (v) => v <= 1.1,
      (v) => times(v, 1.1),
    ),
    check(
      'traffic.writes_per_pair_per_ttl',
      'Traffic table UpdateItems per (key, IP) per TTL, through local mode',
      '<= 1',
      num((r.cache.traffic as { writes_per_pair_per_ttl?: unknown } | undefined)?.writes_per_pair_per_ttl),
      (v) => v <= 1,
      (v) => times(v, 1),
    ),
    check(
      'cache.invocations_per_pair_per_ttl',
      'authorizer invocations per (key, IP) per TTL',
      '== 1',
      num(r.cache.invocations_per_pair_per_ttl),
      () =>
        exactlyOnce(r.cache) &&
        (r.cache.short_ttl_real_time === undefined ||
          exactlyOnce(r.cache.short_ttl_real_time as Record<string, unknown>)),
      (v) => {
        const rt = r.cache.short_ttl_real_time as Record<string, unknown> | undefined;
        return (
          `mean ${v}, min ${String(r.cache.min_per_pair_per_window)}, max ${String(r.cache.max_per_pair_per_window)}` +
          (rt
            ? `; real-time run: mean ${String(rt.invocations_per_pair_per_ttl ?? rt.status)}, min ${String(rt.min_per_pair_per_window)}, max ${String(rt.max_per_pair_per_window)}`
            : '')
        );
      },
    ),
  ];
}

export function writeResults(file: string, results: BenchResults): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

function pad(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => `| ${r.map((cell, c) => (cell ?? '').padEnd(widths[c])).join(' | ')} |`)
    .map((line, i) => (i === 0 ? `${line}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|` : line))
    .join('\n');
}

const fmt = (v: unknown): string =>
  v === null || v === undefined
    ? 'n/a'
    : typeof v === 'number'
      ? v.toLocaleString('en-US', { maximumFractionDigits: 2 })
      : typeof v === 'string'
        ? v
        : JSON.stringify(v);

/** Markdown tables: the headline figures with their targets, then the warm cases. */
export function renderTable(r: BenchResults): string {
  const warm = r.warm as Partial<WarmResult>;
  const cold = r.cold as Partial<ColdResult>;
  const bundle = r.bundle as Partial<BundleResult>;
  const init = r.init as Partial<InitResult>;
  const e2e = r.e2e;
  const cache = r.cache;
  const realTime = cache.short_ttl_real_time as Record<string, unknown> | undefined;
  const target = (id: string) => r.targets.find((t) => t.id === id);
  const verdict = (id: string) => {
    const t = target(id);
    if (!t) return '';
    if (t.met === null) return 'not measured';
    return t.met ? 'met' : `MISSED: ${t.miss}`;
  };
  const rows: string[][] = [
    ['metric', 'value', 'target', 'verdict'],
    ['warm.p50_us (50 entries, worse of IPv4/IPv6)', fmt(warm.p50_us), '<= 5 us', verdict('warm.p50_us')],
    ['warm.p99_us (50 entries)', fmt(warm.p99_us), '', ''],
    ['warm.decisions_per_s (50 entries, per CPU-second)', fmt(warm.decisions_per_s), '', ''],
    ['warm.ratio_vs_naive (50 entries)', fmt(warm.ratio_vs_naive), '>= 20x', verdict('warm.ratio_vs_naive')],
    ['warm.growth_50_to_1000 (p50)', fmt(warm.growth_50_to_1000), '<= 2x', verdict('warm.growth_50_to_1000')],
    ['cold.round_trips (sequential, per decision)', fmt(cold.round_trips), '<= 2, goal 1', verdict('cold.round_trips')],
    ['cold.median_ms (vs DynamoDB Local)', fmt(cold.median_ms), '', ''],
    [
      'bundle.authorizer_bytes (minified; gzip)',
      `${fmt(bundle.authorizer_bytes)}; ${fmt(bundle.authorizer_gzip_bytes)}`,
      `<= ${fmt(BUNDLE_LIMIT_BYTES)}`,
      verdict('bundle.authorizer_bytes'),
    ],
    [
      'init.median_ms (net; raw - empty node)',
      `${fmt(init.median_ms)} (${fmt(init.raw_median_ms)} - ${fmt(init.baseline_median_ms)})`,
      '<= 50 ms',
      verdict('init.median_ms'),
    ],
    [
      'init: require() in-process; SDK client alone (ms)',
      `${fmt(init.require_median_ms)}; ${fmt(init.sdk_client_require_median_ms)}`,
      '',
      '',
    ],
    [
      '(comparison) SDK bundled in: bytes; init net ms',
      init.variant_sdk_bundled && 'bytes' in init.variant_sdk_bundled
        ? `${fmt(init.variant_sdk_bundled.bytes)}; ${fmt(init.variant_sdk_bundled.init_median_ms)}`
        : 'n/a',
      '',
      '',
    ],
    [
      'e2e.throughput_ratio (gateway / direct)',
      e2e.status === 'measured' ? fmt(e2e.throughput_ratio) : String(e2e.status),
      '',
      '',
    ],
    ['e2e.added_p99_ms', e2e.status === 'measured' ? fmt(e2e.added_p99_ms) : String(e2e.status), '', ''],
    [
      `cache.invocations_per_pair_per_ttl (TTL ${fmt(cache.gateway_ttl_seconds)} s; clock moved)`,
      cache.status === 'measured' ? fmt(cache.invocations_per_pair_per_ttl) : String(cache.status),
      'exactly 1',
      verdict('cache.invocations_per_pair_per_ttl'),
    ],
    [
      `  same, short TTL waited out in real time (TTL ${fmt(realTime?.gateway_ttl_seconds)} s)`,
      realTime
        ? realTime.status === 'measured'
          ? fmt(realTime.invocations_per_pair_per_ttl)
          : String(realTime.status)
        : 'n/a',
      'exactly 1',
      '',
    ],
  ];
  let out = pad(rows);
  if (Array.isArray(warm.cases) && warm.cases.length > 0) {
    const w: string[][] = [
      [
        'entries',
        'caller',
        'handler p50 us',
        'handler p99 us',
        'handler decisions/s',
        'naive decisions/s',
        'ratio',
        'matcher ratio',
      ],
    ];
    for (const c of warm.cases) {
      w.push([
        String(c.entries),
        c.family,
        fmt(c.handler.p50_us),
        fmt(c.handler.p99_us),
        fmt(c.handler.decisions_per_s),
        fmt(c.naive.decisions_per_s),
        `${fmt(c.ratio_vs_naive)}x`,
        `${fmt(c.matcher.ratio)}x`,
      ]);
    }
    out += `\n\n${pad(w)}`;
  }
  if (e2e.status === 'measured') {
    const d = e2e.direct as { requests_per_s: number; p50_ms: number; p99_ms: number };
    const g = e2e.gateway as { requests_per_s: number; p50_ms: number; p99_ms: number };
    out += `\n\n${pad([
      ['e2e (autocannon, ' + fmt(e2e.connections) + ' connections)', 'requests/s', 'p50 ms', 'p99 ms'],
      ['upstream direct', fmt(d.requests_per_s), fmt(d.p50_ms), fmt(d.p99_ms)],
      ['through local gateway (cache hits)', fmt(g.requests_per_s), fmt(g.p50_ms), fmt(g.p99_ms)],
    ])}`;
  }
  return out;
}

/** bench/results/latest.md: the table of the run with the command, date, commit and machine, ready for docs/performance.md. */
export function renderMarkdown(r: BenchResults): string {
  const m = r.machine as {
    cpu_model?: string;
    cpus?: number;
    node?: string;
    loadavg_at_start?: number[];
    loadavg_at_end?: number[];
  };
  const lines = [
    `Produced by \`${r.command}\` on ${r.date.slice(0, 10)} at commit ${r.git.commit.slice(0, 7)}` +
      (r.git.dirty_files > 0 ? ` (with ${r.git.dirty_files} uncommitted tracked files in the shared work tree)` : '') +
      `, in ${r.duration_s.total} s.`,
    `Machine: ${m.cpus} x ${m.cpu_model}, Node ${m.node}; load average ${m.loadavg_at_start?.join('/')} at start, ` +
      `${m.loadavg_at_end?.join('/')} at end (a shared machine: other engineers were running tests).`,
    '',
    renderTable(r),
    '',
  ];
  const c = r.cost;
  const ttls = [...new Set(c.scenarios.map((x) => x.propagation_delay_s))];
  const pairs = [...new Set(c.scenarios.map((x) => x.pairs))];
  const ttlOf = (t: number) => c.scenarios.find((x) => x.propagation_delay_s === t)!.gateway_ttl_s;
  const rows = [
    ['distinct (key, IP) pairs', ...ttls.map((t) => `propagationDelay ${t} s (gateway TTL ${ttlOf(t)} s)`)],
  ];
  for (const p of pairs) {
    rows.push([
      p.toLocaleString('en-US'),
      ...ttls.map((t) => {
        const s = c.scenarios.find((x) => x.pairs === p && x.propagation_delay_s === t)!;
        return `$${s.usd_per_million_requests} (miss ${s.miss_ratio})`;
      }),
    ]);
  }
  lines.push(
    `Cost per million API requests at ${(c.assumptions.requests_per_month as number).toLocaleString('en-US')} requests/month ` +
      `(Lambda + DynamoDB; AWS WAF would be $${c.scenarios[0].waf_usd_per_million_requests} with one web ACL and one rule):`,
    '',
    pad(rows),
    '',
  );
  return lines.join('\n');
}
