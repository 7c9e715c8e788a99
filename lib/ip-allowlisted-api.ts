import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AllowlistAdminApi } from './allowlist-admin-api';
import { AllowlistTables } from './allowlist-tables';
import { IpAllowlistAuthorizer } from './ip-allowlist-authorizer';
import { loggedStageOptions } from './stage-options';
import { Upstream } from './upstream';

/** Properties of `IpAllowlistedApi`. */
export interface IpAllowlistedApiProps {
  /** Where requests that pass the allowlist go: `Upstream.http(url)` or `Upstream.lambdaFunction(fn)`. */
  readonly upstream: Upstream;

  /**
   * The tables holding allowlists and API keys.
   *
   * @default - new `AllowlistTables` (id `Tables`) with `removalPolicy`
   */
  readonly tables?: AllowlistTables;

  /**
   * Removal policy of the tables this construct creates. Ignored when `tables` is given.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

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
   * API Gateway execution logging (to CloudWatch Logs), without request or response bodies.
   *
   * @default apigateway.MethodLoggingLevel.ERROR
   */
  readonly executionLoggingLevel?: apigateway.MethodLoggingLevel;

  /**
   * Whether to create the account-level role through which API Gateway writes logs to CloudWatch. Logging needs it
   * once per account and Region; set false when the account already has one.
   *
   * @default true
   */
  readonly cloudWatchRole?: boolean;

  /**
   * Name of the RestApi.
   *
   * @default - the construct's id
   */
  readonly restApiName?: string;

  /**
   * Whether to create the admin API (`AllowlistAdminApi`, AWS_IAM authorization) that manages the allowlists and
   * API keys of this API and flushes its authorizer cache after every change.
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
}

/**
 * A REST API (regional, dual-stack so IPv6 callers can reach it) whose every method is behind the IP allowlist
 * authorizer, proxying to an upstream you supply. It adds the JSON error responses, JSON access logs, X-Ray tracing
 * and CloudWatch metrics.
 */
export class IpAllowlistedApi extends Construct {
  /** The REST API. */
  public readonly api: apigateway.RestApi;
  /** The authorizer protecting every method. */
  public readonly authorizer: IpAllowlistAuthorizer;
  /** The tables holding allowlists, API keys and the audit log. */
  public readonly tables: AllowlistTables;
  /** The log group of the stage's JSON access logs. */
  public readonly accessLogGroup: logs.LogGroup;
  /** The admin API (construct id `Admin`), unless `adminApi` is false. */
  public readonly adminApi?: AllowlistAdminApi;

  constructor(scope: Construct, id: string, props: IpAllowlistedApiProps) {
    super(scope, id);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    this.tables = props.tables ?? new AllowlistTables(this, 'Tables', { removalPolicy: props.removalPolicy });
    this.authorizer = new IpAllowlistAuthorizer(this, 'Authorizer', {
      tables: this.tables,
      propagationDelay: props.propagationDelay,
      apiKeyHeader: props.apiKeyHeader,
      logRetention,
    });
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention });

    this.api = new apigateway.RestApi(this, 'Resource', {
      restApiName: props.restApiName ?? id,
      description: 'cdk-ip-allowlist: every method requires an API key from an allowed IP',
      endpointConfiguration: {
        types: [apigateway.EndpointType.REGIONAL],
        ipAddressType: apigateway.IpAddressType.DUAL_STACK,
      },
      cloudWatchRole: props.cloudWatchRole ?? true,
      deployOptions: loggedStageOptions({
        stageName: props.stageName ?? 'v1',
        accessLogGroup: this.accessLogGroup,
        accessLogFields: ACCESS_LOG_FIELDS,
        loggingLevel: props.executionLoggingLevel,
        throttling: props.throttling,
      }),
      defaultMethodOptions: { authorizer: this.authorizer.authorizer },
    });

    const integrations = props.upstream.bind(this.api);
    this.api.root.addMethod('ANY', integrations.root);
    this.api.root.addResource('{proxy+}').addMethod('ANY', integrations.proxy, {
      requestParameters: { 'method.request.path.proxy': true },
    });

    this.authorizer.protectRestApi(this.api);

    if (props.adminApi ?? true) {
      this.adminApi = new AllowlistAdminApi(this, 'Admin', {
        tables: this.tables,
        protectedStage: this.api.deploymentStage,
        propagationDelay: this.authorizer.propagationDelay,
        maxEntries: props.maxEntries,
        logRetention,
        executionLoggingLevel: props.executionLoggingLevel,
        // One account-level logging role per account and Region: this API's (above) serves both.
        cloudWatchRole: false,
      });
      const account = this.api.node.tryFindChild('Account');
      if (account) this.adminApi.api.deploymentStage.node.addDependency(account);
    }

    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-level logging role, which access and execution logging require. AWS documents this " +
          'managed policy for exactly this role; API Gateway (not this API) picks the log groups it writes to.',
      });
    }
  }

  /** The URL of the stage, e.g. `https://<id>.execute-api.<region>.amazonaws.com/v1/`. */
  public get url(): string {
    return this.api.url;
  }
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
