import { Aws, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { AllowlistAdminApi } from './allowlist-admin-api';
import type { IpAllowlistAuthorizer } from './ip-allowlist-authorizer';

/*
 * A CloudWatch dashboard, two alarms and a Contributor Insights rule over what the authorizer and the admin API
 * already publish: the metric methods of the constructs (never metric names written again here) and the
 * authorizer's structured log lines (lambda/authorizer/authorizer.ts, written by Powertools Logger as one JSON
 * object per line, the extra attributes at the top level).
 */

/** When an alarm of `IpAllowlistMonitoring` fires: `threshold` or more in `datapointsToAlarm` of `evaluationPeriods`. */
export interface MonitoringAlarmOptions {
  /**
   * The count (a sum over `period`) at or above which a period breaches. Greater than 0.
   *
   * @default 1
   */
  readonly threshold?: number;

  /**
   * How many periods the alarm looks at. A whole number from 1.
   *
   * @default 1
   */
  readonly evaluationPeriods?: number;

  /**
   * How many of the `evaluationPeriods` must breach for the alarm to fire. From 1 to `evaluationPeriods`.
   *
   * @default - `evaluationPeriods`
   */
  readonly datapointsToAlarm?: number;

  /**
   * The period each datapoint sums over: 10 or 30 seconds, or a whole number of minutes.
   *
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

/** Options of `IpAllowlistedApi.addMonitoring`: everything but the constructs it monitors. */
export interface IpAllowlistMonitoringOptions {
  /**
   * Name of the dashboard: letters, digits, `-` and `_`.
   *
   * @default - a name CloudFormation generates, distinct for every dashboard
   */
  readonly dashboardName?: string;

  /**
   * The period of the dashboard's graphs (each point is a sum, or a percentile for the latency, over it).
   *
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;

  /**
   * The alarm on `StoreErrors`: decisions the authorizer could not make because the tables could not be read
   * (every one is a 503 to a caller, never an Allow).
   *
   * @default - 1 or more in one 5-minute period
   */
  readonly storeErrorsAlarm?: MonitoringAlarmOptions;

  /**
   * The alarm on the authorizer Lambda's `Errors`: invocations that threw or timed out (store errors among them),
   * each answered by API Gateway with a 5xx.
   *
   * @default - 1 or more in one 5-minute period
   */
  readonly authorizerErrorsAlarm?: MonitoringAlarmOptions;

  /**
   * Actions of both alarms when they fire (`new cloudwatch_actions.SnsAction(topic)`, say). More can be added to
   * `storeErrorsAlarm` and `authorizerErrorsAlarm` later, OK and insufficient-data actions too.
   *
   * @default - no action: the alarms show on the dashboard only
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];

  /**
   * Whether to create the Contributor Insights rule over the authorizer's log that ranks the (organization, source
   * IP) pairs of blocked requests, and its dashboard widget. Contributor Insights bills each rule per month and
   * each log line it matches.
   *
   * @default true
   */
  readonly blockedCallersInsights?: boolean;

  /**
   * How many (organization, source IP) pairs the Contributor Insights widget shows. From 1 to 100.
   *
   * @default 10
   */
  readonly topContributors?: number;
}

/** Properties of `IpAllowlistMonitoring`. */
export interface IpAllowlistMonitoringProps extends IpAllowlistMonitoringOptions {
  /** The authorizer whose decisions, Lambda and log the dashboard, the alarms and the rule watch. */
  readonly authorizer: IpAllowlistAuthorizer;

  /**
   * The admin API whose writes and failures the dashboard shows.
   *
   * @default - no admin row on the dashboard
   */
  readonly adminApi?: AllowlistAdminApi;
}

const DEFAULT_PERIOD = Duration.minutes(5);
const DEFAULT_TOP_CONTRIBUTORS = 10;
const MAX_TOP_CONTRIBUTORS = 100;
/** The height of a graph row, in dashboard grid units (the grid is 24 wide). */
const GRAPH_HEIGHT = 6;
const HALF = 12;
const FULL = 24;

/**
 * The log fields the Contributor Insights rule reads, as the authorizer writes them on the line of a request it
 * blocked (`logDeny` in lambda/authorizer/authorizer.ts): a would-block line carries `outcome: 'would_block'` and an
 * invalid or missing key no `outcome`, so `outcome: 'blocked'` alone selects requests refused by an allowlist.
 */
const BLOCKED_CALLER_KEYS = ['$.organizationId', '$.sourceIp'];
const BLOCKED_FILTERS = [{ Match: '$.outcome', In: ['blocked'] }];

/**
 * CloudWatch monitoring of an IP allowlist, as CloudWatch users expect it: a dashboard of the authorizer's decisions
 * (allowed, blocked, would-block, invalid and missing keys), its store errors (reads that failed a decision, and
 * sightings it could not record), its Lambda's latency, errors and throttles, and the admin API's writes; alarms on
 * store errors and on authorizer errors; and a Contributor Insights rule ranking the (organization, source IP) pairs
 * of blocked requests.
 *
 * `IpAllowlistedApi.addMonitoring()` creates one for the API it built; for an authorizer and an admin API composed
 * by hand, `new IpAllowlistMonitoring(this, 'Monitoring', { authorizer, adminApi })`. The alarms have no action
 * unless `alarmActions` gives them one: add yours (an SNS topic) there or on the alarms.
 */
export class IpAllowlistMonitoring extends Construct {
  /** The dashboard (construct id `Dashboard`). */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Fires on the authorizer's `StoreErrors` (construct id `StoreErrorsAlarm`). Missing data is not breaching. */
  public readonly storeErrorsAlarm: cloudwatch.Alarm;
  /** Fires on the authorizer Lambda's `Errors` (construct id `AuthorizerErrorsAlarm`). Missing data is not breaching. */
  public readonly authorizerErrorsAlarm: cloudwatch.Alarm;
  /**
   * The Contributor Insights rule over the authorizer's log ranking the (organization, source IP) pairs of blocked
   * requests (construct id `BlockedCallers`); undefined when `blockedCallersInsights` is false.
   */
  public readonly blockedCallersRule?: cloudwatch.CfnInsightRule;

  constructor(scope: Construct, id: string, props: IpAllowlistMonitoringProps) {
    super(scope, id);
    const { authorizer, adminApi } = props;
    const period = validPeriod('period', props.period ?? DEFAULT_PERIOD);
    const topContributors = props.topContributors ?? DEFAULT_TOP_CONTRIBUTORS;
    if (
      !Token.isUnresolved(topContributors) &&
      !(Number.isInteger(topContributors) && topContributors >= 1 && topContributors <= MAX_TOP_CONTRIBUTORS)
    ) {
      throw new Error(
        `topContributors must be a whole number from 1 to ${MAX_TOP_CONTRIBUTORS}, got ${topContributors}`,
      );
    }

    this.storeErrorsAlarm = this.alarm('StoreErrorsAlarm', 'storeErrorsAlarm', props.storeErrorsAlarm, {
      metric: (p) => authorizer.metricStoreErrors({ period: p }),
      description:
        `Authorizer ${authorizer.node.path} could not read its tables: requests were refused with 503 ` +
        '(authorizer_unavailable), never allowed.',
    });
    this.authorizerErrorsAlarm = this.alarm(
      'AuthorizerErrorsAlarm',
      'authorizerErrorsAlarm',
      props.authorizerErrorsAlarm,
      {
        metric: (p) => authorizer.function.metricErrors({ period: p }),
        description:
          `Authorizer Lambda of ${authorizer.node.path} failed (an error or a timeout, store errors included): API ` +
          'Gateway answered those requests with a 5xx.',
      },
    );
    for (const action of props.alarmActions ?? []) {
      this.storeErrorsAlarm.addAlarmAction(action);
      this.authorizerErrorsAlarm.addAlarmAction(action);
    }

    if (props.blockedCallersInsights ?? true) {
      this.blockedCallersRule = new cloudwatch.CfnInsightRule(this, 'BlockedCallers', {
        ruleName: Names.uniqueResourceName(this, { maxLength: 100, separator: '-' }) + '-BlockedCallers',
        ruleState: 'ENABLED',
        ruleBody: Stack.of(this).toJsonString({
          Schema: { Name: 'CloudWatchLogRule', Version: 1 },
          LogGroupNames: [authorizer.logGroup.logGroupName],
          LogFormat: 'JSON',
          Contribution: { Keys: BLOCKED_CALLER_KEYS, Filters: BLOCKED_FILTERS },
          AggregateOn: 'Count',
        }),
      });
    }

    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: HALF, height: GRAPH_HEIGHT, period, ...extra });
    const sum = { period };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [this.storeErrorsAlarm, this.authorizerErrorsAlarm],
        width: FULL,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Authorizer decisions', [
        authorizer.metricAllowedRequests({ ...sum, label: 'Allowed' }),
        authorizer.metricBlockedRequests({ ...sum, label: 'Blocked' }),
        authorizer.metricWouldBlockRequests({ ...sum, label: 'Would block (report-only)' }),
      ]),
      graph('Refused keys', [
        authorizer.metricInvalidKeyRequests({ ...sum, label: 'Invalid key' }),
        authorizer.metricMissingKeyRequests({ ...sum, label: 'Missing key' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Store errors',
        [
          authorizer.metricStoreErrors({ ...sum, label: 'Store errors (503)' }),
          authorizer.metricTrafficWriteErrors({ ...sum, label: 'Traffic write errors (decision unaffected)' }),
        ],
        { leftAnnotations: [this.storeErrorsAlarm.toAnnotation()] },
      ),
      graph(
        'Authorizer Lambda errors and throttles',
        [
          authorizer.function.metricErrors({ ...sum, label: 'Errors' }),
          authorizer.function.metricThrottles({ ...sum, label: 'Throttles' }),
        ],
        { leftAnnotations: [this.authorizerErrorsAlarm.toAnnotation()] },
      ),
    );
    const latency = graph('Authorizer latency (ms)', [
      authorizer.function.metricDuration({ period, statistic: 'p50', label: 'p50' }),
      authorizer.function.metricDuration({ period, statistic: 'p99', label: 'p99' }),
    ]);
    if (adminApi) {
      this.dashboard.addWidgets(
        latency,
        graph('Admin API', [
          adminApi.metricWrites({ ...sum, label: 'Writes' }),
          adminApi.metricFailures({ ...sum, label: 'Failures (5xx)' }),
        ]),
      );
    } else {
      this.dashboard.addWidgets(latency);
    }
    if (this.blockedCallersRule) {
      this.dashboard.addWidgets(
        new ContributorInsightsWidget({
          title: 'Top blocked (organization, source IP)',
          ruleName: this.blockedCallersRule.attrRuleName,
          maxContributorCount: topContributors,
          period,
          width: FULL,
          height: GRAPH_HEIGHT,
        }),
      );
    }
  }

  private alarm(
    id: string,
    prop: string,
    options: MonitoringAlarmOptions = {},
    what: { metric: (period: Duration) => cloudwatch.IMetric; description: string },
  ): cloudwatch.Alarm {
    const period = validPeriod(`${prop}.period`, options.period ?? DEFAULT_PERIOD);
    const threshold = options.threshold ?? 1;
    if (!Token.isUnresolved(threshold) && !(threshold > 0)) {
      throw new Error(`${prop}.threshold must be greater than 0, got ${threshold}`);
    }
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    if (!Token.isUnresolved(evaluationPeriods) && !(Number.isInteger(evaluationPeriods) && evaluationPeriods >= 1)) {
      throw new Error(`${prop}.evaluationPeriods must be a whole number from 1, got ${evaluationPeriods}`);
    }
    const datapointsToAlarm = options.datapointsToAlarm ?? evaluationPeriods;
    if (
      !Token.isUnresolved(datapointsToAlarm) &&
      !Token.isUnresolved(evaluationPeriods) &&
      !(Number.isInteger(datapointsToAlarm) && datapointsToAlarm >= 1 && datapointsToAlarm <= evaluationPeriods)
    ) {
      throw new Error(
        `${prop}.datapointsToAlarm must be a whole number from 1 to evaluationPeriods (${evaluationPeriods}), got ${datapointsToAlarm}`,
      );
    }
    return new cloudwatch.Alarm(this, id, {
      metric: what.metric(period),
      threshold,
      evaluationPeriods,
      datapointsToAlarm,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No invocation, no datapoint: a quiet API is a healthy one.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: what.description,
    });
  }
}

/** CloudWatch's alarm and metric periods: 10 s, 30 s (high resolution) or whole minutes. */
function validPeriod(prop: string, period: Duration): Duration {
  if (period.isUnresolved()) return period;
  const seconds = period.toSeconds({ integral: false });
  if (!(seconds === 10 || seconds === 30 || (seconds >= 60 && seconds % 60 === 0))) {
    throw new Error(
      `${prop} must be 10 seconds, 30 seconds or a whole number of minutes, got ${period.toHumanString()}`,
    );
  }
  return period;
}

interface ContributorInsightsWidgetProps {
  readonly title: string;
  readonly ruleName: string;
  readonly maxContributorCount: number;
  readonly period: Duration;
  readonly width: number;
  readonly height: number;
}

/**
 * The dashboard widget of a Contributor Insights rule (a `metric` widget with `insightRule`, in the dashboard body
 * structure CloudWatch documents), which aws-cdk-lib has no class for.
 */
class ContributorInsightsWidget extends cloudwatch.ConcreteWidget {
  constructor(private readonly props: ContributorInsightsWidgetProps) {
    super(props.width, props.height);
  }

  public toJson(): unknown[] {
    return [
      {
        type: 'metric',
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: {
          view: 'timeSeries',
          title: this.props.title,
          region: Aws.REGION,
          insightRule: {
            maxContributorCount: this.props.maxContributorCount,
            orderBy: 'Sum',
            ruleName: this.props.ruleName,
          },
          legend: { position: 'bottom' },
          period: this.props.period.toSeconds(),
        },
      },
    ];
  }
}
