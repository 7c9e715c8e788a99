import { BlockList, isIPv4 } from 'node:net';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { compileAllowlist, normalizeAllowlistEntry } from '../../lambda/core/allowlist';
import { generateCallers, generateRanges } from '../../bench/data';
import { allowlist, authorizerEvent, makeTenant } from '../../bench/fixture';
import { compare } from '../../bench/measure';
import { NaiveData, naiveDecide, naiveMatch } from '../../bench/naive';
import { evaluateTargets } from '../../bench/report';
import { RoundTripCounter } from '../../bench/round-trips';
import { median, percentile } from '../../bench/stats';
import { prepareWarmCase } from '../../bench/warm';
import { localClient, testEndpoint } from '../support/dynamodb-local';

/**
 * The benchmark harness on tiny inputs: it must measure the right thing (same answers from the real matcher and
 * the baseline, storage never touched on the warm path, round trips counted as they happen). No timing is asserted:
 * `npm run bench` reports numbers, tests only prove the machinery.
 */

describe('bench statistics', () => {
  it('takes nearest-rank percentiles and says NaN for no data', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(median([])).toBeNaN();
  });
});

describe('bench inputs', () => {
  it.each(['ipv4', 'ipv6'] as const)(
    'generates canonical, non-overlapping %s entries and callers inside them',
    (family) => {
      const ranges = generateRanges(family, 200, 42);
      const cidrs = ranges.map((r) => r.cidr);
      // Canonical already: what the admin API would store.
      for (const c of cidrs) expect(normalizeAllowlistEntry(c)).toBe(c);
      expect(new Set(cidrs).size).toBe(cidrs.length);

      const callers = generateCallers(family, ranges, 300, 43);
      const compiled = compileAllowlist(cidrs);
      const blocks = cidrs.map((c) => {
        const [address, prefix] = c.split('/');
        const b = new BlockList();
        b.addSubnet(address, Number(prefix), isIPv4(address) ? 'ipv4' : 'ipv6');
        return { c, b };
      });
      for (const caller of callers) {
        // Exactly one entry contains each caller (no overlap), per Node's own BlockList.
        const containing = blocks.filter(({ b }) => b.check(caller.ip, family)).map(({ c }) => c);
        expect(containing).toEqual([caller.expected]);
        expect(compiled.match(caller.ip)).toBe(caller.expected);
      }
    },
  );
});

describe('naive baseline', () => {
  it('agrees with the compiled matcher, including IPv4-mapped callers, nested ranges and garbage', () => {
    const entries = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3/32', '2001:db8::/32', '2001:db8:1::/48'];
    const compiled = compileAllowlist(entries);
    for (const ip of [
      '10.1.2.3',
      '10.1.9.9',
      '10.200.0.1',
      '::ffff:10.1.2.3',
      '2001:db8:1::5',
      '2001:db8:2::5',
      '11.0.0.1',
      'garbage',
      '',
    ]) {
      expect(naiveMatch(entries, ip)).toBe(compiled.match(ip));
    }
  });

  it('decides like an authorizer: project list wins, unknown keys and outside IPs are denied', () => {
    const tenant = makeTenant({
      organizationId: 'org-n',
      projectId: 'proj-n',
      organization: allowlist(['198.51.100.0/24']),
      project: allowlist(['203.0.113.0/24']),
    });
    const data = new Map<string, NaiveData>([
      [tenant.record.keyHash, { key: tenant.record, organization: tenant.organization, project: tenant.project }],
    ]);
    const effect = (key: string, ip: string) => naiveDecide(authorizerEvent(key, ip), data).policyDocument.Statement[0];
    expect(effect(tenant.key, '203.0.113.9')).toEqual({
      Action: 'execute-api:Invoke',
      Effect: 'Allow',
      Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*',
    });
    expect(effect(tenant.key, '198.51.100.9').Effect).toBe('Deny');
    const other = makeTenant({ organizationId: 'org-n', projectId: 'proj-n' });
    expect(effect(other.key, '203.0.113.9').Effect).toBe('Deny');
  });
});

describe('warm case preparation', () => {
  it('primes the real authorizer with one store read; measuring then never reads the store', async () => {
    const prepared = await prepareWarmCase(50, 'ipv6', 16);
    expect(prepared.store.calls).toBe(0);
    const [handler, naive, recording] = await compare(
      [
        { name: 'handler', op: prepared.handlerOp },
        { name: 'naive', op: prepared.naiveOp },
        { name: 'recording', op: prepared.recordingOp },
      ],
      { rounds: 1, targetMsPerPhase: 1, warmupMs: 1, maxCallsPerPhase: 64, overheadNs: 0 },
    );
    expect(prepared.store.calls).toBe(0);
    expect(prepared.logger.lines).toBe(0);
    // The recording handler wrote once, when priming; its warm decisions only buffer.
    expect(prepared.trafficWrites()).toBe(1);
    for (const r of [handler, naive, recording]) {
      expect(r.rounds).toHaveLength(1);
      expect(Number.isFinite(r.p50Us) && Number.isFinite(r.perSecond)).toBe(true);
    }
  });
});

describe('round-trip counter', () => {
  it('counts every request, and parallel requests as one sequential round trip', async () => {
    const client = localClient(testEndpoint());
    const counter = new RoundTripCounter(client);
    try {
      let end = counter.window();
      await Promise.all([client.send(new ListTablesCommand({})), client.send(new ListTablesCommand({}))]);
      expect(end()).toEqual({ roundTrips: 2, sequential: 1, commands: ['ListTablesCommand', 'ListTablesCommand'] });

      end = counter.window();
      await client.send(new ListTablesCommand({}));
      await client.send(new ListTablesCommand({}));
      expect(end()).toMatchObject({ roundTrips: 2, sequential: 2 });
    } finally {
      client.destroy();
    }
  });
});

describe('targets', () => {
  const base = {
    schema: 1 as const,
    command: 'test',
    date: '2026-01-01T00:00:00.000Z',
    git: { commit: 'x', dirty_files: 0 },
    machine: {},
    duration_s: {},
    bundle: { status: 'not measured: test' },
    init: { status: 'not measured: test' },
    cold: { status: 'not measured: test' },
    e2e: { status: 'not measured: test' },
  };

  it('marks met, missed (with by how much) and not measured', () => {
    const targets = evaluateTargets({
      ...base,
      warm: { p50_us: 6, ratio_vs_naive: 25, growth_50_to_1000: 1.1 } as never,
      cache: {
        status: 'measured',
        invocations_per_pair_per_ttl: 1,
        min_per_pair_per_window: 1,
        max_per_pair_per_window: 1,
      },
    });
    const byId = Object.fromEntries(targets.map((t) => [t.id, t]));
    expect(byId['warm.p50_us']).toMatchObject({ met: false, miss: '1.20x the limit (+1.00)' });
    expect(byId['warm.ratio_vs_naive'].met).toBe(true);
    expect(byId['warm.growth_50_to_1000'].met).toBe(true);
    expect(byId['cold.round_trips'].met).toBeNull();
    expect(byId['cache.invocations_per_pair_per_ttl'].met).toBe(true);
    expect(byId['forged.list_reads_per_tenant_window'].met).toBeNull();
    const forged = (v: number) =>
      Object.fromEntries(
        evaluateTargets({
          ...base,
          warm: { p50_us: 1, ratio_vs_naive: 25, growth_50_to_1000: 1.1 } as never,
          cache: { status: 'measured' },
          cold: { forged: { list_reads_per_tenant_window: v } } as never,
        }).map((t) => [t.id, t]),
      );
    expect(byId['warm.telemetry_overhead_ratio'].met).toBeNull();
    expect(byId['traffic.writes_per_pair_per_ttl'].met).toBeNull();
    expect(forged(1)['forged.list_reads_per_tenant_window'].met).toBe(true);
    expect(forged(2)['forged.list_reads_per_tenant_window']).toMatchObject({ met: false, miss: '2 reads per window' });
  });

  it('traffic recording: warm overhead at most 1.1x, at most one Traffic write per (key, IP) per TTL', () => {
    const evaluate = (ratio: number, writes: number) =>
      Object.fromEntries(
        evaluateTargets({
          ...base,
          warm: { p50_us: 1, ratio_vs_naive: 25, growth_50_to_1000: 1.1, telemetry_overhead_ratio: ratio } as never,
          cache: { status: 'measured', traffic: { writes: 10, writes_per_pair_per_ttl: writes } },
        }).map((t) => [t.id, t]),
      );
    expect(evaluate(1.05, 1)['warm.telemetry_overhead_ratio'].met).toBe(true);
    expect(evaluate(1.05, 1)['traffic.writes_per_pair_per_ttl'].met).toBe(true);
    expect(evaluate(1.2, 1)['warm.telemetry_overhead_ratio']).toMatchObject({ met: false });
    expect(evaluate(1, 1.5)['traffic.writes_per_pair_per_ttl']).toMatchObject({
      met: false,
      miss: '1.50x the limit (+0.50)',
    });
  });

  it('does not accept a mean of 1 that hides a pair invoked twice and another never', () => {
    const targets = evaluateTargets({
      ...base,
      warm: { status: 'not measured: test' },
      cache: {
        status: 'measured',
        invocations_per_pair_per_ttl: 1,
        min_per_pair_per_window: 0,
        max_per_pair_per_window: 2,
      },
    });
    expect(targets.find((t) => t.id === 'cache.invocations_per_pair_per_ttl')?.met).toBe(false);
  });
});

// Keeps the event type honest: the bench's events are what the real handler accepts.
export const typed: APIGatewayRequestAuthorizerEvent = authorizerEvent('sk-x', '192.0.2.1');
