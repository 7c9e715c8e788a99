import * as fs from 'node:fs';
import * as path from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { App, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AdminOutcome, PublishingAdminMetrics } from '../../lambda/admin/metrics';
import type { AuthorizerOutcome } from '../../lambda/authorizer/authorizer';
import { BatchedMetrics, METRICS_NAMESPACE } from '../../lambda/authorizer/metrics';
import { AllowlistAdminApi, AllowlistTables, IpAllowlistAuthorizer } from '../../lib';
import { captureOutput } from '../lambda/authorizer/fixtures';

/**
 * The metric table of docs/constructs.md ("Metrics"), the metrics the Lambdas really publish (the real Powertools
 * Metrics, EMF captured) and the constructs' metric methods agree: no metric is published without a method and a
 * documented row, no method reads a metric nobody publishes.
 */

interface Row {
  readonly metricName: string;
  readonly className: string;
  readonly method: string;
}

function documentedRows(): Row[] {
  const doc = fs.readFileSync(path.join(__dirname, '../../docs/constructs.md'), 'utf8');
  const section = doc.split(/^## Metrics$/m)[1]?.split(/^#{1,3} /m)[0];
  if (!section) throw new Error('docs/constructs.md has no "## Metrics" section');
  return [...section.matchAll(/^\| `(\w+)` +\| `(\w+)\.(metric\w+)\(\)` +\|/gm)].map(
    ([, metricName, className, method]) => ({ metricName, className, method }),
  );
}

// Every outcome of each Lambda (the compiler checks these lists are complete).
const AUTHORIZER_OUTCOMES = {
  allowed: 1,
  wouldBlock: 1,
  blocked: 1,
  invalidKey: 1,
  missingKey: 1,
  storeError: 1,
} satisfies Record<AuthorizerOutcome, 1>;
const ADMIN_OUTCOMES = { write: 1, failure: 1 } satisfies Record<AdminOutcome, 1>;

/** Metric names in the EMF lines the real classes write when every outcome happens (with a store read). */
function publishedNames(): Set<string> {
  const saved = { dev: process.env.POWERTOOLS_DEV, disabled: process.env.POWERTOOLS_METRICS_DISABLED };
  delete process.env.POWERTOOLS_DEV;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  const output = captureOutput();
  try {
    const authorizer = new BatchedMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'a' }));
    for (const outcome of Object.keys(AUTHORIZER_OUTCOMES) as AuthorizerOutcome[]) authorizer.record(outcome, 1, 0);
    // Sightings lost by the traffic recorder, counted through the same publisher.
    authorizer.recordTrafficWriteErrors(1, 0);
    const admin = new PublishingAdminMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'b' }));
    for (const outcome of Object.keys(ADMIN_OUTCOMES) as AdminOutcome[]) admin.record(outcome);
  } finally {
    output.restore();
    if (saved.dev !== undefined) process.env.POWERTOOLS_DEV = saved.dev;
    if (saved.disabled !== undefined) process.env.POWERTOOLS_METRICS_DISABLED = saved.disabled;
  }
  const lines = output
    .lines()
    .map((l) => JSON.parse(l) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } });
  return new Set(lines.flatMap((l) => l._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name))));
}

function constructs() {
  const stack = new Stack(new App(), 'Shop', { env: { account: '111122223333', region: 'eu-west-1' } });
  const tables = new AllowlistTables(stack, 'Tables');
  const authorizer = new IpAllowlistAuthorizer(stack, 'Allowlist', { tables });
  const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });
  api.root.addMethod('GET', new apigateway.MockIntegration());
  authorizer.protectRestApi(api);
  const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [authorizer] });
  return { IpAllowlistAuthorizer: authorizer, AllowlistAdminApi: admin } as const;
}

function metricMethods(instance: object): string[] {
  return Object.getOwnPropertyNames(Object.getPrototypeOf(instance)).filter((n) => /^metric[A-Z]/.test(n));
}

test('docs/constructs.md lists exactly the metrics the Lambdas publish', () => {
  const rows = documentedRows();

  expect(rows.length).toBeGreaterThan(0);
  expect(new Set(rows.map((r) => r.metricName))).toEqual(publishedNames());
  expect(new Set(rows.map((r) => r.metricName)).size).toBe(rows.length);
});

test("each documented row's method returns that metric, for the construct's own dimension, in the stack's account and Region", () => {
  const instances = constructs();

  for (const row of documentedRows()) {
    const instance = instances[row.className as keyof typeof instances];
    expect(instance).toBeDefined();
    const metric = (instance as unknown as Record<string, () => cloudwatch.Metric>)[row.method]();
    expect({
      row: row.method,
      name: metric.metricName,
      namespace: metric.namespace,
      dims: metric.dimensions,
      stat: metric.statistic,
    }).toEqual({
      row: row.method,
      name: row.metricName,
      namespace: METRICS_NAMESPACE,
      dims: { service: instance.metricsServiceName },
      stat: 'Sum',
    });
    expect([metric.account, metric.region]).toEqual(['111122223333', 'eu-west-1']);
  }
});

test('every metric method of the constructs is in docs/constructs.md', () => {
  const instances = constructs();
  const documented = documentedRows().map((r) => `${r.className}.${r.method}`);

  for (const [className, instance] of Object.entries(instances)) {
    for (const method of metricMethods(instance)) expect(documented).toContain(`${className}.${method}`);
  }
});

test("metric(name, props) is the general form: the same metric, with the caller's options", () => {
  const { IpAllowlistAuthorizer: authorizer, AllowlistAdminApi: admin } = constructs();

  const byName = authorizer.metric('BlockedRequests', { statistic: 'Average', label: 'blocked' });
  expect([byName.metricName, byName.dimensions, byName.statistic, byName.label]).toEqual([
    'BlockedRequests',
    authorizer.metricBlockedRequests().dimensions,
    'Average',
    'blocked',
  ]);
  expect(admin.metric('AdminWrites').dimensions).toEqual(admin.metricWrites().dimensions);
});
