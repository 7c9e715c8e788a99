import { Duration, Stack, ArnFormat, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { defaultErrorResponseTemplate } from './gateway-responses';
import { loggedStageOptions } from './stage-options';
import { ENV } from '../lambda/adapters/schema';
import { DEFAULT_MAX_ENTRIES, MAX_MAX_ENTRIES } from '../lambda/admin/allowlist-ops';
import { ADMIN_ENV } from '../lambda/admin/config';
import { isValidId } from '../lambda/core/model';
import { splitPropagationDelay } from '../lambda/core/propagation';
import { AllowlistTables } from './allowlist-tables';
import { createHandlerFunction } from './handler-function';

/** Properties of `AllowlistAdminApi`. */
export interface AllowlistAdminApiProps {
  /** The tables the admin API manages. Its Lambda gets read and write access to them. */
  readonly tables: AllowlistTables;

  /**
   * The stage of the API that the IP allowlist protects. After every change the admin Lambda flushes that stage's
   * authorizer cache (FlushStageAuthorizersCache), so changes apply in seconds rather than after the cache TTL,
   * and it is allowed to do exactly that (`apigateway:DELETE` on the stage's `cache/authorizers`) and no more.
   *
   * @default - no flush: changes apply within `propagationDelay`, and write responses say `flushed: false`
   */
  readonly protectedStage?: apigateway.IStage;

  /**
   * The protected API's propagation delay (the authorizer's `propagationDelay`). The admin API reports it and
   * needs it to know how long the authorizer's in-memory cache lives. Must equal the authorizer's.
   *
   * @default Duration.minutes(5)
   */
  readonly propagationDelay?: Duration;

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
   * API Gateway execution logging of the admin API. Needs the account's API Gateway CloudWatch role (see
   * `cloudWatchRole`).
   *
   * @default apigateway.MethodLoggingLevel.ERROR
   */
  readonly executionLoggingLevel?: apigateway.MethodLoggingLevel;

  /**
   * Whether to create the account-level role that lets API Gateway write execution logs. There is one per
   * account and Region; turn this off when another construct (such as `IpAllowlistedApi`) already sets it.
   *
   * @default true
   */
  readonly cloudWatchRole?: boolean;

  /**
   * Name of the RestApi.
   *
   * @default - the construct id
   */
  readonly restApiName?: string;
}

const DEFAULT_PROPAGATION_DELAY = Duration.minutes(5);
/** The admin Lambda's timeout: API Gateway's default integration timeout (29 s). */
export const ADMIN_TIMEOUT_SECONDS = 29;
const MAX_PROPAGATION_DELAY_SECONDS = 3600;

/**
 * The admin API of the IP allowlist: a RestApi with AWS_IAM (SigV4) authorization on every method, in front of
 * one Lambda that manages organization, project and API key allowlists, issues and revokes API keys, checks
 * IPs against the lists and serves the audit log. Routes: openapi/admin-api.json in this package.
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

  constructor(scope: Construct, id: string, props: AllowlistAdminApiProps) {
    super(scope, id);
    this.maxEntries = props.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Token.isUnresolved(this.maxEntries) && !(Number.isInteger(this.maxEntries) && this.maxEntries >= 1 && this.maxEntries <= MAX_MAX_ENTRIES)) {
      throw new Error(`maxEntries must be a whole number from 1 to ${MAX_MAX_ENTRIES}, got ${this.maxEntries}`);
    }
    const propagation = propagationSettings(props.propagationDelay ?? DEFAULT_PROPAGATION_DELAY);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    const environment: { [name: string]: string } = {
      [ENV.allowlistsTable]: props.tables.allowlistsTable.tableName,
      [ENV.apiKeysTable]: props.tables.apiKeysTable.tableName,
      [ENV.auditLogTable]: props.tables.auditLogTable.tableName,
      [ADMIN_ENV.maxEntries]: Token.isUnresolved(this.maxEntries) ? Token.asString(this.maxEntries) : String(this.maxEntries),
      [ADMIN_ENV.propagationDelaySeconds]: propagation.totalSeconds,
      [ADMIN_ENV.memoryCacheTtlSeconds]: String(propagation.memoryTtlSeconds),
      POWERTOOLS_SERVICE_NAME: 'cdk-ip-allowlist-admin',
    };
    if (props.protectedStage) {
      environment[ADMIN_ENV.protectedRestApiId] = props.protectedStage.restApi.restApiId;
      environment[ADMIN_ENV.protectedStageName] = props.protectedStage.stageName;
    }

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
    });
    this.function = parts.function;
    this.logGroup = parts.logGroup;
    props.tables.grantReadWrite(this.function);

    if (props.protectedStage) {
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['apigateway:DELETE'],
          resources: [
            Stack.of(this).formatArn({
              service: 'apigateway',
              account: '',
              resource: `/restapis/${props.protectedStage.restApi.restApiId}/stages/${props.protectedStage.stageName}/cache/authorizers`,
              arnFormat: ArnFormat.NO_RESOURCE_NAME,
            }),
          ],
        }),
      );
    }

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention });
    this.api = new apigateway.RestApi(this, 'Resource', {
      restApiName: props.restApiName ?? id,
      description: 'cdk-ip-allowlist admin API: allowlists, API keys, check tool and audit log (AWS_IAM)',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      cloudWatchRole: props.cloudWatchRole ?? true,
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

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'The admin Lambda validates every request strictly (types, unknown fields, sizes, ids) and answers with a ' +
          'JSON error naming the problem; an API Gateway model would duplicate that with worse messages.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason: 'Every method requires SigV4 (AWS_IAM); WAF is an optional extra layer for a user to attach.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'Callers are IAM principals authorized per organization with IAM policies (grantRead/grantWrite), not Cognito users.',
      },
    );
  }

  /** The admin API's base URL (ends with the stage name and a slash). */
  public get url(): string {
    return this.api.url;
  }

  /**
   * Lets `grantee` read one organization's allowlists, API keys (never secrets) and audit log, and use the check
   * tool: GET on every path of the organization, and POST on its `ip_allowlist/check` paths.
   *
   * @param organizationId the organization; omit it to grant every organization
   */
  public grantRead(grantee: iam.IGrantable, organizationId?: string): iam.Grant {
    const org = this.organizationPath(organizationId);
    return this.grantInvoke(grantee, [
      this.executeApiArn('GET', `${org}/*`),
      this.executeApiArn('POST', `${org}/ip_allowlist/check`),
      this.executeApiArn('POST', `${org}/projects/*/ip_allowlist/check`),
      this.executeApiArn('POST', `${org}/projects/*/api_keys/*/ip_allowlist/check`),
    ]);
  }

  /**
   * Lets `grantee` do everything in one organization: read, change allowlists, create and revoke API keys.
   *
   * @param organizationId the organization; omit it to grant every organization
   */
  public grantWrite(grantee: iam.IGrantable, organizationId?: string): iam.Grant {
    return this.grantInvoke(grantee, [this.executeApiArn('*', `${this.organizationPath(organizationId)}/*`)]);
  }

  private organizationPath(organizationId: string | undefined): string {
    if (organizationId !== undefined && !Token.isUnresolved(organizationId) && !isValidId(organizationId)) {
      throw new Error(
        `organizationId must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -, got ${JSON.stringify(organizationId)}`,
      );
    }
    return `/v1/organizations/${organizationId ?? '*'}`;
  }

  private executeApiArn(method: string, path: string): string {
    return this.api.arnForExecuteApi(method, path, this.api.deploymentStage.stageName);
  }

  private grantInvoke(grantee: iam.IGrantable, resourceArns: string[]): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns });
  }
}

/** What the admin Lambda is told about the protected API's propagation delay, split as the authorizer splits it. */
function propagationSettings(delay: Duration): { totalSeconds: string; memoryTtlSeconds: number } {
  if (delay.isUnresolved()) {
    // The authorizer then keeps no in-memory cache (its budget split needs a number): neither do we assume one.
    return { totalSeconds: Token.asString(delay.toSeconds()), memoryTtlSeconds: 0 };
  }
  const seconds = delay.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds > MAX_PROPAGATION_DELAY_SECONDS) {
    throw new Error(`propagationDelay must be a whole number of seconds up to 1 hour, got ${delay.toHumanString()}`);
  }
  return { totalSeconds: String(seconds), memoryTtlSeconds: splitPropagationDelay(seconds).memoryTtlSeconds };
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
