import { loadAdminConfig } from '../../../lambda/admin/config';
import { localTablesEnv } from '../../support/dynamodb-local';
import { captureOutput } from '../authorizer/fixtures';
import {
  expectError,
  FakeControlPlane,
  FLUSH_PATH,
  Harness,
  makeHarness,
  proxyEvent,
  recordingLogger,
  startFakeControlPlane,
} from './fixtures';

/**
 * After every successful write the admin Lambda flushes the protected stage's authorizer cache through the real
 * API Gateway SDK client, here pointed at a small local HTTP server standing in for API Gateway's control plane.
 */

const STAGE = { restApiId: 'abc123defg', stageName: 'prod' };
let plane: FakeControlPlane;

beforeAll(async () => {
  plane = await startFakeControlPlane();
});

afterAll(() => plane.close());

beforeEach(() => {
  plane.requests.length = 0;
  plane.failWith = undefined;
  plane.failOnlyApi = undefined;
  plane.hang = false;
});

describe('with a protected stage and no in-memory cache', () => {
  let h: Harness;
  const logger = recordingLogger();

  beforeAll(async () => {
    h = await makeHarness('admin-flush', {
      protectedStages: [STAGE],
      flusher: plane.flusher([STAGE], logger),
      propagationDelaySeconds: 60,
      memoryCacheTtlSeconds: 0,
    });
  });

  afterAll(() => h.destroy());

  test('every kind of write flushes the stage at once and again after the decision age bound, and reports flushed, 0 s', async () => {
    const writes: [string, string, unknown?][] = [
      ['POST', '/v1/organizations/f/ip_allowlist/entries', { value: '192.0.2.1' }],
      ['POST', '/v1/organizations/f/ip_allowlist/enable'],
      ['PUT', '/v1/organizations/f/projects/p/ip_allowlist', { entries: ['192.0.2.0/24'] }],
      ['DELETE', '/v1/organizations/f/projects/p/ip_allowlist/entries/192.0.2.0%2F24'],
      ['POST', '/v1/organizations/f/ip_allowlist/disable'],
      ['POST', '/v1/organizations/f/projects/p/api_keys', { name: 'k' }],
    ];
    for (const [method, path, body] of writes) {
      const res = await h.call(method, path, { body });
      expect([200, 201]).toContain(res.status);
      expect(res.body.propagation).toEqual({ flushed: true, maxDelaySeconds: 0 });
    }
    const key = await h.call('GET', '/v1/organizations/f/projects/p/api_keys');
    const revoke = await h.call('DELETE', `/v1/organizations/f/projects/p/api_keys/${key.body.data[0].id}`);
    expect(revoke.body.propagation).toEqual({ flushed: true, maxDelaySeconds: 0 });
    expect(plane.requests).toEqual(
      Array.from({ length: 2 * (writes.length + 1) }, () => ({
        method: 'DELETE',
        url: FLUSH_PATH('abc123defg', 'prod'),
      })),
    );
  });

  test('reads and refused writes do not flush', async () => {
    await h.call('GET', '/v1/organizations/f/ip_allowlist');
    await h.call('POST', '/v1/organizations/f/ip_allowlist/check', { body: { ip: '192.0.2.1' } });
    await h.call('GET', '/v1/organizations/f/audit_log');
    expectError(
      await h.call('POST', '/v1/organizations/f/ip_allowlist/entries', { body: { value: '192.0.2.1' } }),
      409,
      'duplicate_entry',
    );
    expect(plane.requests).toEqual([]);
  });

  test('a failed flush never fails the write: flushed false, the full delay, and a log line', async () => {
    plane.failWith = 429;
    const res = await h.call('POST', '/v1/organizations/f/ip_allowlist/entries', { body: { value: '192.0.2.2' } });
    expect(res.status).toBe(200);
    expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 60 });
    expect((await h.call('GET', '/v1/organizations/f/ip_allowlist')).body.entries).toHaveLength(2);
    expect(plane.requests).toHaveLength(2);
    const warning = logger.records.find((r) => r.level === 'warn');
    expect(warning?.message).toMatch(/flush failed/);
    expect(warning?.extra).toMatchObject({ restApiId: 'abc123defg', stageName: 'prod' });
  });
});

describe('with an in-memory cache in the authorizer', () => {
  test('the last flush follows once the decision age bound (+100 ms) has passed since the commit; then maxDelay is 0', async () => {
    const waits: number[] = [];
    const h = await makeHarness('admin-flush-twice', {
      protectedStages: [STAGE],
      flusher: plane.flusher([STAGE], recordingLogger()),
      propagationDelaySeconds: 300,
      memoryCacheTtlSeconds: 2,
      maxDecisionAgeSeconds: 4,
      // A frozen clock makes the wait exact; recording it instead of sleeping keeps the test fast.
      now: () => Date.parse('2026-01-01T00:00:00Z'),
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    try {
      const res = await h.call('POST', '/v1/organizations/twice/ip_allowlist/entries', {
        body: { value: '192.0.2.1' },
      });
      expect(res.body.propagation).toEqual({ flushed: true, maxDelaySeconds: 0 });
      expect(plane.requests.map((r) => r.url)).toEqual([
        FLUSH_PATH('abc123defg', 'prod'),
        FLUSH_PATH('abc123defg', 'prod'),
      ]);
      expect(waits).toEqual([4100]);
    } finally {
      h.destroy();
    }
  });

  test('if the second flush fails, the full delay is reported', async () => {
    const h = await makeHarness('admin-flush-second-fails', {
      protectedStages: [STAGE],
      flusher: plane.flusher([STAGE], recordingLogger()),
      propagationDelaySeconds: 300,
      memoryCacheTtlSeconds: 2,
      sleep: () => {
        plane.failWith = 503;
        return Promise.resolve();
      },
    });
    try {
      const res = await h.call('POST', '/v1/organizations/twice2/ip_allowlist/entries', {
        body: { value: '192.0.2.1' },
      });
      expect(res.status).toBe(200);
      expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 300 });
      expect(plane.requests).toHaveLength(2);
    } finally {
      h.destroy();
    }
  });
});

describe('the Lambda timeout', () => {
  const frozen = Date.parse('2026-01-01T00:00:00Z');
  const withTtl = (label: string, waits: number[] = []) =>
    makeHarness(label, {
      protectedStages: [STAGE],
      flusher: plane.flusher([STAGE], recordingLogger()),
      propagationDelaySeconds: 300,
      memoryCacheTtlSeconds: 2,
      maxDecisionAgeSeconds: 4,
      now: () => frozen,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });

  test('with time left for both flushes, both happen', async () => {
    const h = await withTtl('admin-deadline-ok');
    try {
      const res = await h.call('POST', '/v1/organizations/dl1/ip_allowlist/entries', {
        body: { value: '192.0.2.1' },
        remainingMs: 28_000,
      });
      expect(res.body.propagation).toEqual({ flushed: true, maxDelaySeconds: 0 });
      expect(plane.requests).toHaveLength(2);
    } finally {
      h.destroy();
    }
  });

  test('without time for the wait and the second flush, the write answers at once with the full delay', async () => {
    const waits: number[] = [];
    const h = await withTtl('admin-deadline-second', waits);
    try {
      const res = await h.call('POST', '/v1/organizations/dl2/ip_allowlist/entries', {
        body: { value: '192.0.2.1' },
        remainingMs: 6_000,
      });
      expect(res.status).toBe(200);
      expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 300 });
      expect(plane.requests).toHaveLength(1);
      expect(waits).toEqual([]);
      expect((await h.call('GET', '/v1/organizations/dl2/ip_allowlist')).body.entries).toHaveLength(1);
      expect(h.logger.records.some((r) => /flush skipped/.test(r.message))).toBe(true);
    } finally {
      h.destroy();
    }
  });

  test('without time for any flush, none is attempted; the change is still committed', async () => {
    const h = await withTtl('admin-deadline-none');
    try {
      const res = await h.call('POST', '/v1/organizations/dl3/ip_allowlist/entries', {
        body: { value: '192.0.2.1' },
        remainingMs: 2_000,
      });
      expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 300 });
      expect(plane.requests).toEqual([]);
      expect((await h.call('GET', '/v1/organizations/dl3/ip_allowlist')).body.version).toBe(1);
    } finally {
      h.destroy();
    }
  });

  test('a flush that never answers is abandoned after its timeout and reported as failed', async () => {
    plane.hang = true;
    const logger = recordingLogger();
    const flushed = await plane.flusher([STAGE], logger, 200).flush();
    expect(flushed).toBe(false);
    expect(logger.records.find((r) => r.level === 'warn')?.message).toMatch(/flush failed/);
  });
});

describe('with several protected stages (one admin API for every stage that uses the tables)', () => {
  const STAGES = [STAGE, { restApiId: 'abc123defg', stageName: 'beta' }, { restApiId: 'zyx987wvut', stageName: 'v1' }];
  let h: Harness;
  const logger = recordingLogger();

  beforeAll(async () => {
    h = await makeHarness('admin-flush-many', {
      protectedStages: STAGES,
      flusher: plane.flusher(STAGES, logger),
      propagationDelaySeconds: 60,
      memoryCacheTtlSeconds: 0,
    });
  });

  afterAll(() => h.destroy());

  test('a write flushes every stage at once and after the decision age bound, and reports flushed only when all were', async () => {
    const res = await h.call('POST', '/v1/organizations/many/ip_allowlist/entries', { body: { value: '192.0.2.1' } });
    expect(res.body.propagation).toEqual({ flushed: true, maxDelaySeconds: 0 });
    const each = STAGES.map((s) => FLUSH_PATH(s.restApiId, s.stageName));
    expect(plane.requests.map((r) => r.url).sort()).toEqual([...each, ...each].sort());
  });

  test('one stage whose flush fails makes the answer the slowest: flushed false, the full delay', async () => {
    plane.failWith = 429;
    plane.failOnlyApi = 'zyx987wvut';
    const res = await h.call('POST', '/v1/organizations/many/ip_allowlist/entries', { body: { value: '192.0.2.2' } });
    expect(res.status).toBe(200);
    expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 60 });
    expect(plane.requests).toHaveLength(2 * 3);
    expect(logger.records.find((r) => r.level === 'warn')?.extra).toMatchObject({
      restApiId: 'zyx987wvut',
      stageName: 'v1',
    });
  });
});

test('without a protected stage nothing is flushed and the full delay is reported', async () => {
  const h = await makeHarness('admin-no-stage', { propagationDelaySeconds: 120 });
  try {
    const res = await h.call('POST', '/v1/organizations/n/ip_allowlist/entries', { body: { value: '192.0.2.1' } });
    expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 120 });
    expect((await h.call('GET', '/v1/organizations/n/ip_allowlist')).body.propagationDelaySeconds).toBe(120);
    expect(plane.requests).toEqual([]);
  } finally {
    h.destroy();
  }
});

describe('without a flush, maxDelaySeconds is the real worst case max(P, g + B), not P', () => {
  test.each([
    // P = 0: nothing is cached, but a read under way at the commit may be answered up to B = 1 s after it.
    ['P 0 s', { propagationDelaySeconds: 0, maxDecisionAgeSeconds: 1 }, 1],
    ['P 1 s', { propagationDelaySeconds: 1, maxDecisionAgeSeconds: 1 }, 1],
    ['P 300 s', { propagationDelaySeconds: 300, maxDecisionAgeSeconds: 4 }, 300],
    // A P that was a token at synth: all of it is API Gateway's TTL, with B = 1 s on top.
    ['a token P of 300 s', { propagationDelaySeconds: 300, maxDecisionAgeSeconds: 1, gatewayTtlSeconds: 300 }, 301],
  ])('%s', async (_label, options, worst) => {
    const h = await makeHarness('admin-worst', options);
    try {
      // No protected stage: nothing is flushed.
      const res = await h.call('POST', '/v1/organizations/w/ip_allowlist/entries', { body: { value: '192.0.2.1' } });
      expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: worst });
    } finally {
      h.destroy();
    }
  });

  test('also when the flush fails', async () => {
    const h = await makeHarness('admin-worst-fail', {
      propagationDelaySeconds: 0,
      maxDecisionAgeSeconds: 1,
      protectedStages: [STAGE],
      flusher: { flush: () => Promise.resolve(false) },
      sleep: () => Promise.resolve(),
    });
    try {
      const res = await h.call('POST', '/v1/organizations/w/ip_allowlist/entries', { body: { value: '192.0.2.9' } });
      expect(res.body.propagation).toEqual({ flushed: false, maxDelaySeconds: 1 });
    } finally {
      h.destroy();
    }
  });
});

describe('the Lambda entry point (lambda/admin/index.ts)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('reads its configuration from the environment and reaches both services through standard endpoint overrides', async () => {
    const h = await makeHarness('admin-index');
    // The real entry point publishes its metrics to stdout (EMF): captured here, not printed.
    const output = captureOutput();
    try {
      process.env = {
        ...saved,
        AWS_REGION: 'eu-west-1',
        ...localTablesEnv(h.names),
        AWS_ENDPOINT_URL_API_GATEWAY: plane.endpoint,
        MAX_ENTRIES: '2',
        PROPAGATION_DELAY_SECONDS: '30',
        MEMORY_CACHE_TTL_SECONDS: '0',
        PROTECTED_STAGES: 'restapi1/live,restapi2/prod',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      };
      let handler!: typeof import('../../../lambda/admin/index').handler;
      await jest.isolateModulesAsync(async () => {
        ({ handler } = await import('../../../lambda/admin/index'));
      });
      const path = '/v1/organizations/idx/ip_allowlist/entries';
      const res = await handler(
        proxyEvent('POST', path, { body: { entries: ['192.0.2.1', '192.0.2.2'] }, userArn: 'local:dev' }),
      );
      expect(res.statusCode).toBe(200);
      const body = JSON.parse(res.body);
      expect(body).toMatchObject({ maxEntries: 2, propagationDelaySeconds: 30, updatedBy: 'local:dev' });
      // The decision age bound is derived from the delay as the authorizer's construct derives it (30 s -> 3 s).
      expect(body.propagation).toEqual({ flushed: true, maxDelaySeconds: 0 });
      // Both stages, flushed in parallel (so in either order), at once and again after the decision age bound.
      expect(plane.requests.map((r) => r.url).sort()).toEqual([
        FLUSH_PATH('restapi1', 'live'),
        FLUSH_PATH('restapi1', 'live'),
        FLUSH_PATH('restapi2', 'prod'),
        FLUSH_PATH('restapi2', 'prod'),
      ]);
      const over = await handler(proxyEvent('POST', path, { body: { value: '192.0.2.3' } }));
      expect(JSON.parse(over.body).error.code).toBe('allowlist_limit_exceeded');
      expect(output.lines().filter((l) => l.includes('"AdminWrites":1'))).toHaveLength(1);
    } finally {
      output.restore();
      h.destroy();
    }
  });
});

describe('configuration', () => {
  const tables = { ALLOWLISTS_TABLE_NAME: 'a', API_KEYS_TABLE_NAME: 'k', AUDIT_LOG_TABLE_NAME: 'l' };

  test('PROTECTED_STAGES lists the stages to flush', () => {
    expect(loadAdminConfig({ ...tables, PROTECTED_STAGES: 'a1b2c3/live,d4e5f6/beta_2' }).protectedStages).toEqual([
      { restApiId: 'a1b2c3', stageName: 'live' },
      { restApiId: 'd4e5f6', stageName: 'beta_2' },
    ]);
  });

  test('defaults: 50 entries, 300 s, the memory TTL the construct would choose, no stage', () => {
    expect(loadAdminConfig(tables)).toEqual({
      tables: { allowlists: 'a', apiKeys: 'k', auditLog: 'l' },
      maxEntries: 50,
      propagationDelaySeconds: 300,
      memoryCacheTtlSeconds: 2,
      maxDecisionAgeSeconds: 4,
      gatewayTtlSeconds: 296,
      protectedStages: [],
      trafficRetentionSeconds: 30 * 86_400,
    });
  });

  test.each([
    [{ ALLOWLISTS_TABLE_NAME: '' }, /ALLOWLISTS_TABLE_NAME is required/],
    [{ MAX_ENTRIES: '0' }, /MAX_ENTRIES must be a whole number from 1 to 1000, got "0"/],
    [{ MAX_ENTRIES: '1001' }, /MAX_ENTRIES/],
    [{ MAX_ENTRIES: '5x' }, /MAX_ENTRIES/],
    [{ PROPAGATION_DELAY_SECONDS: '3601' }, /PROPAGATION_DELAY_SECONDS/],
    [{ MEMORY_CACHE_TTL_SECONDS: '3' }, /MEMORY_CACHE_TTL_SECONDS must be a whole number from 0 to 2/],
    [{ PROPAGATION_DELAY_SECONDS: '1', MEMORY_CACHE_TTL_SECONDS: '2' }, /cannot exceed PROPAGATION_DELAY_SECONDS/],
    [{ MAX_DECISION_AGE_SECONDS: '5' }, /MAX_DECISION_AGE_SECONDS must be a whole number from 1 to 4/],
    [
      { PROPAGATION_DELAY_SECONDS: '60', GATEWAY_TTL_SECONDS: '61' },
      /GATEWAY_TTL_SECONDS \(61\) cannot exceed PROPAGATION_DELAY_SECONDS \(60\)/,
    ],
    [{ PROTECTED_STAGES: 'x' }, /PROTECTED_STAGES must list restApiId\/stageName pairs separated by ",", got "x"/],
    [{ PROTECTED_STAGES: 'a/b,c/d/e' }, /PROTECTED_STAGES must list restApiId\/stageName pairs/],
  ])('%j is refused, naming the variable', (env, message) => {
    expect(() => loadAdminConfig({ ...tables, ...env })).toThrow(message);
  });
});
