import { Aspects, AspectPriority, Duration, IAspect, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { ENV } from '../lambda/adapters/schema';
import { AUTHORIZER_ENV } from '../lambda/authorizer/config';
import { METRICS_NAMESPACE, METRIC_NAMES } from '../lambda/authorizer/metrics';
import { MAX_DECISION_AGE_SECONDS, splitPropagationDelay } from '../lambda/core/propagation';
import { AllowlistTables } from './allowlist-tables';
import { addGatewayResponsesTo, DEFAULT_API_KEY_HEADER, gatewayResponseDefinitions } from './gateway-responses';
import { createHandlerFunction } from './handler-function';

/** Properties of `IpAllowlistAuthorizer`. */
export interface IpAllowlistAuthorizerProps {
  /**
   * The tables holding allowlists and API keys. The authorizer may only read them.
   *
   * @default - new `AllowlistTables` (id `Tables`) with their defaults
   */
  readonly tables?: AllowlistTables;

  /**
   * How long an allowlist or key change may take to be enforced: the worst case, including both caches and
   * decisions in flight. Most of it is API Gateway's authorizer result cache (keyed by API key and source IP); the
   * rest (1 to 4 seconds) is the decision age bound: the authorizer fails closed rather than return a decision made
   * on data read longer ago than that. Zero disables both caches: every request invokes the Lambda. At most 1 hour,
   * in whole seconds. An unresolved token all goes to API Gateway's cache (the bound is then 1 second more).
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
   * How long the authorizer's logs (one line per denied request, and every failure) are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Memory of the authorizer Lambda, in MiB. Lambda allots CPU in proportion, which shortens cold starts.
   *
   * @default 512
   */
  readonly memorySize?: number;

  /**
   * Timeout of the authorizer Lambda. A timeout is answered with 503 `authorizer_unavailable`, never an Allow.
   * At least 5 seconds: the authorizer gives a table read at most 4 seconds (the decision age bound) before it
   * fails closed on its own (with a log line saying why), and that must happen before Lambda stops the function.
   *
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * The Powertools `service` dimension of the authorizer's CloudWatch metrics. Authorizers that share a name
   * (in one account and Region) share their metrics; give each deployment its own name to tell them apart.
   *
   * @default 'cdk-ip-allowlist-authorizer'
   */
  readonly metricsServiceName?: string;
}

const DEFAULT_PROPAGATION_DELAY = Duration.minutes(5);
const MAX_PROPAGATION_DELAY = Duration.hours(1);
const DEFAULT_METRICS_SERVICE_NAME = 'cdk-ip-allowlist-authorizer';
const DEFAULT_TIMEOUT = Duration.seconds(10);
/** Above the store's read deadline, which is at most the largest decision age bound (lambda/core/propagation.ts). */
const MIN_AUTHORIZER_TIMEOUT = Duration.seconds(MAX_DECISION_AGE_SECONDS + 1);

/** RFC 9110 token characters: what a header name may consist of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A Lambda REQUEST authorizer that lets a request through only when its API key is valid AND the caller's IP
 * (`requestContext.identity.sourceIp`, never a header) is inside the allowlist that applies to the key's project or
 * organization.
 *
 * Use it on a RestApi you already have with `protectRestApi(api)`, or take the ready-made `IpAllowlistedApi`.
 * One authorizer protects one RestApi; for another API create another authorizer with the same `tables`.
 */
export class IpAllowlistAuthorizer extends Construct {
  /** The authorizer Lambda. */
  public readonly function: lambda.Function;
  /** The API Gateway authorizer. Pass it as a method's `authorizer` to protect single methods yourself. */
  public readonly authorizer: apigateway.RequestAuthorizer;
  /** The tables the authorizer reads. */
  public readonly tables: AllowlistTables;
  /** The authorizer Lambda's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The worst-case delay before an allowlist or key change is enforced. */
  public readonly propagationDelay: Duration;
  /** API Gateway's authorizer result cache TTL: the larger part of `propagationDelay`. */
  public readonly resultsCacheTtl: Duration;
  /** The header carrying `Bearer <key>`. */
  public readonly apiKeyHeader: string;

  private readonly identitySources: string[];
  private readonly metricsServiceName: string;
  private readonly protectedApis = new Set<apigateway.RestApi>();

  constructor(scope: Construct, id: string, props: IpAllowlistAuthorizerProps = {}) {
    super(scope, id);
    this.propagationDelay = props.propagationDelay ?? DEFAULT_PROPAGATION_DELAY;
    const budget = propagationBudget(this.propagationDelay);
    this.resultsCacheTtl = budget.gatewayTtl;

    this.apiKeyHeader = props.apiKeyHeader ?? DEFAULT_API_KEY_HEADER;
    if (!Token.isUnresolved(this.apiKeyHeader) && !HEADER_NAME.test(this.apiKeyHeader)) {
      throw new Error(`apiKeyHeader must be an HTTP header name, got ${JSON.stringify(this.apiKeyHeader)}`);
    }
    this.metricsServiceName = props.metricsServiceName ?? DEFAULT_METRICS_SERVICE_NAME;
    const timeout = props.timeout ?? DEFAULT_TIMEOUT;
    if (!timeout.isUnresolved() && timeout.toMilliseconds() < MIN_AUTHORIZER_TIMEOUT.toMilliseconds()) {
      throw new Error(`timeout must be at least ${MIN_AUTHORIZER_TIMEOUT.toHumanString()}, got ${timeout.toHumanString()}`);
    }

    this.tables = props.tables ?? new AllowlistTables(this, 'Tables');

    const environment: { [name: string]: string } = {
      [ENV.allowlistsTable]: this.tables.allowlistsTable.tableName,
      [ENV.apiKeysTable]: this.tables.apiKeysTable.tableName,
      [AUTHORIZER_ENV.apiKeyHeader]: this.apiKeyHeader.toLowerCase(),
      [AUTHORIZER_ENV.memoryCacheTtlSeconds]: String(budget.memoryTtlSeconds),
      [AUTHORIZER_ENV.maxDecisionAgeSeconds]: String(budget.maxDecisionAgeSeconds),
    };
    if (props.metricsServiceName !== undefined) environment.POWERTOOLS_SERVICE_NAME = props.metricsServiceName;

    const parts = createHandlerFunction(this, {
      asset: 'authorizer',
      description: 'cdk-ip-allowlist: API key and caller IP allowlist check (API Gateway REQUEST authorizer)',
      environment,
      memorySize: props.memorySize ?? 512,
      timeout,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    this.function = parts.function;
    this.logGroup = parts.logGroup;
    this.tables.grantRead(this.function);

    // The source IP is part of the cache key: a decision made for one IP is never reused for another.
    this.identitySources = [
      apigateway.IdentitySource.header(this.apiKeyHeader),
      apigateway.IdentitySource.context('identity.sourceIp'),
    ];
    this.authorizer = new apigateway.RequestAuthorizer(this, 'Resource', {
      handler: this.function,
      identitySources: this.identitySources,
      resultsCacheTtl: this.resultsCacheTtl,
    });
  }

  /**
   * Puts `api` behind the IP allowlist, in one call:
   *
   * - every method of `api` that has no authorization of its own (authorization type NONE, the default) uses this
   *   authorizer, including methods added after this call; OPTIONS methods (CORS preflight) stay open, and methods
   *   that already use IAM, Cognito or another authorizer are left as they are;
   * - the gateway responses of `addGatewayResponses` are added;
   * - the API's deployment is replaced whenever the authorizer's cache TTL, identity sources or the gateway
   *   responses change, so such a change reaches the stage on the next deploy.
   *
   * An authorizer protects one RestApi; calling this again for the same API does nothing.
   */
  public protectRestApi(api: apigateway.RestApi): void {
    if (this.protectedApis.has(api)) return;
    this.protectedApis.add(api);

    this.authorizer._attachToApi(api);
    this.addGatewayResponses(api);
    Aspects.of(api).add(new UseAuthorizerAspect(api, this.authorizer), { priority: AspectPriority.MUTATING });

    const deployment = api.latestDeployment;
    if (deployment) {
      deployment.node.addDependency(this.authorizer);
      deployment.addToLogicalId({
        ipAllowlistAuthorizer: {
          resultsCacheTtlSeconds: this.resultsCacheTtl.toSeconds(),
          identitySources: this.identitySources,
          gatewayResponses: gatewayResponseDefinitions(this.apiKeyHeader),
        },
      });
    }

    // A custom authorizer instead of Cognito is the point of this construct.
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers authenticate with an API key checked by the IP allowlist Lambda REQUEST authorizer (key valid AND ' +
        'source IP allowed); a Cognito user pool authorizer cannot express that check.',
    });
  }

  /**
   * Adds to `api` the gateway responses that turn the authorizer's outcomes into JSON errors: 401
   * `missing_api_key` (no key header), 401 with the authorizer's error (IP not allowed, unknown or revoked key),
   * 503 `authorizer_unavailable` (the authorizer failed: the request is refused), and DEFAULT_4XX/DEFAULT_5XX in the
   * same shape. `protectRestApi` calls this; call it alone when you attach `authorizer` to methods yourself.
   */
  public addGatewayResponses(api: apigateway.RestApi): void {
    addGatewayResponsesTo(api, gatewayResponseDefinitions(this.apiKeyHeader));
  }

  /**
   * Requests the authorizer refused because the caller's IP is not in the allowlist that applies.
   * Counted by every authorizer with the same `metricsServiceName` in the account and Region.
   *
   * @default - sum over 5 minutes
   */
  public metricBlockedRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.blocked, props);
  }

  /**
   * Requests the authorizer refused for an unknown or revoked key.
   *
   * @default - sum over 5 minutes
   */
  public metricInvalidKeyRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.invalidKey, props);
  }

  /**
   * Decisions that failed because the tables could not be read (answered with 503, never an Allow).
   *
   * @default - sum over 5 minutes
   */
  public metricStoreErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.storeError, props);
  }

  private metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.metricsServiceName },
      statistic: cloudwatch.Stats.SUM,
      ...props,
    });
  }
}

/** Splits a validated propagation delay into API Gateway's TTL, the Lambda's in-memory TTL and the age bound. */
function propagationBudget(delay: Duration): { gatewayTtl: Duration; memoryTtlSeconds: number; maxDecisionAgeSeconds: number } {
  if (delay.isUnresolved()) {
    // Unknown until deployment (CloudFormation cannot subtract): all of it goes to API Gateway, the in-memory cache
    // is off and the age bound is the smallest, so the worst case is the delay plus 1 s.
    return { gatewayTtl: delay, memoryTtlSeconds: 0, maxDecisionAgeSeconds: 1 };
  }
  const seconds = delay.toSeconds({ integral: false });
  if (seconds > MAX_PROPAGATION_DELAY.toSeconds()) {
    throw new Error(`propagationDelay must be at most 1 hour, got ${delay.toHumanString()}`);
  }
  if (!Number.isInteger(seconds)) {
    throw new Error(`propagationDelay must be a whole number of seconds, got ${delay.toHumanString()}`);
  }
  const budget = splitPropagationDelay(seconds);
  return {
    gatewayTtl: Duration.seconds(budget.gatewayTtlSeconds),
    memoryTtlSeconds: budget.memoryTtlSeconds,
    maxDecisionAgeSeconds: budget.maxDecisionAgeSeconds,
  };
}

/** Gives every unauthorized, non-OPTIONS method of one RestApi the authorizer, at synth time. */
class UseAuthorizerAspect implements IAspect {
  constructor(
    private readonly api: apigateway.RestApi,
    private readonly authorizer: apigateway.RequestAuthorizer,
  ) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof apigateway.Method) || node.api !== this.api) return;
    if (node.httpMethod === 'OPTIONS') return;
    const cfn = node.node.defaultChild as apigateway.CfnMethod;
    if (cfn.authorizationType !== undefined && cfn.authorizationType !== apigateway.AuthorizationType.NONE) return;
    cfn.authorizationType = apigateway.AuthorizationType.CUSTOM;
    cfn.authorizerId = this.authorizer.authorizerId;
  }
}
