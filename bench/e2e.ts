import autocannon from 'autocannon';
import { AdminClient } from '../cli/admin-client';
import { LocalModeProcess, LocalReady } from './local-harness';
import { median, round } from './stats';

/**
 * End to end through local mode: the same upstream called directly and through the emulated API Gateway stage
 * (route, authorizer result cache hit, policy evaluation against the method ARN, HTTP proxy integration), with
 * the same autocannon settings, alternated run by run. The authorizer Lambda must not be invoked while measuring
 * (every request a cache hit): asserted from the gateway's own counter.
 */

export interface E2EOptions {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly rounds: number;
  readonly warmupSeconds: number;
}

export const DEFAULT_E2E_OPTIONS: E2EOptions = { connections: 10, durationSeconds: 4, rounds: 3, warmupSeconds: 2 };

interface Run {
  readonly requests_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface E2EResult {
  readonly status: 'measured';
  /** Throughput through the gateway divided by throughput direct (1.0 = no cost). */
  readonly throughput_ratio: number;
  /** p99 through the gateway minus p99 direct, milliseconds. */
  readonly added_p99_ms: number;
  readonly direct: {
    readonly requests_per_s: number;
    readonly p50_ms: number;
    readonly p99_ms: number;
    readonly runs: Run[];
  };
  readonly gateway: {
    readonly requests_per_s: number;
    readonly p50_ms: number;
    readonly p99_ms: number;
    readonly runs: Run[];
  };
  readonly authorizer_invocations_during_measurement: number;
  readonly connections: number;
  readonly duration_s: number;
  readonly method: string;
}

async function load(
  url: string,
  options: E2EOptions,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<Run> {
  const r = await autocannon({ url, connections: options.connections, duration: seconds, headers, method: 'GET' });
  return {
    requests_per_s: Math.round(r.requests.total / r.duration),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

/** One organization with an enabled allowlist of IPv4 loopback and one key, through the admin API. */
export async function seedLoopbackKeys(
  adminUrl: string,
  organizationId: string,
  projects: readonly string[],
  keysPerProject: number,
  entries: string[],
) {
  const admin = new AdminClient({ endpoint: adminUrl, sign: false, localUser: 'bench' });
  await admin.replaceAllowlist(
    { org: organizationId },
    entries.map((value) => ({ value, description: 'bench' })),
    true,
  );
  const keys: { key: string; id: string; projectId: string }[] = [];
  for (const projectId of projects) {
    for (let i = 0; i < keysPerProject; i++) {
      const created = await admin.createKey(organizationId, projectId, `bench-${i}`);
      keys.push({ key: created.body.key, id: created.body.id, projectId });
    }
  }
  return keys;
}

export async function runE2E(
  local: LocalModeProcess,
  ready: LocalReady,
  upstreamUrl: string,
  options: E2EOptions = DEFAULT_E2E_OPTIONS,
): Promise<E2EResult> {
  if (!ready.adminUrl) throw new Error('local mode has no admin API to create the benchmark key with');
  const [k] = await seedLoopbackKeys(ready.adminUrl, 'bench-e2e', ['bench-e2e-project'], 1, ['127.0.0.1']);
  const headers = { authorization: `Bearer ${k.key}` };
  const gatewayUrl = `${ready.url}/v1/bench`;
  const directUrl = `${upstreamUrl}/v1/bench`;

  // Warm-up: JIT on both paths, keep-alive connections, and the authorizer's decision into the gateway cache.
  await load(directUrl, options, options.warmupSeconds);
  const warm = await load(gatewayUrl, options, options.warmupSeconds, headers);
  if (warm.requests === 0 || warm.non2xx > 0) {
    throw new Error(
      `e2e warm-up through the gateway: ${warm.non2xx} non-2xx of ${warm.requests} (is 127.0.0.1 allowed and the key valid?)`,
    );
  }

  const before = await local.stats();
  const direct: Run[] = [];
  const gateway: Run[] = [];
  for (let r = 0; r < options.rounds; r++) {
    direct.push(await load(directUrl, options, options.durationSeconds));
    gateway.push(await load(gatewayUrl, options, options.durationSeconds, headers));
  }
  const after = await local.stats();
  for (const run of [...direct, ...gateway]) {
    if (run.non2xx > 0 || run.errors > 0)
      throw new Error(`e2e: ${run.non2xx} non-2xx and ${run.errors} errors of ${run.requests} requests`);
  }
  const summarize = (runs: Run[]) => ({
    requests_per_s: Math.round(median(runs.map((x) => x.requests_per_s))),
    p50_ms: median(runs.map((x) => x.p50_ms)),
    p99_ms: median(runs.map((x) => x.p99_ms)),
    runs,
  });
  const d = summarize(direct);
  const g = summarize(gateway);
  return {
    status: 'measured',
    throughput_ratio: round(g.requests_per_s / d.requests_per_s, 2),
    added_p99_ms: round(g.p99_ms - d.p99_ms, 1),
    direct: d,
    gateway: g,
    authorizer_invocations_during_measurement:
      after.gateway.authorizerInvocations - before.gateway.authorizerInvocations,
    connections: options.connections,
    duration_s: options.durationSeconds,
    method:
      `autocannon in the bench process, ${options.connections} connections, GET, ${options.rounds} alternating runs of ${options.durationSeconds} s per target after ` +
      `${options.warmupSeconds} s warm-ups; upstream = a minimal node http server in its own process; local mode (startLocalMode, --upstream) in ` +
      `its own process; medians of runs; all four processes share this machine's 2 cores`,
  };
}
