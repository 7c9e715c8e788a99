import { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchedMetrics, METRICS_NAMESPACE } from '../../../lambda/authorizer/metrics';
import { captureOutput } from './fixtures';

/** BatchedMetrics with the real Powertools Metrics, its EMF output captured from stdout. */

let output: ReturnType<typeof captureOutput>;
const saved = { dev: process.env.POWERTOOLS_DEV, disabled: process.env.POWERTOOLS_METRICS_DISABLED };

beforeEach(() => {
  delete process.env.POWERTOOLS_DEV;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  output = captureOutput();
});

afterEach(() => {
  output.restore();
  if (saved.dev !== undefined) process.env.POWERTOOLS_DEV = saved.dev;
  if (saved.disabled !== undefined) process.env.POWERTOOLS_METRICS_DISABLED = saved.disabled;
});

const emf = () => output.lines().map((l) => JSON.parse(l) as Record<string, unknown>);

test('warm decisions are summed and published once per interval, storage reads and failures publish at once', () => {
  const metrics = new BatchedMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'svc' }), 10_000);
  metrics.record('allowed', 0, 0); // first invocation of the container: published
  expect(emf()).toEqual([expect.objectContaining({ AllowedRequests: 1, service: 'svc' })]);

  for (let i = 1; i <= 5; i++) metrics.record('allowed', 0, i * 1000);
  metrics.record('blocked', 0, 6000);
  metrics.record('missingKey', 0, 7000);
  expect(emf()).toHaveLength(1);

  metrics.record('allowed', 0, 10_000); // interval elapsed
  expect(emf()).toHaveLength(2);
  const second = emf()[1];
  expect(second).toMatchObject({ AllowedRequests: 6, BlockedRequests: 1, MissingKeyRequests: 1 });
  expect(second).not.toHaveProperty('StoreErrors');
  expect((second._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics).toEqual([
    {
      Namespace: 'CdkIpAllowlist',
      Dimensions: [['service']],
      Metrics: expect.arrayContaining([
        { Name: 'AllowedRequests', Unit: 'Count' },
        { Name: 'BlockedRequests', Unit: 'Count' },
      ]),
    },
  ]);

  metrics.record('invalidKey', 1, 10_001);
  metrics.record('storeError', 1, 10_002);
  expect(emf().slice(2)).toEqual([
    expect.objectContaining({ InvalidKeyRequests: 1, StoreReads: 1 }),
    expect.objectContaining({ StoreErrors: 1, StoreReads: 1 }),
  ]);
});

test('lost sightings publish at once: they are known only after a flush, which an invocation with I/O made', () => {
  const metrics = new BatchedMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'svc' }), 10_000);
  metrics.record('allowed', 0, 0);
  metrics.record('allowed', 0, 1000);
  metrics.recordTrafficWriteErrors(3, 1001);

  expect(emf()).toEqual([
    expect.objectContaining({ AllowedRequests: 1 }),
    expect.objectContaining({ AllowedRequests: 1, TrafficWriteErrors: 3 }),
  ]);
});
