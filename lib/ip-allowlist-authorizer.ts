import {
  Aspects,
  AspectPriority,
  Duration,
  Fn,
  IAspect,
  IPropertyInjector,
  InjectionContext,
  Lazy,
  Names,
  PropertyInjectors,
  RemovalPolicy,
  Stack,
  Token,
} from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { AllowlistTables } from './allowlist-tables';
import {
  AUTHORIZER_ENV,
  AUTHORIZER_METRIC_NAMES,
  DEFAULT_API_KEY_HEADER,
  DEFAULT_PROPAGATION_DELAY_SECONDS,
  ENV,
  MAX_DECISION_AGE_SECONDS,
  METRICS_SERVICE_ENV,
  propagationDelayFault,
  splitPropagationDelay,
} from './contract';
import { grantAuthorizerTableAccess } from './table-access';
import { addGatewayResponsesTo, gatewayResponseDefinitions } from './gateway-responses';
import type { IAllowlistTables } from './allowlist-tables';
import { createHandlerFunction } from './handler-function';
import { instanceMetric, metricsServiceName } from './instance';
import { acknowledgeNagRules } from './nag';

/** Properties of `IpAllowlistAuthorizer`. */
export interface IpAllowlistAuthorizerProps {
  /**
   * The tables holding allowlists and API keys. The authorizer may only read them.
   *
   * @default - new `AllowlistTables` (id `Tables`) with their defaults
   */
  readonly tables?: IAllowlistTables;

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
   * The `service` dimension of the authorizer's CloudWatch metrics, passed to the authorizer Lambda's Powertools
   * Metrics (and Logger). Authorizers that share a name (in one account and Region) count into the same metrics.
   * 1 to 1024 characters.
   *
   * @default - the stack name and the construct's path in the stack, e.g. `MyStack/Api/Authorizer`: distinct for
   * every authorizer of the account and Region
   */
  readonly metricsServiceName?: string;

  /**
   * What happens to the authorizer Lambda's log group when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;

  /**
   * Extra headers on every gateway response this authorizer adds to an API (the 401s, the 503s, DEFAULT_4XX and
   * DEFAULT_5XX), written as `addGatewayResponse` takes them: API Gateway mapping expressions, a fixed value in
   * single quotes (`"'https://app.example.com'"`) or a request value (`'method.request.header.Origin'`).
   * A browser reads a 401 `ip_not_authorized` body only when it carries `Access-Control-Allow-Origin`, so a
   * CORS-enabled API sets that here. `Content-Type` is always `application/json` and cannot be replaced.
   *
   * @default - only `Content-Type: application/json`
   */
  readonly gatewayResponseHeaders?: { [name: string]: string };
}

/** Options of `IpAllowlistAuthorizer.protectRestApi`. */
export interface ProtectRestApiOptions {
  /**
   * Resource paths whose methods stay public, e.g. `/health`. A path ending in `/*` covers everything below it
   * (`/public/*`). A method added with `authorizationType: AuthorizationType.NONE` after `protectRestApi` stays
   * public without being listed here; one added before cannot be told apart from a method that merely has no
   * authorization yet, so list it here.
   *
   * @default - no path is excluded
   */
  readonly excludePaths?: string[];
}

const DEFAULT_PROPAGATION_DELAY = Duration.seconds(DEFAULT_PROPAGATION_DELAY_SECONDS);
const DEFAULT_TIMEOUT = Duration.seconds(10);
/** Above the store's read deadline, which is at most the largest decision age bound (lib/contract.ts). */
const MIN_AUTHORIZER_TIMEOUT = Duration.seconds(MAX_DECISION_AGE_SECONDS + 1);

/** RFC 9110 token characters: what a header name may consist of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * `gatewayResponseHeaders`, checked: header names, mapping expressions API Gateway accepts (a quoted literal or
 * a `method.request.*`, `stageVariables.*` or `context.*` value), and no Content-Type (the bodies are JSON, always).
 */
function validResponseHeaders(headers: { [name: string]: string }): { [name: string]: string } {
  for (const [name, value] of Object.entries(headers)) {
    if (Token.isUnresolved(name) || Token.isUnresolved(value)) continue;
    if (!HEADER_NAME.test(name)) {
      throw new Error(`gatewayResponseHeaders: ${JSON.stringify(name)} is not an HTTP header name`);
    }
    if (name.toLowerCase() === 'content-type') {
      throw new Error(
        'gatewayResponseHeaders cannot set Content-Type: the gateway responses are always application/json',
      );
    }
    if (
      !/^'[^']*'$/.test(value) &&
      !/^(method\.request\.(header|multivalueheader|querystring|multivaluequerystring|path)|stageVariables|context)\.\S+$/.test(
        value,
      )
    ) {
      throw new Error(
        `gatewayResponseHeaders.${name} must be a mapping expression: a value in single quotes ("'https://app.example.com'") ` +
          `or a request value ('method.request.header.Origin'), got ${JSON.stringify(value)}`,
      );
    }
  }
  return { ...headers };
}

/**
 * A Lambda REQUEST authorizer that lets a request through only when its API key is valid AND the caller's IP
 * (`requestContext.identity.sourceIp`, never a header) is inside the allowlist that applies to the key's project or
 * organization.
 *
 * It is an `apigateway.IAuthorizer`, like aws-cdk-lib's `RequestAuthorizer`: pass it as a method's `authorizer`
 * or as a RestApi's `defaultMethodOptions.authorizer`. Or put a whole existing RestApi behind it with
 * `protectRestApi(api)`, or take the ready-made `IpAllowlistedApi`. However it is attached, each API it protects
 * gets the authorizer's JSON gateway responses, and its deployment is replaced when they change.
 *
 * One authorizer (one Lambda) may protect several APIs: each gets its own API Gateway authorizer resource.
 */
export class IpAllowlistAuthorizer extends apigateway.Authorizer {
  /** The authorizer Lambda. */
  public readonly function: lambda.Function;
  /** The tables the authorizer reads. */
  public readonly tables: IAllowlistTables;
  /** The authorizer Lambda's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The worst-case delay before an allowlist or key change is enforced. */
  public readonly propagationDelay: Duration;
  /** API Gateway's authorizer result cache TTL: the larger part of `propagationDelay`. */
  public readonly resultsCacheTtl: Duration;
  /** The header carrying `Bearer <key>`. */
  public readonly apiKeyHeader: string;

  /** The `service` dimension of this authorizer's metrics. */
  public readonly metricsServiceName: string;

  private readonly identitySources: string[];
  private readonly gatewayResponseHeaders: { [name: string]: string };
  /** Every API this authorizer is attached to, with its API Gateway authorizer, in the order of attachment. */
  private readonly attachments = new Map<apigateway.IRestApi, apigateway.CfnAuthorizer>();
  private readonly protectedApis = new Set<apigateway.IRestApi>();
  /** authorizerId tokens handed out and not yet bound to an API (see `authorizerId`). */
  private unboundIds: IdBinding[] = [];
  /** APIs protected through their OpenAPI definition (no authorizer resource of ours). */
  private readonly openApiAttachments = new Set<apigateway.IRestApi>();

  constructor(scope: Construct, id: string, props: IpAllowlistAuthorizerProps = {}) {
    super(scope, id);
    this.propagationDelay = props.propagationDelay ?? DEFAULT_PROPAGATION_DELAY;
    const budget = propagationBudget(this.propagationDelay);
    this.resultsCacheTtl = budget.gatewayTtl;

    this.apiKeyHeader = props.apiKeyHeader ?? DEFAULT_API_KEY_HEADER;
    if (!Token.isUnresolved(this.apiKeyHeader) && !HEADER_NAME.test(this.apiKeyHeader)) {
      throw new Error(`apiKeyHeader must be an HTTP header name, got ${JSON.stringify(this.apiKeyHeader)}`);
    }
    this.gatewayResponseHeaders = validResponseHeaders(props.gatewayResponseHeaders ?? {});
    this.metricsServiceName = metricsServiceName(this, props.metricsServiceName, 'metricsServiceName');
    const timeout = props.timeout ?? DEFAULT_TIMEOUT;
    if (!timeout.isUnresolved() && timeout.toMilliseconds() < MIN_AUTHORIZER_TIMEOUT.toMilliseconds()) {
      throw new Error(
        `timeout must be at least ${MIN_AUTHORIZER_TIMEOUT.toHumanString()}, got ${timeout.toHumanString()}`,
      );
    }

    this.tables = props.tables ?? new AllowlistTables(this, 'Tables');

    const environment: { [name: string]: string } = {
      [ENV.allowlistsTable]: this.tables.allowlistsTable.tableName,
      [ENV.apiKeysTable]: this.tables.apiKeysTable.tableName,
      [AUTHORIZER_ENV.apiKeyHeader]: this.apiKeyHeader.toLowerCase(),
      [AUTHORIZER_ENV.memoryCacheTtlSeconds]: String(budget.memoryTtlSeconds),
      [AUTHORIZER_ENV.maxDecisionAgeSeconds]: String(budget.maxDecisionAgeSeconds),
      [METRICS_SERVICE_ENV]: this.metricsServiceName,
    };

    const parts = createHandlerFunction(this, {
      asset: 'authorizer',
      description: 'cdk-ip-allowlist: API key and caller IP allowlist check (API Gateway REQUEST authorizer)',
      environment,
      memorySize: props.memorySize ?? 512,
      timeout,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    this.function = parts.function;
    this.logGroup = parts.logGroup;
    grantAuthorizerTableAccess(this.tables, this.function);

    // The source IP is part of the cache key: a decision made for one IP is never reused for another.
    this.identitySources = [
      apigateway.IdentitySource.header(this.apiKeyHeader),
      apigateway.IdentitySource.context('identity.sourceIp'),
    ];
    this.node.addValidation({
      validate: () =>
        this._protectedApis.length > 0
          ? []
          : [
              `IpAllowlistAuthorizer ${this.node.path} protects no API. Pass it as a method's authorizer ` +
                "(resource.addMethod('GET', integration, { authorizer })), as a RestApi's " +
                'defaultMethodOptions: { authorizer }, or call protectRestApi(api); for a SpecRestApi, see ' +
                'openApiSecurityScheme() and protectOpenApiRestApi(api).',
            ],
    });
  }

  /**
   * The id of the API Gateway authorizer, as aws-cdk-lib's `Method` reads it. One authorizer may protect several
   * APIs, each with its own API Gateway authorizer, so every read returns a new token, bound to the API of the
   * method that read it (a `Method` reads it, then attaches the authorizer to its API). A token read by anything
   * else resolves to the only API the authorizer is attached to; with several, use `authorizerIdFor(api)`.
   */
  public get authorizerId(): string {
    const binding: IdBinding = {};
    this.unboundIds.push(binding);
    return Lazy.string({ produce: () => this.resolveAuthorizerId(binding) });
  }

  /** Every API this authorizer is attached to, in the order they were attached. */
  public get restApis(): apigateway.IRestApi[] {
    return [...this.attachments.keys()];
  }

  /**
   * The id of this authorizer's API Gateway authorizer on `api`, for CloudFormation resources written by hand
   * (`CfnMethod`). `api` must be one the authorizer is attached to.
   */
  public authorizerIdFor(api: apigateway.IRestApi): string {
    const cfn = this.attachments.get(api);
    if (!cfn) {
      throw new Error(
        `IpAllowlistAuthorizer ${this.node.path} is not attached to ${api.node.path}: use it in a method of that ` +
          'API (or call protectRestApi) first',
      );
    }
    return cfn.ref;
  }

  /**
   * Called by aws-cdk-lib's `Method` whenever a method uses this authorizer (the `IAuthorizer` contract): creates
   * the API Gateway authorizer for `restApi` on first use, lets API Gateway invoke the Lambda for it, adds the
   * gateway responses, and folds the authorizer's settings into the API's deployment.
   *
   * @internal
   */
  public _attachToApi(restApi: apigateway.IRestApi): void {
    for (const binding of this.unboundIds) binding.api = restApi;
    this.unboundIds = [];
    if (this.attachments.has(restApi)) return;
    if (!(restApi instanceof apigateway.RestApiBase)) {
      throw new Error(
        `IpAllowlistAuthorizer ${this.node.path} cannot add its gateway responses to ${restApi.node.path}: only ` +
          "aws-cdk-lib's RestApi, SpecRestApi and imported RestApis are supported",
      );
    }
    // The first API keeps the ids aws-cdk-lib's RequestAuthorizer gave it (`Resource`), so the logical ids of
    // a stack that used it are unchanged; each further API gets ids derived from its own path.
    const holder =
      this.attachments.size === 0
        ? new Construct(this, 'Resource')
        : new Construct(this, `For${Names.uniqueId(restApi)}`);
    const cfn = new apigateway.CfnAuthorizer(holder, 'Resource', {
      name: Names.uniqueId(holder),
      restApiId: restApi.restApiId,
      type: 'REQUEST',
      authorizerUri: this.invocationUri(),
      authorizerResultTtlInSeconds: this.resultsCacheTtl.toSeconds(),
      identitySource: this.identitySources.join(','),
    });
    this.attachments.set(restApi, cfn);

    this.function.addPermission(`${Names.uniqueId(holder)}:Permissions`, {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: Stack.of(this).formatArn({
        service: 'execute-api',
        resource: restApi.restApiId,
        resourceName: `authorizers/${cfn.ref}`,
      }),
    });
    this.addGatewayResponses(restApi);

    const deployment = restApi.latestDeployment;
    if (deployment) {
      deployment.node.addDependency(cfn);
      deployment.addToLogicalId({
        ipAllowlistAuthorizer: {
          resultsCacheTtlSeconds: this.resultsCacheTtl.toSeconds(),
          identitySources: this.identitySources,
          gatewayResponses: this.gatewayResponseDefinitions(),
        },
      });
    }

    // A custom authorizer instead of Cognito is the point of this construct. On the API's resource tree, where
    // its methods are (those added later too).
    acknowledgeNagRules(restApi.root, {
      id: 'AwsSolutions-COG4',
      reason:
        'Callers authenticate with an API key checked by the IP allowlist Lambda REQUEST authorizer (key valid AND ' +
        'source IP allowed); a Cognito user pool authorizer cannot express that check.',
    });
  }

  /**
   * Puts every method of a RestApi you already have behind the IP allowlist, in one call (an Aspect, at synth
   * time). Every method whose authorization type is NONE, including methods added after this call, uses this
   * authorizer, except:
   *
   * - methods added after this call with `authorizationType: AuthorizationType.NONE` (you said they are public);
   * - methods under `options.excludePaths`;
   * - OPTIONS methods (CORS preflight);
   * - methods that use IAM, Cognito or another authorizer.
   *
   * The set of protected methods is folded into the deployment's logical id, so a change reaches the stage on the
   * next deploy. Calling it again for the same API does nothing. A SpecRestApi or an imported API cannot be
   * changed this way (its methods are not constructs of this app); the error says what to do instead.
   */
  public protectRestApi(api: apigateway.IRestApi, options: ProtectRestApiOptions = {}): void {
    if (!(api instanceof apigateway.RestApi)) {
      throw new Error(
        `protectRestApi cannot change the methods of ${api.node.path}: they are not defined by constructs of this ` +
          'app (a SpecRestApi, or an imported API). Add the authorizer to its OpenAPI definition instead: put ' +
          'allowlist.openApiSecurityScheme() under components.securitySchemes (securityDefinitions in Swagger 2.0) as ' +
          '"ipAllowlist", add security: [{ ipAllowlist: [] }] to every operation, then call ' +
          'allowlist.protectOpenApiRestApi(api).',
      );
    }
    if (this.protectedApis.has(api)) return;
    this.protectedApis.add(api);
    const excluded = (options.excludePaths ?? []).map(parseExcludedPath);

    this._attachToApi(api);
    const explicitlyPublic = new Set<string>();
    const injectors = PropertyInjectors.of(api);
    injectors.add(
      new ExplicitAuthorizationRecorder(
        explicitlyPublic,
        injectors.for(METHOD_INJECTION_ID) ?? outerMethodInjector(api),
      ),
    );
    Aspects.of(api).add(new UseAuthorizerAspect(api, this, excluded, explicitlyPublic), {
      priority: AspectPriority.MUTATING,
    });
  }

  /**
   * The OpenAPI security scheme that declares this authorizer (`x-amazon-apigateway-authorizer`), for a
   * `SpecRestApi` whose definition is written inline (`ApiDefinition.fromInline`): put it under
   * `components.securitySchemes` (or `securityDefinitions` in Swagger 2.0) and reference it in `security`. It
   * carries the same identity sources and cache TTL as the authorizer `addMethod` would create. Then call
   * `protectOpenApiRestApi(api)`.
   */
  public openApiSecurityScheme(): { [key: string]: unknown } {
    return {
      type: 'apiKey',
      name: this.apiKeyHeader,
      in: 'header',
      'x-amazon-apigateway-authtype': 'custom',
      'x-amazon-apigateway-authorizer': {
        type: 'request',
        identitySource: this.identitySources.join(', '),
        authorizerUri: this.invocationUri(),
        authorizerResultTtlInSeconds: this.resultsCacheTtl.toSeconds(),
      },
    };
  }

  /**
   * Completes the protection of an API whose OpenAPI definition declares `openApiSecurityScheme()`: lets API
   * Gateway invoke the authorizer Lambda for it, adds the gateway responses, and registers its stages for the
   * admin API's cache flush. It cannot check that every operation of the definition references the scheme.
   */
  public protectOpenApiRestApi(api: apigateway.IRestApi): void {
    if (this.attachments.has(api) || this.openApiAttachments.has(api)) return;
    if (!(api instanceof apigateway.RestApiBase)) {
      throw new Error(
        `protectOpenApiRestApi supports aws-cdk-lib's RestApi, SpecRestApi and imported RestApis, got ${api.node.path}`,
      );
    }
    const holder = new Construct(this, `OpenApi${Names.uniqueId(api)}`);
    this.function.addPermission(`${Names.uniqueId(holder)}:Permissions`, {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: Stack.of(this).formatArn({
        service: 'execute-api',
        resource: api.restApiId,
        resourceName: 'authorizers/*',
      }),
    });
    this.addGatewayResponses(api);
    this.openApiAttachments.add(api);
    const deployment = api.latestDeployment;
    if (deployment) deployment.addToLogicalId({ ipAllowlistGatewayResponses: this.gatewayResponseDefinitions() });
  }

  /**
   * Every API whose requests this authorizer decides, however it was attached: the admin API flushes their
   * stages' authorizer caches.
   *
   * @internal
   */
  public get _protectedApis(): apigateway.IRestApi[] {
    return [...this.attachments.keys(), ...this.openApiAttachments];
  }

  /**
   * Adds to `api` the gateway responses that turn the authorizer's outcomes into JSON errors: 401
   * `missing_api_key` (no key header), 401 with the authorizer's error (IP not allowed, unknown or revoked key),
   * 503 `authorizer_unavailable` (the authorizer failed: the request is refused), and DEFAULT_4XX/DEFAULT_5XX in the
   * same shape, each with `gatewayResponseHeaders`. Attaching the authorizer to an API does this already.
   */
  public addGatewayResponses(api: apigateway.IRestApi): void {
    if (!(api instanceof apigateway.RestApiBase)) {
      throw new Error(
        `addGatewayResponses supports aws-cdk-lib's RestApi, SpecRestApi and imported RestApis, got ${api.node.path}`,
      );
    }
    addGatewayResponsesTo(api, this.gatewayResponseDefinitions());
  }

  /** The gateway responses this authorizer adds, with `gatewayResponseHeaders` (values as mapping expressions). */
  private gatewayResponseDefinitions() {
    return gatewayResponseDefinitions(this.apiKeyHeader, this.gatewayResponseHeaders);
  }

  private invocationUri(): string {
    // What aws-cdk-lib's lambda authorizers render: the Lambda invocation URI in the function's own partition and Region.
    const arn = this.function.functionArn;
    const part = (i: number) => Token.asString(Fn.select(i, Fn.split(':', arn)));
    return `arn:${part(1)}:apigateway:${part(3)}:lambda:path/2015-03-31/functions/${arn}/invocations`;
  }

  private resolveAuthorizerId(binding: IdBinding): string {
    const attached = [...this.attachments.values()];
    if (attached.length === 0) {
      throw new Error(
        `IpAllowlistAuthorizer ${this.node.path}: its authorizerId is used, but it is attached to no RestApi. Pass ` +
          "it as a method's authorizer (addMethod(..., { authorizer })) or as defaultMethodOptions.authorizer, or " +
          'call protectRestApi(api)',
      );
    }
    if (binding.api) return this.authorizerIdFor(binding.api);
    if (attached.length === 1) return attached[0].ref;
    throw new Error(
      `IpAllowlistAuthorizer ${this.node.path} is attached to ${attached.length} APIs, so a bare authorizerId is ` +
        'ambiguous: use authorizerIdFor(api)',
    );
  }

  /**
   * Requests the authorizer allowed: valid key, caller's IP inside the allowlist that applies (or no list enabled),
   * and no report-only list that would block it (those count in `WouldBlockRequests`).
   * Like every authorizer metric, it counts decisions the Lambda made: API Gateway answers repeated requests from
   * its cache without invoking the authorizer.
   *
   * @default - sum over 5 minutes
   */
  public metricAllowedRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(AUTHORIZER_METRIC_NAMES.allowed, props);
  }

  /**
   * Requests the authorizer allowed that a report-only allowlist would have blocked (`would_block`): the shadow
   * decision, with report-only lists enforced, refuses what the decision on the enforced lists allows. Not counted
   * in `AllowedRequests`: each decision has one outcome. Each one also writes a log line with the scope that would
   * block it.
   *
   * @default - sum over 5 minutes
   */
  public metricWouldBlockRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(AUTHORIZER_METRIC_NAMES.wouldBlock, props);
  }

  /**
   * Requests the authorizer refused because the caller's IP is not in the allowlist that applies.
   *
   * @default - sum over 5 minutes
   */
  public metricBlockedRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(AUTHORIZER_METRIC_NAMES.blocked, props);
  }

  /**
   * Requests the authorizer refused for an unknown, malformed or revoked key.
   *
   * @default - sum over 5 minutes
   */
  public metricInvalidKeyRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(AUTHORIZER_METRIC_NAMES.invalidKey, props);
  }

  /**
   * Requests that reached the authorizer without a usable `Bearer` key in the key header. A request without the
   * header at all is answered by API Gateway itself (401 `missing_api_key`) and never reaches the authorizer.
   *
   * @default - sum over 5 minutes
   */
  public metricMissingKeyRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(AUTHORIZER_METRIC_NAMES.missingKey, props);
  }

  /**
   * Decisions that failed because the tables could not be read (answered with 503, never an Allow).
   *
   * @default - sum over 5 minutes
   */
  public metricStoreErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(AUTHORIZER_METRIC_NAMES.storeError, props);
  }

  /**
   * DynamoDB reads the authorizer made (one per decision that missed its in-memory cache).
   *
   * @default - sum over 5 minutes
   */
  public metricStoreReads(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(AUTHORIZER_METRIC_NAMES.storeReads, props);
  }

  /**
   * Sightings the authorizer could not record in the Traffic table: a failed write, or one still unanswered when
   * its time bound ran out. Recording never changes or fails a decision; this metric is how a lost sighting shows.
   *
   * @default - sum over 5 minutes
   */
  public metricTrafficWriteErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(AUTHORIZER_METRIC_NAMES.trafficWriteErrors, props);
  }

  /**
   * One of the authorizer's metrics (namespace `CdkIpAllowlist`, dimension `service` = `metricsServiceName`), by name.
   *
   * @default - sum over 5 minutes
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceMetric(this, this.metricsServiceName, metricName, props);
  }
}

/** Splits a validated propagation delay into API Gateway's TTL, the Lambda's in-memory TTL and the age bound. */
function propagationBudget(delay: Duration): {
  gatewayTtl: Duration;
  memoryTtlSeconds: number;
  maxDecisionAgeSeconds: number;
} {
  if (delay.isUnresolved()) {
    // Unknown until deployment (CloudFormation cannot subtract): all of it goes to API Gateway, the in-memory cache
    // is off and the age bound is the smallest, so the worst case is the delay plus 1 s.
    return { gatewayTtl: delay, memoryTtlSeconds: 0, maxDecisionAgeSeconds: 1 };
  }
  const seconds = delay.toSeconds({ integral: false });
  switch (propagationDelayFault(seconds)) {
    case 'out of range':
      throw new Error(`propagationDelay must be at most 1 hour, got ${delay.toHumanString()}`);
    case 'not whole seconds':
      throw new Error(`propagationDelay must be a whole number of seconds, got ${delay.toHumanString()}`);
  }
  const budget = splitPropagationDelay(seconds);
  return {
    gatewayTtl: Duration.seconds(budget.gatewayTtlSeconds),
    memoryTtlSeconds: budget.memoryTtlSeconds,
    maxDecisionAgeSeconds: budget.maxDecisionAgeSeconds,
  };
}

/** An authorizerId token, and the API it was read for once known. */
interface IdBinding {
  api?: apigateway.IRestApi;
}

const METHOD_INJECTION_ID = apigateway.Method.PROPERTY_INJECTION_ID;

/** The nearest Method property injector above `api`, which ours must keep applying. */
function outerMethodInjector(api: IConstruct): IPropertyInjector | undefined {
  for (const scope of [...api.node.scopes].reverse().slice(1)) {
    if (!PropertyInjectors.hasPropertyInjectors(scope)) continue;
    const injector = PropertyInjectors.of(scope).for(METHOD_INJECTION_ID);
    if (injector) return injector;
  }
  return undefined;
}

/**
 * Remembers which methods of one API were created with an explicit `authorizationType: NONE` (or an authorizer
 * whose type is NONE, as CORS preflight methods are): a Method keeps no trace of its options, and its CfnMethod
 * says NONE whether the user said so or said nothing.
 */
class ExplicitAuthorizationRecorder implements IPropertyInjector {
  public readonly constructUniqueId = METHOD_INJECTION_ID;

  constructor(
    private readonly explicitlyPublic: Set<string>,
    private readonly outer: IPropertyInjector | undefined,
  ) {}

  public inject(originalProps: apigateway.MethodProps, context: InjectionContext): apigateway.MethodProps {
    // An injector returns the props it was given, changed: IPropertyInjector types them as `any` only because it
    // serves every construct type.
    const injected: unknown = this.outer ? this.outer.inject(originalProps, context) : originalProps;
    const props = injected as apigateway.MethodProps;
    const options = props.options ?? {};
    const none = apigateway.AuthorizationType.NONE;
    if (options.authorizer ? options.authorizer.authorizationType === none : options.authorizationType === none) {
      this.explicitlyPublic.add(`${context.scope.node.path}/${context.id}`);
    }
    return props;
  }
}

/** A resource path, or a subtree when it ends in `/*`. */
interface ExcludedPath {
  readonly path: string;
  readonly subtree: boolean;
}

function parseExcludedPath(value: string): ExcludedPath {
  if (!/^\/[^\s]*$/.test(value)) {
    throw new Error(`excludePaths entries must be resource paths starting with "/", got ${JSON.stringify(value)}`);
  }
  return value.endsWith('/*') ? { path: value.slice(0, -2) || '/', subtree: true } : { path: value, subtree: false };
}

function isExcluded(resourcePath: string, excluded: readonly ExcludedPath[]): boolean {
  return excluded.some(
    (e) => resourcePath === e.path || (e.subtree && (e.path === '/' || resourcePath.startsWith(e.path + '/'))),
  );
}

/** Gives every unauthorized, non-public method of one RestApi the authorizer, at synth time. */
class UseAuthorizerAspect implements IAspect {
  constructor(
    private readonly api: apigateway.RestApi,
    private readonly authorizer: IpAllowlistAuthorizer,
    private readonly excluded: readonly ExcludedPath[],
    private readonly explicitlyPublic: ReadonlySet<string>,
  ) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof apigateway.Method) || node.api !== this.api) return;
    if (node.httpMethod === 'OPTIONS') return;
    if (this.explicitlyPublic.has(node.node.path) || isExcluded(node.resource.path, this.excluded)) return;
    const cfn = node.node.defaultChild as apigateway.CfnMethod;
    if (cfn.authorizationType !== undefined && cfn.authorizationType !== String(apigateway.AuthorizationType.NONE))
      return;
    cfn.authorizationType = apigateway.AuthorizationType.CUSTOM;
    cfn.authorizerId = this.authorizer.authorizerIdFor(this.api);
    // The method's own contribution to the deployment's logical id was computed with NONE.
    this.api.latestDeployment?.addToLogicalId({
      ipAllowlistProtectedMethod: `${node.httpMethod} ${node.resource.path}`,
    });
  }
}
