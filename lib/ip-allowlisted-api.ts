import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { AllowlistAdminApi } from './allowlist-admin-api';
import { AllowlistTables, IAllowlistTables } from './allowlist-tables';
import { instanceName, useSharedCloudWatchRole } from './instance';
import { IpAllowlistAuthorizer } from './ip-allowlist-authorizer';
import { IpAllowlistMonitoring, IpAllowlistMonitoringOptions } from './monitoring';
import { acknowledgeNagRules } from './nag';
import { loggedStageOptions } from './stage-options';
import { Upstream } from './upstream';

/** Properties of `IpAllowlistedApi`. */
export interface IpAllowlistedApiProps {
  /** Where requests that pass the allowlist go: `Upstream.http(url)` or `Upstream.lambdaFunction(fn)`. */
  readonly upstream: Upstream;

  /**
   * The tables holding allowlists and API keys: your own `AllowlistTables`, or existing ones brought with
   * `AllowlistTables.fromTableNames` (e.g. the tables a destroyed stack retained) or `AllowlistTables.fromTables`.
   * The table options below then have no effect, and setting them is an error.
   *
   * @default - new `AllowlistTables` (id `Tables`) with `removalPolicy`, `deletionProtection`, `encryptionKey` and
   * `trafficRetention`
   */
  readonly tables?: IAllowlistTables;

  /**
   * Removal policy of the tables this construct creates. Only without `tables`.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Whether DynamoDB refuses to delete the tables this construct creates. Only without `tables`.
   *
   * @default false
   */
  readonly deletionProtection?: boolean;

  /**
   * A customer-managed KMS key for the tables this construct creates. Only without `tables`.
   *
   * @default - the AWS managed key for DynamoDB
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * How long the Traffic table this construct creates keeps a sighting after it was last seen (whole days, 1 to
   * 365). Only without `tables`.
   *
   * @default Duration.days(30)
   */
  readonly trafficRetention?: Duration;

  /**
   * Which IP versions callers may use to reach the API. With `DUAL_STACK`, a client on an IPv6-capable network
   * (most mobile carriers, many offices and cloud subnets) connects over IPv6, and its IPv6 address is the one
   * the allowlist checks: such clients must be allowlisted by their IPv6 addresses (or prefixes) too, or they
   * are refused although their IPv4 egress is on the list.
   *
   * @default apigateway.IpAddressType.IPV4
   */
  readonly ipAddressType?: apigateway.IpAddressType;

  /**
   * The worst-case delay before an allowlist or key change is enforced (API Gateway's authorizer cache plus the
   * authorizer's in-memory cache). Zero disables caching. At most 1 hour, in whole seconds.
   *
   * @default Duration.minutes(5)
   */
  readonly propagationDelay?: Duration;

  /**
   * The request header that carries `Bearer <key>`.
   *
   * @default 'Authorization'
   */
  readonly apiKeyHeader?: string;

  /**
   * The stage, which is also the first path segment of every URL (`https://<id>.execute-api.<region>.amazonaws.com/v1/...`).
   *
   * @default 'v1'
   */
  readonly stageName?: string;

  /**
   * Stage-wide rate and burst limits.
   *
   * @default - no stage limit: the account's API Gateway limits apply
   */
  readonly throttling?: apigateway.ThrottleSettings;

  /**
   * How long the access logs and the authorizer's logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the log groups (access logs, the authorizer's and the admin API's) when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;

  /**
   * Memory of the authorizer Lambda, in MiB.
   *
   * @default 512
   */
  readonly authorizerMemorySize?: number;

  /**
   * Timeout of the authorizer Lambda (at least 5 seconds).
   *
   * @default Duration.seconds(10)
   */
  readonly authorizerTimeout?: Duration;

  /**
   * The Powertools `service` dimension of the authorizer's CloudWatch metrics.
   *
   * @default 'cdk-ip-allowlist-authorizer'
   */
  readonly metricsServiceName?: string;

  /**
   * Extra headers on the API's gateway responses (the 401s and 503s of the authorizer, and every other error API
   * Gateway answers itself), as API Gateway mapping expressions, e.g.
   * `{ 'Access-Control-Allow-Origin': "'https://app.example.com'" }` so that a browser can read a 401.
   *
   * @default - only `Content-Type: application/json`
   */
  readonly gatewayResponseHeaders?: { [name: string]: string };

  /**
   * API Gateway execution logging (to CloudWatch Logs), without request or response bodies.
   *
   * @default apigateway.MethodLoggingLevel.ERROR
   */
  readonly executionLoggingLevel?: apigateway.MethodLoggingLevel;

  /**
   * Whether to set the account-level role through which API Gateway writes logs to CloudWatch (an IAM role and the
   * `AWS::ApiGateway::Account` setting, retained on delete). Logging needs it once per account and Region: every API
   * of this package in a stack shares one. Set false when the account already has one.
   *
   * @default - true, unless the feature flag `@aws-cdk/aws-apigateway:disableCloudWatchRole` is set (as for
   * aws-cdk-lib's RestApi)
   */
  readonly cloudWatchRole?: boolean;

  /**
   * Name of the RestApi.
   *
   * @default - the stack name and the construct's path in the stack, joined with `-` (e.g. `MyStack-Api`), so
   * that no two APIs of the app share a name
   */
  readonly restApiName?: string;

  /**
   * Whether to create the admin API (`AllowlistAdminApi`, AWS_IAM authorization) that manages the allowlists and
   * API keys of this API and flushes its authorizer cache after every change. Without it, `maxEntries` and
   * `adminStageName` have nothing to apply to and are refused.
   *
   * @default true
   */
  readonly adminApi?: boolean;

  /**
   * The most entries one allowlist may hold, enforced by the admin API. At most 1000.
   *
   * @default 50
   */
  readonly maxEntries?: number;

  /**
   * Name of the admin API's stage.
   *
   * @default 'admin'
   */
  readonly adminStageName?: string;
}

/**
 * A regional REST API whose every method is behind the IP allowlist authorizer, proxying to an upstream you
 * supply. It adds the JSON error responses, JSON access logs, X-Ray tracing and CloudWatch metrics, and (unless
 * `adminApi` is false) the admin API that manages the allowlists.
 *
 * The authorizer is the API's `defaultMethodOptions.authorizer`: a method you add to `api` later is protected
 * too, unless you add it with `authorizationType: AuthorizationType.NONE` (a public `/health`, say).
 */
export class IpAllowlistedApi extends Construct {
  /** The REST API. */
  public readonly api: apigateway.RestApi;
  /** The authorizer protecting every method. */
  public readonly authorizer: IpAllowlistAuthorizer;
  /** The tables holding allowlists, API keys and the audit log. */
  public readonly tables: IAllowlistTables;
  /** The log group of the stage's JSON access logs. */
  public readonly accessLogGroup: logs.LogGroup;
  private readonly admin?: AllowlistAdminApi;

  constructor(scope: Construct, id: string, props: IpAllowlistedApiProps) {
    super(scope, id);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const withAdmin = props.adminApi ?? true;
    refuseWithout(props.tables === undefined, 'when tables is given (set them on the tables)', {
      removalPolicy: props.removalPolicy,
      deletionProtection: props.deletionProtection,
      encryptionKey: props.encryptionKey,
      trafficRetention: props.trafficRetention,
    });
    refuseWithout(withAdmin, 'with adminApi: false (there is no admin API to apply them to)', {
      maxEntries: props.maxEntries,
      adminStageName: props.adminStageName,
    });

    this.tables =
      props.tables ??
      new AllowlistTables(this, 'Tables', {
        removalPolicy: props.removalPolicy,
        deletionProtection: props.deletionProtection,
        encryptionKey: props.encryptionKey,
        trafficRetention: props.trafficRetention,
      });
    this.authorizer = new IpAllowlistAuthorizer(this, 'Authorizer', {
      tables: this.tables,
      propagationDelay: props.propagationDelay,
      apiKeyHeader: props.apiKeyHeader,
      logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      memorySize: props.authorizerMemorySize,
      timeout: props.authorizerTimeout,
      metricsServiceName: props.metricsServiceName,
      gatewayResponseHeaders: props.gatewayResponseHeaders,
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.api = new apigateway.RestApi(this, 'Resource', {
      restApiName: props.restApiName ?? instanceName(this, '-'),
      description: 'cdk-ip-allowlist: every method requires an API key from an allowed IP',
      endpointConfiguration: {
        types: [apigateway.EndpointType.REGIONAL],
        ipAddressType: props.ipAddressType ?? apigateway.IpAddressType.IPV4,
      },
      // Shared with every other API of this package in the stack (useSharedCloudWatchRole below).
      cloudWatchRole: false,
      deployOptions: loggedStageOptions({
        stageName: props.stageName ?? 'v1',
        accessLogGroup: this.accessLogGroup,
        accessLogFields: ACCESS_LOG_FIELDS,
        loggingLevel: props.executionLoggingLevel,
        throttling: props.throttling,
      }),
      defaultMethodOptions: { authorizer: this.authorizer },
    });

    const integrations = props.upstream.bind(this.api);
    this.api.root.addMethod('ANY', integrations.root);
    this.api.root.addResource('{proxy+}').addMethod('ANY', integrations.proxy, {
      requestParameters: { 'method.request.path.proxy': true },
    });

    if (withAdmin) {
      this.admin = new AllowlistAdminApi(this, 'Admin', {
        authorizers: [this.authorizer],
        maxEntries: props.maxEntries,
        stageName: props.adminStageName,
        logRetention,
        logRemovalPolicy: props.logRemovalPolicy,
        executionLoggingLevel: props.executionLoggingLevel,
        cloudWatchRole: props.cloudWatchRole,
      });
    }

    useSharedCloudWatchRole(this.api, props.cloudWatchRole);
    // Each on the resource its rule checks: the RestApi (APIG2), the stage (APIG3).
    acknowledgeNagRules(this.api.node.defaultChild as IConstruct, {
      id: 'AwsSolutions-APIG2',
      reason:
        'A transparent proxy: the upstream owns the request schema. What the API Gateway layer validates (the key ' +
        'and the source IP) the authorizer validates before any request reaches the upstream.',
    });
    acknowledgeNagRules(this.api.deploymentStage, {
      id: 'AwsSolutions-APIG3',
      reason:
        'WAF is an optional extra layer for a user to attach (rate-based rules, managed rule groups); the IP ' +
        'allowlist itself is enforced by the authorizer, per organization and project, which WAF cannot express.',
    });
  }

  /**
   * The admin API (construct id `Admin`), which flushes this API's authorizer cache after every change. Throws
   * when `adminApi` is false: a grant on an admin API that does not exist would silently grant nothing.
   */
  public get adminApi(): AllowlistAdminApi {
    if (!this.admin) {
      throw new Error(
        `IpAllowlistedApi ${this.node.path} was created with adminApi: false, so it has no admin API. Create one ` +
          "with new AllowlistAdminApi(scope, 'Admin', { authorizers: [allowlisted.authorizer] }), or drop adminApi: false.",
      );
    }
    return this.admin;
  }

  /**
   * Adds CloudWatch monitoring of this API's authorizer and admin API (construct id `Monitoring`): a dashboard, alarms
   * on store errors and authorizer errors, and a Contributor Insights rule ranking blocked callers. Once per API.
   */
  public addMonitoring(options: IpAllowlistMonitoringOptions = {}): IpAllowlistMonitoring {
    if (this.node.tryFindChild(MONITORING_ID)) {
      throw new Error(`IpAllowlistedApi ${this.node.path} already has monitoring: addMonitoring may be called once`);
    }
    return new IpAllowlistMonitoring(this, MONITORING_ID, {
      ...options,
      authorizer: this.authorizer,
      adminApi: this.admin,
    });
  }

  /** Whether this construct created an admin API (`adminApi` was not false). */
  public get hasAdminApi(): boolean {
    return this.admin !== undefined;
  }

  /** The URL of the stage, e.g. `https://<id>.execute-api.<region>.amazonaws.com/v1/`. */
  public get url(): string {
    return this.api.url;
  }
}

const MONITORING_ID = 'Monitoring';

/** Refuses props that have no effect unless `applies`, naming them and why. */
function refuseWithout(applies: boolean, why: string, props: { [name: string]: unknown }): void {
  if (applies) return;
  const given = Object.entries(props)
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
  if (given.length > 0) throw new Error(`${given.join(' and ')} ${given.length > 1 ? 'have' : 'has'} no effect ${why}`);
}

/**
 * One JSON object per request. The API key is never logged: only the key id the authorizer vouched for
 * (`principalId`), and the caller's address as API Gateway saw it.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  resourcePath: '$context.resourcePath',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  principalId: '$context.authorizer.principalId',
  organizationId: '$context.authorizer.organizationId',
  projectId: '$context.authorizer.projectId',
  errorCode: '$context.authorizer.errorCode',
  authorizerStatus: '$context.authorizer.status',
  authorizerLatency: '$context.authorizer.latency',
  errorResponseType: '$context.error.responseType',
  integrationLatency: '$context.integration.latency',
  responseLatency: '$context.responseLatency',
};
