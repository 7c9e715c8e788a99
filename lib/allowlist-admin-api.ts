import { Aspects, AspectPriority, Duration, IAspect, RemovalPolicy, Stack, ArnFormat, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { defaultErrorResponseTemplate } from './gateway-responses';
import { loggedStageOptions } from './stage-options';
import {
  ADMIN_ENV,
  ADMIN_METRIC_NAMES,
  DEFAULT_MAX_ENTRIES,
  ENV,
  isValidId,
  MAX_MAX_ENTRIES,
  METRICS_SERVICE_ENV,
  propagationDelayFault,
  splitPropagationDelay,
  STAGE_LIST_SEPARATOR,
  STAGE_SEPARATOR,
  WHOAMI_PATH,
} from './contract';
import { IAllowlistTables } from './allowlist-tables';
import { IpAllowlistAuthorizer } from './ip-allowlist-authorizer';
import { grantAdminTableAccess, trafficEnvironment } from './table-access';
import { createHandlerFunction } from './handler-function';
import { instanceMetric, instanceName, metricsServiceName, useSharedCloudWatchRole } from './instance';
import { acknowledgeGrantWildcards, acknowledgeNagRules } from './nag';
import { ResourceRef, resourceUrlPath } from './paths';

// Grant ARNs keep `*` and unresolved tokens as written, like the route templates keep `{org}`.
const RAW = { raw: true };

/** Properties of `AllowlistAdminApi`. */
export interface AllowlistAdminApiProps {
  /**
   * The authorizers whose allowlists and keys this admin API manages. Everything else follows from them: the
   * tables (they must share one `AllowlistTables`), the propagation delay it reports (the longest of theirs), and
   * the stages whose authorizer cache it flushes after every change (every stage of every API they protect,
   * however they were attached).
   */
  readonly authorizers: IpAllowlistAuthorizer[];

  /**
   * Whether every write flushes the authorizer cache of every stage the authorizers protect, so changes apply in
   * seconds rather than after the propagation delay. Turning it off is an explicit choice: changes then apply
   * within `propagationDelay`, and write responses say `flushed: false`.
   *
   * @default true
   */
  readonly flushAuthorizerCaches?: boolean;

  /**
   * The most entries one allowlist (organization, project or API key) may hold. At most 1000.
   *
   * @default 50
   */
  readonly maxEntries?: number;

  /**
   * Name of the admin API's stage: the first segment of its URL path.
   *
   * @default 'admin'
   */
  readonly stageName?: string;

  /**
   * How long the admin Lambda's logs and the admin API's access logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the admin Lambda's log group and the access log group when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;

  /**
   * API Gateway execution logging of the admin API. Needs the account's API Gateway CloudWatch role (see
   * `cloudWatchRole`).
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
   * @default - the stack name and the construct's path in the stack, joined with `-` (e.g. `MyStack-Api-Admin`),
   * so that no two APIs of the app share a name
   */
  readonly restApiName?: string;

  /**
   * The `service` dimension of the admin API's CloudWatch metrics (`AdminWrites`, `AdminFailures`), passed to the
   * admin Lambda's Powertools Metrics. 1 to 1024 characters.
   *
   * @default - the stack name and the construct's path in the stack, e.g. `MyStack/Api/Admin`: distinct for every
   * admin API of the account and Region
   */
  readonly metricsServiceName?: string;
}

/** The admin Lambda's timeout: API Gateway's default integration timeout (29 s). */
const ADMIN_TIMEOUT_SECONDS = 29;

/**
 * The admin API of the IP allowlist: a RestApi with AWS_IAM (SigV4) authorization on every method, in front of
 * one Lambda that manages organization, project and API key allowlists, issues and revokes API keys, checks
 * IPs against the lists and serves the audit log. Routes: openapi/admin-api.json in this package.
 *
 * Built from the authorizers it serves (`new AllowlistAdminApi(this, 'Admin', { authorizers: [allowlist] })`), from
 * which it takes the tables, the propagation delay and the stages whose authorizer cache it flushes after every
 * write: nothing it needs can disagree with what the authorizers do.
 *
 * The IP allowlist never applies to this API: it restricts the protected API only. Who may manage which
 * organization is IAM's business; `grantRead` and `grantWrite` write those policies.
 */
export class AllowlistAdminApi extends Construct {
  /** The admin RestApi (construct id `Resource`). */
  public readonly api: apigateway.RestApi;
  /** The admin Lambda. */
  public readonly function: lambda.Function;
  /** The admin Lambda's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The admin API's access logs (JSON, one line per request, with the caller's IAM ARN). */
  public readonly accessLogGroup: logs.LogGroup;
  /** The most entries one allowlist may hold. */
  public readonly maxEntries: number;
  /** The `service` dimension of this admin API's metrics. */
  public readonly metricsServiceName: string;
  /** The tables it manages: those of its authorizers. */
  public readonly tables: IAllowlistTables;
  /** The worst-case delay before a change is enforced without a flush: the longest of its authorizers'. */
  public readonly propagationDelay: Duration;

  private readonly authorizers: IpAllowlistAuthorizer[];
  private readonly flushAuthorizerCaches: boolean;
  /** The stages it flushes, known once the app's constructs are all in place (see `StageDiscovery`). */
  private stagesToFlush?: apigateway.Stage[];
  private readonly flushProblems: string[] = [];

  constructor(scope: Construct, id: string, props: AllowlistAdminApiProps) {
    super(scope, id);
    this.authorizers = [...props.authorizers];
    if (this.authorizers.length === 0) {
      throw new Error('authorizers must name at least one IpAllowlistAuthorizer: the admin API manages their tables');
    }
    this.tables = this.authorizers[0].tables;
    const stranger = this.authorizers.find((a) => a.tables !== this.tables);
    if (stranger) {
      throw new Error(
        `authorizers must share one AllowlistTables: ${this.authorizers[0].node.path} reads ${this.tables.node.path}, ` +
          `${stranger.node.path} reads ${stranger.tables.node.path}. Use one admin API per set of tables.`,
      );
    }
    this.flushAuthorizerCaches = props.flushAuthorizerCaches ?? true;
    this.maxEntries = props.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (
      !Token.isUnresolved(this.maxEntries) &&
      !(Number.isInteger(this.maxEntries) && this.maxEntries >= 1 && this.maxEntries <= MAX_MAX_ENTRIES)
    ) {
      throw new Error(`maxEntries must be a whole number from 1 to ${MAX_MAX_ENTRIES}, got ${this.maxEntries}`);
    }
    this.propagationDelay = slowest(this.authorizers);
    const propagation = propagationSettings(this.propagationDelay);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.metricsServiceName = metricsServiceName(this, props.metricsServiceName, 'metricsServiceName');

    const environment: { [name: string]: string } = {
      [ENV.allowlistsTable]: this.tables.allowlistsTable.tableName,
      [ENV.apiKeysTable]: this.tables.apiKeysTable.tableName,
      [ENV.auditLogTable]: this.tables.auditLogTable.tableName,
      [ADMIN_ENV.maxEntries]: Token.isUnresolved(this.maxEntries)
        ? Token.asString(this.maxEntries)
        : String(this.maxEntries),
      [ADMIN_ENV.propagationDelaySeconds]: propagation.totalSeconds,
      [ADMIN_ENV.memoryCacheTtlSeconds]: String(propagation.memoryTtlSeconds),
      [ADMIN_ENV.maxDecisionAgeSeconds]: String(propagation.maxDecisionAgeSeconds),
      [ADMIN_ENV.gatewayTtlSeconds]: propagation.gatewayTtlSeconds,
      [METRICS_SERVICE_ENV]: this.metricsServiceName,
      ...trafficEnvironment(this.tables),
    };
    const parts = createHandlerFunction(this, {
      asset: 'admin',
      description: 'cdk-ip-allowlist: admin API (allowlists, API keys, check tool, audit log)',
      environment,
      memorySize: 512,
      // API Gateway's integration timeout: a longer-running Lambda would answer nobody. A write fits with room to
      // spare (the store's retries, the decision age bound before the last flush, two bounded flushes), and one
      // that was slow to commit skips a flush it has no time left for rather than run into this limit.
      timeout: Duration.seconds(ADMIN_TIMEOUT_SECONDS),
      logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    this.function = parts.function;
    this.logGroup = parts.logGroup;
    grantAdminTableAccess(this.tables, this.function);

    // The stages are known only when the whole app is built (a method may attach an authorizer to an API after
    // this line), so they are wired in at synth time.
    if (this.flushAuthorizerCaches) {
      Aspects.of(this).add(new StageDiscovery(this), { priority: AspectPriority.MUTATING });
      this.node.addValidation({ validate: () => this.flushProblems });
    }

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.api = new apigateway.RestApi(this, 'Resource', {
      restApiName: props.restApiName ?? instanceName(this, '-'),
      description: 'cdk-ip-allowlist admin API: allowlists, API keys, check tool and audit log (AWS_IAM)',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Shared with every other API of this package in the stack (useSharedCloudWatchRole below).
      cloudWatchRole: false,
      // Data trace stays off (loggedStageOptions): bodies carry newly created API keys.
      deployOptions: loggedStageOptions({
        stageName: props.stageName ?? 'admin',
        accessLogGroup: this.accessLogGroup,
        accessLogFields: ACCESS_LOG_FIELDS,
        loggingLevel: props.executionLoggingLevel,
      }),
      defaultIntegration: new apigateway.LambdaIntegration(this.function),
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
    });
    // One proxy route: the Lambda routes, and answers unknown paths and methods with JSON 404/405 errors.
    this.api.root.addMethod('ANY');
    this.api.root.addResource('{proxy+}').addMethod('ANY');

    // Errors API Gateway answers itself (a missing or wrong signature, IAM deny) in the API's error shape.
    for (const [type, errorType] of [
      [apigateway.ResponseType.DEFAULT_4XX, 'invalid_request_error'],
      [apigateway.ResponseType.DEFAULT_5XX, 'server_error'],
    ] as const) {
      this.api.addGatewayResponse(type === apigateway.ResponseType.DEFAULT_4XX ? 'Default4xx' : 'Default5xx', {
        type,
        responseHeaders: { 'Content-Type': "'application/json'" },
        templates: { 'application/json': defaultErrorResponseTemplate(errorType) },
      });
    }

    useSharedCloudWatchRole(this.api, props.cloudWatchRole);
    // Each on the resource its rule checks: the RestApi (APIG2), the stage (APIG3), the methods (COG4).
    acknowledgeNagRules(this.api.node.defaultChild as IConstruct, {
      id: 'AwsSolutions-APIG2',
      reason:
        'The admin Lambda validates every request strictly (types, unknown fields, sizes, ids) and answers with a ' +
        'JSON error naming the problem; an API Gateway model would duplicate that with worse messages.',
    });
    acknowledgeNagRules(this.api.deploymentStage, {
      id: 'AwsSolutions-APIG3',
      reason: 'Every method requires SigV4 (AWS_IAM); WAF is an optional extra layer for a user to attach.',
    });
    acknowledgeNagRules(this.api.root, {
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are IAM principals authorized per organization with IAM policies (grantRead/grantWrite), not Cognito users.',
    });
  }

  /**
   * The stages whose authorizer cache every write flushes: each stage of each API the authorizers protect. Known
   * at synth time (empty before, and when `flushAuthorizerCaches` is false).
   */
  public get flushedStages(): apigateway.Stage[] {
    return [...(this.stagesToFlush ?? [])];
  }

  /**
   * Finds the stages to flush and lets the Lambda flush exactly those. Runs once, from an Aspect.
   *
   * @internal
   */
  public _wireStages(): void {
    if (this.stagesToFlush) return;
    const apis = new Set(this.authorizers.flatMap((a) => a._protectedApis));
    const stages = this.node.root.node
      .findAll()
      .filter((c): c is apigateway.Stage => c instanceof apigateway.Stage && apis.has(c.restApi));
    this.stagesToFlush = stages;
    for (const api of apis) {
      if (stages.some((s) => s.restApi === api)) continue;
      this.flushProblems.push(
        `AllowlistAdminApi ${this.node.path} cannot flush the authorizer cache of ${api.node.path}: this app defines ` +
          'no Stage of it (an imported API, or deploy: false). Define its Stage in this app, or set ' +
          'flushAuthorizerCaches: false (changes then apply within the propagation delay).',
      );
    }
    if (apis.size === 0) {
      this.flushProblems.push(
        `AllowlistAdminApi ${this.node.path} would flush nothing: its authorizers (${this.authorizers.map((a) => a.node.path).join(', ')}) ` +
          'protect no API. Attach them to an API, or set flushAuthorizerCaches: false.',
      );
    }
    if (stages.length === 0) return;
    this.function.addEnvironment(
      ADMIN_ENV.protectedStages,
      stages
        .map((stage) => `${stage.restApi.restApiId}${STAGE_SEPARATOR}${stage.stageName}`)
        .join(STAGE_LIST_SEPARATOR),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['apigateway:DELETE'],
        resources: stages.map((stage) =>
          Stack.of(this).formatArn({
            service: 'apigateway',
            account: '',
            resource: `/restapis/${stage.restApi.restApiId}/stages/${stage.stageName}/cache/authorizers`,
            arnFormat: ArnFormat.NO_RESOURCE_NAME,
          }),
        ),
      }),
    );
  }

  /** The admin API's base URL (ends with the stage name and a slash). */
  public get url(): string {
    return this.api.url;
  }

  /**
   * Lets `grantee` read one organization's allowlists, API keys (never secrets), audit log and traffic log, and use
   * the check tool and the impact preview: GET on every path of the organization, and POST on its
   * `ip_allowlist/check` and `ip_allowlist/preview` paths (both write nothing). Like every grant of this API, it
   * includes `GET /v1/whoami`, which tells a caller only its own address and principal.
   *
   * @param organizationId the organization; omit it to grant every organization
   */
  public grantRead(grantee: iam.IGrantable, organizationId?: string): iam.Grant {
    const org = this.organizationRef(organizationId);
    const readOnlyPosts = (ref: ResourceRef) =>
      ['check', 'preview'].map((tool) =>
        this.executeApiArn('POST', `${resourceUrlPath(ref, 'ip_allowlist', RAW)}/${tool}`),
      );
    return this.grantInvoke(grantee, [
      this.executeApiArn('GET', `${resourceUrlPath(org, undefined, RAW)}/*`),
      ...readOnlyPosts(org),
      ...readOnlyPosts({ ...org, project: '*' }),
      ...readOnlyPosts({ ...org, project: '*', keyId: '*' }),
    ]);
  }

  /**
   * Lets `grantee` do everything in one organization: read, change allowlists, create and revoke API keys. Like
   * every grant of this API, it includes `GET /v1/whoami` (the caller's own address and principal).
   *
   * @param organizationId the organization; omit it to grant every organization
   */
  public grantWrite(grantee: iam.IGrantable, organizationId?: string): iam.Grant {
    const org = this.organizationRef(organizationId);
    return this.grantInvoke(grantee, [this.executeApiArn('*', `${resourceUrlPath(org, undefined, RAW)}/*`)]);
  }

  /**
   * Change requests (allowlist and API key writes) the admin API answered with success.
   *
   * @default - sum over 5 minutes
   */
  public metricWrites(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(ADMIN_METRIC_NAMES.write, props);
  }

  /**
   * Requests the admin API answered with a server error (5xx: storage unavailable, an unexpected error).
   *
   * @default - sum over 5 minutes
   */
  public metricFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(ADMIN_METRIC_NAMES.failure, props);
  }

  /**
   * One of the admin API's metrics (namespace `CdkIpAllowlist`, dimension `service` = `metricsServiceName`), by name.
   *
   * @default - sum over 5 minutes
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceMetric(this, this.metricsServiceName, metricName, props);
  }

  private organizationRef(organizationId: string | undefined): ResourceRef {
    if (organizationId !== undefined && !Token.isUnresolved(organizationId) && !isValidId(organizationId)) {
      throw new Error(
        `organizationId must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -, got ${JSON.stringify(organizationId)}`,
      );
    }
    return { org: organizationId ?? '*' };
  }

  private executeApiArn(method: string, path: string): string {
    return this.api.arnForExecuteApi(method, path, this.api.deploymentStage.stageName);
  }

  private grantInvoke(grantee: iam.IGrantable, resourceArns: string[]): iam.Grant {
    // whoami is in every grant: it is the first step of "why am I blocked?" (and of `doctor`) for any caller, and
    // it answers only about that caller, so no grant should need a second one to use it.
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [...resourceArns, this.executeApiArn('GET', WHOAMI_PATH)],
    });
    acknowledgeGrantWildcards(
      grantee,
      grant,
      "execute-api:Invoke on this admin API's routes, scoped to one organization when the grant names one; the " +
        'wildcards stand for the HTTP method and for path parameters (project, key and entry ids) that IAM cannot enumerate.',
    );
    return grant;
  }
}

/** Runs `_wireStages` of one admin API once the app is complete. */
class StageDiscovery implements IAspect {
  constructor(private readonly admin: AllowlistAdminApi) {}

  public visit(node: IConstruct): void {
    if (node === this.admin) this.admin._wireStages();
  }
}

/**
 * The longest propagation delay of the authorizers: what a write may take to apply everywhere when a flush
 * fails. Several authorizers with a delay known only at deploy time cannot be compared, so that is refused.
 */
function slowest(authorizers: readonly IpAllowlistAuthorizer[]): Duration {
  if (authorizers.length === 1) return authorizers[0].propagationDelay;
  const unresolved = authorizers.find((a) => a.propagationDelay.isUnresolved());
  if (unresolved) {
    throw new Error(
      `the propagationDelay of ${unresolved.node.path} is a token: with several authorizers the admin API needs each ` +
        'delay as a number, to report the longest',
    );
  }
  return authorizers.map((a) => a.propagationDelay).reduce((a, b) => (b.toSeconds() > a.toSeconds() ? b : a));
}

/** What the admin Lambda is told about the protected API's propagation delay, split as the authorizer splits it. */
function propagationSettings(delay: Duration): {
  totalSeconds: string;
  memoryTtlSeconds: number;
  maxDecisionAgeSeconds: number;
  gatewayTtlSeconds: string;
} {
  if (delay.isUnresolved()) {
    // The authorizer then keeps no in-memory cache (its budget split needs a number) and gives all of P to API
    // Gateway with a 1 s age bound on top: the admin reports that worst case (P + 1 s) when it cannot flush.
    const total = Token.asString(delay.toSeconds());
    return { totalSeconds: total, memoryTtlSeconds: 0, maxDecisionAgeSeconds: 1, gatewayTtlSeconds: total };
  }
  const seconds = delay.toSeconds({ integral: false });
  if (propagationDelayFault(seconds) !== undefined) {
    throw new Error(`propagationDelay must be a whole number of seconds up to 1 hour, got ${delay.toHumanString()}`);
  }
  const split = splitPropagationDelay(seconds);
  return {
    totalSeconds: String(seconds),
    memoryTtlSeconds: split.memoryTtlSeconds,
    maxDecisionAgeSeconds: split.maxDecisionAgeSeconds,
    gatewayTtlSeconds: String(split.gatewayTtlSeconds),
  };
}

const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  errorResponseType: '$context.error.responseType',
  integrationLatency: '$context.integration.latency',
  responseLatency: '$context.responseLatency',
};
