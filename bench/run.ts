/**
 * `npm run bench`: every benchmark of issue 6 in one run, a table on stdout, and bench/results/latest.json.
 * See docs/performance.md for what each figure means and how it is measured.
 *
 * Options: --quick (tiny inputs: proves the harness works, numbers meaningless), --only=warm,cold,footprint,e2e
 * (e2e includes the cache benchmark), --out=FILE (default bench/results/latest.json).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDbLocal, startDynamoDbLocal } from '../test/support/dynamodb-local';
import { DynamoDbProxy, startDynamoDbProxy } from '../test/support/dynamodb-proxy';
import { runCache, DEFAULT_CACHE_OPTIONS } from './cache';
import { runCold } from './cold';
import { costModel } from './cost-model';
import { DEFAULT_E2E_OPTIONS, runE2E } from './e2e';
import { buildSdkBundledVariant, measureBundle, measureInit } from './footprint';
import { LocalModeProcess, startUpstream, Upstream } from './local-harness';
import {
  BenchResults,
  evaluateTargets,
  gitInfo,
  machineInfo,
  NotMeasured,
  renderMarkdown,
  renderTable,
  writeResults,
} from './report';
import { DEFAULT_WARM_OPTIONS, runWarm } from './warm';

const ROOT = path.resolve(__dirname, '..');
/** Propagation delay of the real-time cache run: API Gateway TTL 3 s, in-memory cache 1 s (splitPropagationDelay). */
const SHORT_TTL_SECONDS = 5;
const SECTIONS = ['footprint', 'warm', 'cold', 'e2e'] as const;
type Section = (typeof SECTIONS)[number];

export interface RunOptions {
  readonly quick: boolean;
  readonly only: ReadonlySet<Section>;
  readonly out: string;
  readonly log: (line: string) => void;
}

function notMeasured(reason: string): NotMeasured {
  return { status: `not measured: ${reason}` };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}

/** Everything this run started, stopped in reverse order on exit or on a signal. */
const cleanups: Array<() => Promise<void>> = [];
async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
}

export async function runBench(options: RunOptions): Promise<BenchResults> {
  const { log, quick, only } = options;
  const started = Date.now();
  const durations: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      durations[name] = Math.round((Date.now() - t0) / 100) / 10;
    }
  };
  const machine = machineInfo();
  const git = gitInfo(ROOT);

  let ddb: DynamoDbLocal | undefined;
  const needDdb = only.has('cold') || only.has('e2e');
  const ddbPromise = needDdb ? startDynamoDbLocal() : undefined;
  ddbPromise?.then((d) => cleanups.push(() => d.stop())).catch(() => undefined);

  let bundle: BenchResults['bundle'] = notMeasured('skipped (--only)');
  let init: BenchResults['init'] = notMeasured('skipped (--only)');
  // The bundle is built even when footprint is skipped: local mode's synth deploys it.
  if (only.has('footprint') || only.has('e2e')) {
    bundle = await timed('bundle', async () => {
      try {
        const b = await measureBundle();
        log(`bundle: authorizer ${b.authorizer_bytes} bytes (${b.authorizer_gzip_bytes} gzip)`);
        return b;
      } catch (err) {
        return notMeasured(`bundling failed: ${describe(err)}`);
      }
    });
  }
  if (needDdb) {
    try {
      ddb = await timed('dynamodb_local_start', () => ddbPromise!);
    } catch (err) {
      log(`DynamoDB Local did not start: ${describe(err)}`);
    }
  }
  if (only.has('footprint') && 'file' in bundle) {
    const file = bundle.file;
    init = await timed('init', async () => {
      try {
        const r = measureInit(file, quick ? 2 : 10);
        log(
          `init: ${r.median_ms} ms net (${r.raw_median_ms} raw, ${r.baseline_median_ms} empty node); require() ${r.require_median_ms} ms, of which the SDK client alone ~${r.sdk_client_require_median_ms} ms`,
        );
        // The comparison variant: the same handler with the SDK bundled in (not what the construct ships).
        let sdkBundled: Record<string, unknown>;
        try {
          const v = await buildSdkBundledVariant();
          const vi = measureInit(v.file, quick ? 2 : 10, false);
          fs.rmSync(path.dirname(v.file), { recursive: true, force: true });
          sdkBundled = {
            bytes: v.bytes,
            gzip_bytes: v.gzip_bytes,
            init_median_ms: vi.median_ms,
            init_raw_median_ms: vi.raw_median_ms,
            init_require_median_ms: vi.require_median_ms,
          };
          log(`init with the SDK bundled in (comparison only): ${vi.median_ms} ms net, ${v.bytes} bytes`);
        } catch (err) {
          sdkBundled = { status: `not measured: ${describe(err)}` };
        }
        return { ...r, variant_sdk_bundled: sdkBundled };
      } catch (err) {
        return notMeasured(`init failed: ${describe(err)}`);
      }
    });
  } else if (only.has('footprint')) {
    init = notMeasured('no bundle');
  }
  if (!only.has('footprint') && 'file' in bundle) bundle = notMeasured('skipped (--only)');

  let warm: BenchResults['warm'] = notMeasured('skipped (--only)');
  if (only.has('warm')) {
    warm = await timed('warm', () =>
      runWarm(
        quick
          ? { ...DEFAULT_WARM_OPTIONS, sizes: [1, 50, 1000], callers: 32, rounds: 1, targetMsPerPhase: 2, warmupMs: 5 }
          : DEFAULT_WARM_OPTIONS,
        log,
      ),
    );
  }

  let cold: BenchResults['cold'] = notMeasured('skipped (--only)');
  if (only.has('cold')) {
    cold = ddb
      ? await timed('cold', async () => {
          const r = await runCold(ddb.endpoint, { latencySamples: quick ? 3 : 40 });
          log(
            `cold: ${r.round_trips} sequential round trip(s) per decision, median ${r.median_ms} ms against DynamoDB Local`,
          );
          return r;
        })
      : notMeasured('DynamoDB Local did not start');
  }

  let e2e: Record<string, unknown> = notMeasured('skipped (--only)') as unknown as Record<string, unknown>;
  let cache: Record<string, unknown> = { ...e2e };
  if (only.has('e2e')) {
    await timed('e2e_and_cache', async () => {
      let upstream: Upstream | undefined;
      let local: LocalModeProcess | undefined;
      try {
        const running = await startUpstream();
        upstream = running;
        cleanups.push(() => running.stop());
        // Local mode's DynamoDB traffic passes a loopback proxy that counts the Traffic table's UpdateItems.
        let proxy: DynamoDbProxy | undefined;
        if (ddb) {
          const p = await startDynamoDbProxy(ddb.endpoint);
          proxy = p;
          cleanups.push(() => p.close());
        }
        const trafficWrites = proxy
          ? (organizationId: string) =>
              proxy.exchanges.filter(
                (e) =>
                  e.operation === 'UpdateItem' &&
                  /Traffic/.test(e.body) &&
                  e.body.includes(JSON.stringify(`ORG#${organizationId}`)),
              ).length
          : undefined;
        const started = await LocalModeProcess.start({
          upstreamUrl: upstream.url,
          dynamoDbEndpoint: proxy?.endpoint ?? ddb?.endpoint,
        });
        local = started.local;
        cleanups.push(() => local!.stop());
        log(
          `local mode: ${started.ready.url} (authorizer TTL ${started.ready.ttlSeconds} s, identity sources ${started.ready.identitySources.join(', ')})`,
        );
        try {
          const r = await runE2E(
            local,
            started.ready,
            upstream.url,
            quick ? { connections: 2, durationSeconds: 1, rounds: 1, warmupSeconds: 1 } : DEFAULT_E2E_OPTIONS,
          );
          log(`e2e: gateway/direct throughput ${r.throughput_ratio}, added p99 ${r.added_p99_ms} ms`);
          e2e = { ...r };
        } catch (err) {
          e2e = { status: `failed: ${describe(err)}` };
        }
        const cacheOptions = quick
          ? { ...DEFAULT_CACHE_OPTIONS, keys: 2, ips: 2, windows: 2, concurrency: 4 }
          : DEFAULT_CACHE_OPTIONS;
        try {
          const r = await runCache(local, started.ready, { ...cacheOptions, trafficWrites });
          log(
            `cache: ${r.invocations_per_pair_per_ttl} authorizer invocations per (key, IP) per TTL window (TTL ${r.gateway_ttl_seconds} s, clock moved) over ${r.requests} requests` +
              (r.traffic ? `; ${r.traffic.writes_per_pair_per_ttl} Traffic UpdateItems per pair per window` : ''),
          );
          cache = { ...r };
        } catch (err) {
          cache = { status: `failed: ${describe(err)}` };
        }
        await local.stop();

        // The same workload on a local mode started with a short propagation delay (`npm start -- --ttl 5`),
        // whose windows are waited out in real time: the emulated cache's own clock, no clock moved by the bench.
        const short = await LocalModeProcess.start({
          upstreamUrl: upstream.url,
          dynamoDbEndpoint: ddb?.endpoint,
          propagationDelaySeconds: SHORT_TTL_SECONDS,
        });
        local = short.local;
        try {
          const r = await runCache(local, short.ready, { ...cacheOptions, windowEnd: 'wait', burstProbe: false });
          log(
            `cache, real time: ${r.invocations_per_pair_per_ttl} per (key, IP) per TTL window (TTL ${r.gateway_ttl_seconds} s) over ${r.requests} requests`,
          );
          cache = { ...cache, short_ttl_real_time: r };
        } catch (err) {
          cache = { ...cache, short_ttl_real_time: { status: `failed: ${describe(err)}` } };
        }
      } catch (err) {
        const missing = /Cannot find module|bin\/app|exports none of/.test(String(err));
        const reason = missing
          ? `not measured: local mode missing (${describe(err)})`
          : `not measured: local mode did not start (${describe(err)})`;
        e2e = { status: reason };
        cache = { status: reason };
      } finally {
        await local?.stop();
        await upstream?.stop();
      }
    });
  }

  await cleanup();
  durations.total = Math.round((Date.now() - started) / 100) / 10;
  const partial = {
    schema: 1 as const,
    command: quick ? 'npm run bench -- --quick' : 'npm run bench',
    date: new Date().toISOString(),
    git,
    machine: { ...machine, loadavg_at_end: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100) },
    duration_s: durations,
    warm,
    cold,
    bundle,
    init,
    e2e,
    cache,
    cost: costModel(),
  };
  const results: BenchResults = { ...partial, targets: evaluateTargets(partial) };
  writeResults(options.out, results);
  fs.writeFileSync(options.out.replace(/\.json$/, '') + '.md', renderMarkdown(results));
  return results;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' } },
    strict: true,
  });
  const only = new Set<Section>();
  for (const s of (values.only ?? SECTIONS.join(',')).split(',').map((x) => x.trim())) {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only takes ${SECTIONS.join(',')}; got ${s}`);
    only.add(s as Section);
  }
  if (!(globalThis as { gc?: unknown }).gc) {
    console.error(
      'note: run with node --expose-gc (npm run bench does) so the warm rounds start from a collected heap',
    );
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping what the bench started`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const out = path.resolve(values.out ?? path.join(ROOT, 'bench', 'results', 'latest.json'));
  const results = await runBench({ quick: values.quick ?? false, only, out, log: (line) => console.log(line) });
  console.log(`\n${renderTable(results)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)} (and .md) in ${results.duration_s.total} s`);
  const missed = results.targets.filter((t) => t.met === false);
  if (missed.length > 0) console.log(`targets missed: ${missed.map((t) => `${t.id} (${t.miss})`).join('; ')}`);
}

if (require.main === module) {
  main().catch(async (err) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  });
}
