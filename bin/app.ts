#!/usr/bin/env node
import { App, CfnOutput, Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { createHandlerFunction } from '../lib/handler-function';
import { IpAllowlistedApi, IpAllowlistMonitoring, Upstream } from '../lib';
import { MAX_PROPAGATION_DELAY_SECONDS } from '../lib/contract';

/**
 * The example app: an IpAllowlistedApi in front of a small echo Lambda that answers with the organization,
 * project and key the request was authorized as.
 *
 * Context (`cdk synth -c name=value`):
 * - `upstreamUrl`: proxy to this HTTP(S) URL instead of the echo Lambda;
 * - `propagationDelaySeconds`: the propagation delay (0 to 3600, default 300);
 * - `monitoring`: `true` adds the dashboard, alarms and Contributor Insights rule of docs/monitoring.md (billed per
 *   month, unlike the rest of the stack, so off unless asked for);
 * - `alarmTopicArn`: an existing SNS topic the alarms notify (implies `monitoring`).
 */

export const EXAMPLE_STACK_NAME = 'CdkIpAllowlistExample';

export interface ExampleStackProps extends StackProps {
  /** @default - the echo Lambda */
  readonly upstreamUrl?: string;
  /** @default 300 */
  readonly propagationDelaySeconds?: number;
  /** @default - true when `alarmTopicArn` is given, else false */
  readonly monitoring?: boolean;
  /** @default - the alarms have no action */
  readonly alarmTopicArn?: string;
}

export class ExampleStack extends Stack {
  public readonly allowlistedApi: IpAllowlistedApi;
  /** Present with the `monitoring` prop. */
  public readonly monitoring?: IpAllowlistMonitoring;

  constructor(scope: Construct, id: string, props: ExampleStackProps = {}) {
    super(scope, id, props);

    let upstream: Upstream;
    if (props.upstreamUrl !== undefined) {
      upstream = Upstream.http(props.upstreamUrl);
    } else {
      const echo = new Construct(this, 'Echo');
      const parts = createHandlerFunction(echo, {
        asset: 'echo',
        description: 'cdk-ip-allowlist example upstream: echoes the authorized organization, project and key',
        environment: {},
        memorySize: 256,
        timeout: Duration.seconds(5),
        // A year, as the library's own log groups keep theirs (and AWS Control Tower's CT.CLOUDWATCH.PR.2 asks).
        logRetention: logs.RetentionDays.ONE_YEAR,
      });
      upstream = Upstream.lambdaFunction(parts.function);
    }

    this.allowlistedApi = new IpAllowlistedApi(this, 'Api', {
      upstream,
      propagationDelay:
        props.propagationDelaySeconds === undefined ? undefined : Duration.seconds(props.propagationDelaySeconds),
    });

    if (props.monitoring ?? props.alarmTopicArn !== undefined) {
      // docs/dashboard.svg is drawn from this dashboard (scripts/render-dashboard.ts).
      const topic = props.alarmTopicArn && sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
      this.monitoring = this.allowlistedApi.addMonitoring({
        alarmActions: topic ? [new cloudwatchActions.SnsAction(topic)] : undefined,
      });
    }

    new CfnOutput(this, 'AllowlistsTableName', { value: this.allowlistedApi.tables.allowlistsTable.tableName });
    new CfnOutput(this, 'ApiKeysTableName', { value: this.allowlistedApi.tables.apiKeysTable.tableName });
    // With the two above: what AllowlistTables.fromTableNames needs to attach a redeployed stack to the retained tables.
    new CfnOutput(this, 'AuditLogTableName', { value: this.allowlistedApi.tables.auditLogTable.tableName });
  }
}

export interface BuildExampleAppOptions {
  /** Context values, as `cdk -c` would pass them (strings) or as plain values. */
  readonly context?: { [key: string]: unknown };
  /** @default - the CDK default (`cdk.out`, or the directory the CLI gives in CDK_OUTDIR) */
  readonly outdir?: string;
}

export interface ExampleApp {
  readonly app: App;
  readonly stack: ExampleStack;
}

/** Builds the example app with cdk-nag's AwsSolutions checks registered: synthesis fails on any finding. */
export function buildExampleApp(options: BuildExampleAppOptions = {}): ExampleApp {
  const app = new App({ outdir: options.outdir, context: options.context });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  const stack = new ExampleStack(app, EXAMPLE_STACK_NAME, {
    description: 'cdk-ip-allowlist example: an IP-allowlisted REST API in front of an echo Lambda',
    upstreamUrl: optionalString('upstreamUrl', app.node.tryGetContext('upstreamUrl')),
    propagationDelaySeconds: wholeSeconds('propagationDelaySeconds', app.node.tryGetContext('propagationDelaySeconds')),
    monitoring: optionalBoolean('monitoring', app.node.tryGetContext('monitoring')),
    alarmTopicArn: optionalString('alarmTopicArn', app.node.tryGetContext('alarmTopicArn')),
  });
  return { app, stack };
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`context ${name} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  // `cdk -c` gives strings; a context set in code or cdk.json may give a boolean.
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${name} must be true or false, got ${JSON.stringify(value)}`);
}

function wholeSeconds(name: string, value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  // `cdk -c` gives strings; a context set in code or cdk.json may give a number.
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^\d+$/.test(text)) {
    throw new Error(
      `context ${name} must be a whole number of seconds from 0 to ${MAX_PROPAGATION_DELAY_SECONDS}, got ${JSON.stringify(value)}`,
    );
  }
  return Number(text);
}

if (require.main === module) {
  buildExampleApp().app.synth();
}
