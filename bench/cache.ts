import * as http from 'node:http';
import { hashApiKey } from '../lambda/core/api-key';
import { seedLoopbackKeys } from './e2e';
import { LocalModeProcess, LocalReady } from './local-harness';
import { round } from './stats';

/**
 * Cache efficiency through local mode: K keys x M source IPs (IPv4 loopback addresses 127.0.0.x, bound with
 * `localAddress`, so the gateway sees them as the TCP peer), each pair calling many paths with many methods, over
 * several TTL windows. The authorizer must run exactly once per (key, IP) pair per window: once per path would
 * mean the cached policy is not the stage-wide wildcard; once for several IPs would mean the IP is not part of
 * the cache key.
 *
 * Windows are crossed by moving the emulated gateway's cache clock past the template's TTL (local-child.ts),
 * so the windows are exact and the run does not wait minutes.
 */

export interface CacheOptions {
  readonly keys: number;
  readonly ips: number;
  readonly windows: number;
  readonly concurrency: number;
  /**
   * How a window ends: 'clock' moves the emulated gateway's cache clock past the TTL (exact, instant; for the
   * template's real TTL of minutes); 'wait' sleeps the TTL out in real time (for a local mode started with a short
   * `--ttl`).
   */
  readonly windowEnd: 'clock' | 'wait';
  /** Run the burst probe after the windows. */
  readonly burstProbe: boolean;
  /**
   * UpdateItems sent to the Traffic table so far for an organization's sightings (counted in front of DynamoDB
   * Local): with it, the run reports the writes of its own pairs per (key, IP) per TTL window.
   *
   * @default - traffic writes not measured
   */
  readonly trafficWrites?: (organizationId: string) => number;
}

export const DEFAULT_CACHE_OPTIONS: CacheOptions = {
  keys: 4,
  ips: 4,
  windows: 3,
  concurrency: 8,
  windowEnd: 'clock',
  burstProbe: true,
};

export const PATHS = [
  '/v1/models',
  '/v1/chat/completions',
  '/v1/files/file-123/content',
  '/v1/a/b/c/d',
  '/health',
  '/v2/things?x=1',
];
export const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

export interface CacheResult {
  readonly status: 'measured';
  /** Authorizer invocations per (key, IP) pair per TTL window: the mean, which must be exactly 1. */
  readonly invocations_per_pair_per_ttl: number;
  readonly min_per_pair_per_window: number;
  readonly max_per_pair_per_window: number;
  readonly keys: number;
  readonly ips: number;
  readonly pairs: number;
  readonly windows: number;
  readonly paths: number;
  readonly methods: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly gateway_ttl_seconds: number;
  readonly authorizer_invocations: number;
  readonly gateway_cache_hits: number;
  readonly per_window: { readonly invocations: number; readonly min: number; readonly max: number }[];
  /**
   * UpdateItems on the Traffic table during the windows per (key, IP) pair per window: at most 1 (the recorder
   * aggregates a pair's decisions in memory and writes only from invocations that read the store anyway).
   */
  readonly traffic?: { readonly writes: number; readonly writes_per_pair_per_ttl: number };
  /** One pair's first requests sent all at once in a fresh window: simultaneous misses are not merged. */
  readonly burst_probe?: { readonly concurrent_first_requests: number; readonly authorizer_invocations: number };
  readonly method: string;
}

function call(url: string, method: string, key: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = method === 'GET' || method === 'DELETE' ? undefined : '{"bench":true}';
    const req = http.request(
      url,
      {
        method,
        localAddress,
        agent: false,
        headers: {
          authorization: `Bearer ${key}`,
          // A client-supplied X-Forwarded-For must neither change the IP seen nor split the cache.
          'x-forwarded-for': '203.0.113.99',
          ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export async function runCache(
  local: LocalModeProcess,
  ready: LocalReady,
  options: CacheOptions = DEFAULT_CACHE_OPTIONS,
): Promise<CacheResult> {
  if (!ready.adminUrl) throw new Error('local mode has no admin API to create the benchmark keys with');
  if (ready.ttlSeconds <= 0) throw new Error('the authorizer cache is disabled in the synthesized template (TTL 0)');
  if (options.windowEnd === 'wait' && ready.ttlSeconds > 15)
    throw new Error(`waiting out ${ready.ttlSeconds} s windows would take too long`);
  const ips = Array.from({ length: options.ips }, (_, i) => `127.0.0.${11 + i}`);
  const projects = ['bench-cache-a', 'bench-cache-b'];
  const organizationId = `bench-cache-${options.windowEnd}`;
  const keys = await seedLoopbackKeys(
    ready.adminUrl,
    organizationId,
    projects,
    Math.ceil(options.keys / projects.length),
    ['127.0.0.0/24'],
  );
  keys.length = options.keys;
  const label = new Map(keys.map((k, i) => [hashApiKey(k.key).slice(0, 16), `key${i + 1}`]));

  // Each (key, IP) pair is one client sending its requests one after another (as a client on a keep-alive
  // connection does); the pairs run concurrently. Concurrent FIRST requests of one pair are measured apart
  // (burst probe below): neither API Gateway nor the emulator merges simultaneous cache misses.
  const clients = keys.flatMap((k) => ips.map((ip) => ({ key: k.key, ip })));
  const requestsOf = (w: number, c: number) => {
    const list: { path: string; method: string }[] = [];
    for (const path of PATHS) for (const method of METHODS) list.push({ path, method });
    // A different order per window and client, so no path or method is always a pair's first.
    return list
      .map((x, i) => ({ x, r: Math.sin(i * 12.9898 + w * 78.233 + c * 37.719) }))
      .sort((a, b) => a.r - b.r)
      .map((o) => o.x);
  };

  let previous = (await local.stats()).perPair;
  const perWindow: { invocations: number; min: number; max: number }[] = [];
  let requests = 0;
  let non2xx = 0;
  const start = await local.stats();
  const writesBefore = options.trafficWrites?.(organizationId);
  for (let w = 0; w < options.windows; w++) {
    await pool(
      clients.map((c, i) => ({ c, i })),
      options.concurrency,
      async ({ c, i }) => {
        for (const item of requestsOf(w, i)) {
          const status = await call(`${ready.url}${item.path}`, item.method, c.key, c.ip);
          requests += 1;
          if (status < 200 || status > 299) non2xx += 1;
        }
      },
    );
    const now = (await local.stats()).perPair;
    const counts: number[] = [];
    for (const k of keys) {
      for (const ip of ips) {
        const pair = `${hashApiKey(k.key).slice(0, 16)}|${ip}`;
        counts.push((now[pair] ?? 0) - (previous[pair] ?? 0));
      }
    }
    // Any other pair the authorizer saw in this window (the IP it was given was not the TCP peer, or a key was mixed up).
    const unexpected = Object.keys(now).filter(
      (p) => now[p] !== (previous[p] ?? 0) && (!label.has(p.split('|')[0]) || !ips.includes(p.split('|')[1])),
    );
    if (unexpected.length > 0)
      throw new Error(
        `cache: the authorizer saw unexpected (key, ip) pairs: ${unexpected.map((p) => p.split('|')[1]).join(', ')}`,
      );
    const invocations = counts.reduce((a, b) => a + b, 0);
    perWindow.push({ invocations, min: Math.min(...counts), max: Math.max(...counts) });
    previous = now;
    // Past the TTL: the next window starts with every decision expired.
    if (options.windowEnd === 'clock') {
      await local.advanceClock((ready.ttlSeconds + 1) * 1000);
    } else {
      // Every decision of this window was cached before now; all have expired a TTL (plus a margin) later.
      await new Promise((r) => setTimeout(r, ready.ttlSeconds * 1000 + 500));
    }
  }
  const end = await local.stats();
  const writes = writesBefore === undefined ? undefined : options.trafficWrites!(organizationId) - writesBefore;

  // Burst probe: a fresh window, then one pair's first requests all at once.
  let burstProbe: CacheResult['burst_probe'];
  if (options.burstProbe) {
    const burst = 8;
    const probe = clients[0];
    const beforeBurst = (await local.stats()).gateway.authorizerInvocations;
    const statuses = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        call(`${ready.url}${PATHS[i % PATHS.length]}`, 'GET', probe.key, probe.ip),
      ),
    );
    burstProbe = {
      concurrent_first_requests: burst,
      authorizer_invocations: (await local.stats()).gateway.authorizerInvocations - beforeBurst,
    };
    non2xx += statuses.filter((st) => st < 200 || st > 299).length;
  }

  const pairs = options.keys * options.ips;
  const total = perWindow.reduce((a, b) => a + b.invocations, 0);
  return {
    status: 'measured',
    invocations_per_pair_per_ttl: round(total / (pairs * options.windows), 3),
    min_per_pair_per_window: Math.min(...perWindow.map((w) => w.min)),
    max_per_pair_per_window: Math.max(...perWindow.map((w) => w.max)),
    keys: options.keys,
    ips: options.ips,
    pairs,
    windows: options.windows,
    paths: PATHS.length,
    methods: METHODS.length,
    requests,
    non2xx,
    gateway_ttl_seconds: ready.ttlSeconds,
    authorizer_invocations: end.gateway.authorizerInvocations - start.gateway.authorizerInvocations,
    gateway_cache_hits: end.gateway.authorizerCacheHits - start.gateway.authorizerCacheHits,
    per_window: perWindow,
    traffic:
      writes === undefined
        ? undefined
        : { writes, writes_per_pair_per_ttl: round(writes / (options.keys * options.ips * options.windows), 3) },
    burst_probe: burstProbe,
    method:
      `${options.keys} keys (2 projects, one org list 127.0.0.0/24, created through the admin API) x ${options.ips} source IPs 127.0.0.11-${10 + options.ips} ` +
      `(localAddress) x ${PATHS.length} paths x ${METHODS.length} methods; each pair a sequential client (a fresh connection per request), ` +
      `${options.concurrency} pairs at a time; ` +
      `spoofed X-Forwarded-For on every request; ${options.windows} windows of the synthesized TTL (${ready.ttlSeconds} s), ` +
      (options.windowEnd === 'clock'
        ? `crossed by advancing the emulated gateway's cache clock`
        : 'each waited out in real time') +
      `; invocations counted per pair at the authorizer Lambda's runner`,
  };
}
