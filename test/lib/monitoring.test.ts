import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  AllowlistAdminApi,
  IpAllowlistAuthorizer,
  IpAllowlistedApi,
  IpAllowlistMonitoring,
  IpAllowlistMonitoringOptions,
  Upstream,
} from '../../lib';
import { ADMIN_METRIC_NAMES, AUTHORIZER_METRIC_NAMES, METRICS_NAMESPACE } from '../../lib/contract';
import { dashboardBodyOf, DashboardWidget, resolveToText, TemplateJson } from '../../scripts/dashboard-svg';
import { newStack, onlyResource, resourcesOfType, TempOutdirs } from './synth-helpers';

/**
 * IpAllowlistMonitoring, as synthesized: the dashboard's widgets and the metrics behind each (read from the
 * DashboardBody, whose references are written as `${LogicalId}` placeholders), the alarms, and the Contributor
 * Insights rule's body.
 */

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

interface Monitored {
  readonly stack: Stack;
  readonly api: IpAllowlistedApi;
  readonly monitoring: IpAllowlistMonitoring;
  readonly template: Template;
  readonly json: TemplateJson;
}

function monitoredApi(options?: IpAllowlistMonitoringOptions, adminApi = true): Monitored {
  const stack = newStack(outdirs);
  const api = new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://upstream.example.com'), adminApi });
  const monitoring = api.addMonitoring(options);
  const template = Template.fromStack(stack);
  return { stack, api, monitoring, template, json: template.toJSON() as TemplateJson };
}

/** The placeholder the dashboard body holds for a construct's resource. */
function ref(stack: Stack, construct: { node: { defaultChild?: unknown } } | object): string {
  const child = ('node' in construct ? construct.node.defaultChild : construct) as Parameters<Stack['getLogicalId']>[0];
  return `\${${stack.getLogicalId(child)}}`;
}

/** A widget's title and its metrics as [namespace, name, dimension value, label, stat]. */
function summary(widget: DashboardWidget): { title: unknown; metrics?: unknown[] } {
  const metrics = widget.properties.metrics as unknown[][] | undefined;
  return {
    title: widget.properties.title,
    ...(metrics && {
      metrics: metrics.map((m) => {
        const options = m[m.length - 1] as { label: string; stat: string };
        return [m[0], m[1], m[3], options.label, options.stat];
      }),
    }),
  };
}

describe('dashboard', () => {
  test('addMonitoring: one dashboard with the decisions, refused keys, store errors, Lambda errors, latency, admin writes and top blocked callers', () => {
    const { stack, api, json } = monitoredApi();
    const body = dashboardBodyOf(json);
    const authorizerService = api.authorizer.metricsServiceName;
    const adminService = api.adminApi.metricsServiceName;
    const fn = ref(stack, api.authorizer.function);
    const ns = METRICS_NAMESPACE;
    const a = AUTHORIZER_METRIC_NAMES;

    expect(body.widgets.map(summary)).toEqual([
      { title: 'Alarms' },
      {
        title: 'Authorizer decisions',
        metrics: [
          [ns, a.allowed, authorizerService, 'Allowed', 'Sum'],
          [ns, a.blocked, authorizerService, 'Blocked', 'Sum'],
          [ns, a.wouldBlock, authorizerService, 'Would block (report-only)', 'Sum'],
        ],
      },
      {
        title: 'Refused keys',
        metrics: [
          [ns, a.invalidKey, authorizerService, 'Invalid key', 'Sum'],
          [ns, a.missingKey, authorizerService, 'Missing key', 'Sum'],
        ],
      },
      {
        title: 'Store errors',
        metrics: [
          [ns, a.storeError, authorizerService, 'Store errors (503)', 'Sum'],
          [ns, a.trafficWriteErrors, authorizerService, 'Traffic write errors (decision unaffected)', 'Sum'],
        ],
      },
      {
        title: 'Authorizer Lambda errors and throttles',
        metrics: [
          ['AWS/Lambda', 'Errors', fn, 'Errors', 'Sum'],
          ['AWS/Lambda', 'Throttles', fn, 'Throttles', 'Sum'],
        ],
      },
      {
        title: 'Authorizer latency (ms)',
        metrics: [
          ['AWS/Lambda', 'Duration', fn, 'p50', 'p50'],
          ['AWS/Lambda', 'Duration', fn, 'p99', 'p99'],
        ],
      },
      {
        title: 'Admin API',
        metrics: [
          [ns, ADMIN_METRIC_NAMES.write, adminService, 'Writes', 'Sum'],
          [ns, ADMIN_METRIC_NAMES.failure, adminService, 'Failures (5xx)', 'Sum'],
        ],
      },
      { title: 'Top blocked (organization, source IP)' },
    ]);
    // Every dimension is the `service` the Lambdas publish under, or the authorizer's FunctionName.
    for (const widget of body.widgets) {
      for (const m of (widget.properties.metrics as unknown[][] | undefined) ?? []) {
        expect(m[2]).toBe(m[0] === ns ? 'service' : 'FunctionName');
      }
    }
  });

  test('the grid: alarm status across the top, graphs in pairs of 12 columns, the Contributor Insights widget full width below', () => {
    const body = dashboardBodyOf(monitoredApi().json);
    expect(body.widgets.map((w) => [w.x, w.y, w.width, w.height])).toEqual([
      [0, 0, 24, 2],
      [0, 2, 12, 6],
      [12, 2, 12, 6],
      [0, 8, 12, 6],
      [12, 8, 12, 6],
      [0, 14, 12, 6],
      [12, 14, 12, 6],
      [0, 20, 24, 6],
    ]);
  });

  test('the alarm status widget lists both alarms, and each alarm is drawn as a threshold on its graph', () => {
    const { stack, monitoring, json } = monitoredApi();
    const [status, , , storeErrors, lambdaErrors] = dashboardBodyOf(json).widgets;
    const storeArn = `\${${stack.getLogicalId(monitoring.storeErrorsAlarm.node.defaultChild as never)}.Arn}`;
    const errorsArn = `\${${stack.getLogicalId(monitoring.authorizerErrorsAlarm.node.defaultChild as never)}.Arn}`;
    expect(status).toMatchObject({ type: 'alarm', properties: { alarms: [storeArn, errorsArn] } });
    expect(storeErrors.properties.annotations).toEqual({
      horizontal: [{ label: 'StoreErrors >= 1 for 1 datapoints within 5 minutes', value: 1, yAxis: 'left' }],
    });
    expect(lambdaErrors.properties.annotations).toEqual({
      horizontal: [{ label: 'Errors >= 1 for 1 datapoints within 5 minutes', value: 1, yAxis: 'left' }],
    });
  });

  test('period: every graph sums (or takes percentiles) over it', () => {
    const { json } = monitoredApi({ period: Duration.minutes(1) });
    const periods = dashboardBodyOf(json)
      .widgets.filter((w) => w.type === 'metric')
      .map((w) => w.properties.period);
    expect(periods).toEqual(Array(7).fill(60));
  });

  test('dashboardName names the dashboard; left out, CloudFormation names it', () => {
    monitoredApi().template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: Match.absent(),
    });
    monitoredApi({ dashboardName: 'ip-allowlist' }).template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'ip-allowlist',
    });
  });

  test('without an admin API: no admin widget; latency keeps its place', () => {
    const body = dashboardBodyOf(monitoredApi({}, false).json);
    const titles = body.widgets.map((w) => w.properties.title);
    expect(titles).not.toContain('Admin API');
    expect(body.widgets.find((w) => w.properties.title === 'Authorizer latency (ms)')).toMatchObject({ x: 0, y: 14 });
  });

  test('composed by hand: the standalone construct takes an authorizer and an admin API built apart', () => {
    const stack = newStack(outdirs);
    const authorizer = new IpAllowlistAuthorizer(stack, 'Authorizer');
    const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });
    api.root.addMethod('GET', new apigateway.MockIntegration(), { authorizer });
    const admin = new AllowlistAdminApi(stack, 'Admin', { authorizers: [authorizer] });
    new IpAllowlistMonitoring(stack, 'Monitoring', { authorizer, adminApi: admin });

    const body = dashboardBodyOf(Template.fromStack(stack).toJSON() as TemplateJson);
    const services = new Set(
      body.widgets.flatMap((w) => ((w.properties.metrics as unknown[][] | undefined) ?? []).map((m) => m[3])),
    );
    expect(services).toEqual(
      new Set([authorizer.metricsServiceName, admin.metricsServiceName, ref(stack, authorizer.function)]),
    );
  });

  test('addMonitoring twice is refused, naming the API', () => {
    const { api } = monitoredApi();
    expect(() => api.addMonitoring()).toThrow(
      'IpAllowlistedApi Test/Api already has monitoring: addMonitoring may be called once',
    );
  });
});

describe('alarms', () => {
  test('store errors: the authorizer StoreErrors sum, >= 1 in one 5-minute period, missing data not breaching', () => {
    const { api, template } = monitoredApi();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: AUTHORIZER_METRIC_NAMES.storeError,
      Dimensions: [{ Name: 'service', Value: api.authorizer.metricsServiceName }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: Match.absent(),
    });
  });

  test('authorizer errors: the authorizer Lambda Errors sum, >= 1 in one 5-minute period, missing data not breaching', () => {
    const { stack, api, template } = monitoredApi();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [
        {
          Name: 'FunctionName',
          Value: { Ref: stack.getLogicalId(api.authorizer.function.node.defaultChild as never) },
        },
      ],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
  });

  test('thresholds, periods and evaluation periods are props of each alarm', () => {
    const { template } = monitoredApi({
      storeErrorsAlarm: { threshold: 5, evaluationPeriods: 3, datapointsToAlarm: 2, period: Duration.minutes(1) },
      authorizerErrorsAlarm: { threshold: 10, evaluationPeriods: 4 },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: AUTHORIZER_METRIC_NAMES.storeError,
      Threshold: 5,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Period: 60,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Threshold: 10,
      EvaluationPeriods: 4,
      DatapointsToAlarm: 4,
      Period: 300,
    });
  });

  test('alarmActions go on both alarms; the alarms are public for more actions', () => {
    const stack = newStack(outdirs);
    const topic = new sns.Topic(stack, 'Oncall', { enforceSSL: true });
    const api = new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://upstream.example.com') });
    const monitoring = api.addMonitoring({ alarmActions: [new cloudwatchActions.SnsAction(topic)] });
    monitoring.storeErrorsAlarm.addOkAction(new cloudwatchActions.SnsAction(topic));
    const topicRef = { Ref: stack.getLogicalId(topic.node.defaultChild as never) };

    const alarms = resourcesOfType(Template.fromStack(stack), 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect(alarms.map((a) => [a.MetricName, a.AlarmActions, a.OKActions])).toEqual([
      [AUTHORIZER_METRIC_NAMES.storeError, [topicRef], [topicRef]],
      ['Errors', [topicRef], undefined],
    ]);
  });

  const badProps: [IpAllowlistMonitoringOptions, string][] = [
    [{ storeErrorsAlarm: { threshold: 0 } }, 'storeErrorsAlarm.threshold must be greater than 0, got 0'],
    [
      { authorizerErrorsAlarm: { evaluationPeriods: 0 } },
      'authorizerErrorsAlarm.evaluationPeriods must be a whole number from 1, got 0',
    ],
    [
      { storeErrorsAlarm: { evaluationPeriods: 2, datapointsToAlarm: 3 } },
      'storeErrorsAlarm.datapointsToAlarm must be a whole number from 1 to evaluationPeriods (2), got 3',
    ],
    [
      { storeErrorsAlarm: { period: Duration.seconds(90) } },
      'storeErrorsAlarm.period must be 10 seconds, 30 seconds or a whole number of minutes, got 1 minute 30 seconds',
    ],
    [
      { period: Duration.seconds(45) },
      'period must be 10 seconds, 30 seconds or a whole number of minutes, got 45 seconds',
    ],
    [{ topContributors: 0 }, 'topContributors must be a whole number from 1 to 100, got 0'],
    [{ topContributors: 101 }, 'topContributors must be a whole number from 1 to 100, got 101'],
  ];
  test.each(badProps.map(([options, message]) => [message, options] as const))(
    'bad props fail at synth time: %s',
    (message, options) => {
      const stack = newStack(outdirs);
      const api = new IpAllowlistedApi(stack, 'Api', { upstream: Upstream.http('https://upstream.example.com') });
      expect(() => api.addMonitoring(options)).toThrow(message);
    },
  );
});

describe('Contributor Insights', () => {
  interface RuleBody {
    Schema: unknown;
    LogGroupNames: string[];
    LogFormat: string;
    Contribution: { Keys: string[]; Filters: Record<string, unknown>[] };
    AggregateOn: string;
  }

  test("the rule counts blocked lines of the authorizer's log by (organizationId, sourceIp)", () => {
    const { stack, api, template } = monitoredApi();
    const { properties } = onlyResource(template, 'AWS::CloudWatch::InsightRule');
    expect(properties.RuleState).toBe('ENABLED');
    const body = JSON.parse(resolveToText(properties.RuleBody)) as RuleBody;
    expect(body).toEqual({
      Schema: { Name: 'CloudWatchLogRule', Version: 1 },
      LogGroupNames: [`\${${stack.getLogicalId(api.authorizer.logGroup.node.defaultChild as never)}}`],
      LogFormat: 'JSON',
      Contribution: {
        Keys: ['$.organizationId', '$.sourceIp'],
        Filters: [{ Match: '$.outcome', In: ['blocked'] }],
      },
      AggregateOn: 'Count',
    });
  });

  test('the rule name is unique to the stack and the construct path, within CloudWatch limits', () => {
    const { template } = monitoredApi();
    const { properties } = onlyResource(template, 'AWS::CloudWatch::InsightRule');
    expect(properties.RuleName).toMatch(/^Test-Api-Monitoring-[0-9A-F]{8}-BlockedCallers$/);
    expect((properties.RuleName as string).length).toBeLessThanOrEqual(128);
  });

  test('its dashboard widget shows the top contributors of that rule', () => {
    const { stack, monitoring, json } = monitoredApi({ topContributors: 25 });
    const widget = dashboardBodyOf(json).widgets.find((w) => w.properties.insightRule !== undefined);
    expect(widget?.properties).toEqual({
      view: 'timeSeries',
      title: 'Top blocked (organization, source IP)',
      region: '${AWS::Region}',
      insightRule: {
        maxContributorCount: 25,
        orderBy: 'Sum',
        ruleName: `\${${stack.getLogicalId(monitoring.blockedCallersRule!)}.RuleName}`,
      },
      legend: { position: 'bottom' },
      period: 300,
    });
  });

  test('blockedCallersInsights: false creates no rule and no widget', () => {
    const { monitoring, template, json } = monitoredApi({ blockedCallersInsights: false });
    template.resourceCountIs('AWS::CloudWatch::InsightRule', 0);
    expect(monitoring.blockedCallersRule).toBeUndefined();
    expect(dashboardBodyOf(json).widgets.some((w) => w.properties.insightRule !== undefined)).toBe(false);
  });
});
