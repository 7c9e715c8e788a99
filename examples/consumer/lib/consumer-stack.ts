import { Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AllowlistAdminApi, IpAllowlistAuthorizer, IpAllowlistedApi, Upstream } from 'cdk-ip-allowlist';
import { Construct } from 'constructs';

/**
 * A consumer's stack with two IP allowlists in it:
 *
 * 1. `Orders`, a RestApi the consumer already had, protected by an `IpAllowlistAuthorizer` given as its default
 *    authorizer, with a public `/health`, and an admin API built from that authorizer;
 * 2. `Partners`, a ready `IpAllowlistedApi` in front of another HTTP service, with its own authorizer, tables and
 *    admin API.
 *
 * Each gets an alarm on its authorizer's store errors: each instance publishes under its own metric dimension.
 */
export class ConsumerStack extends Stack {
  public readonly allowlist: IpAllowlistAuthorizer;
  public readonly ordersApi: apigateway.RestApi;
  public readonly admin: AllowlistAdminApi;
  public readonly partners: IpAllowlistedApi;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // The second instance first, only because the Orders API below reuses the account-level logging role it sets.
    this.partners = new IpAllowlistedApi(this, 'Partners', {
      upstream: Upstream.http('https://partners.internal.example.com'),
      propagationDelay: Duration.minutes(2),
    });

    this.allowlist = new IpAllowlistAuthorizer(this, 'Allowlist', { propagationDelay: Duration.minutes(1) });

    const accessLogs = new logs.LogGroup(this, 'OrdersAccessLogs', { retention: logs.RetentionDays.ONE_YEAR });
    this.ordersApi = new apigateway.RestApi(this, 'Orders', {
      // Every method uses the IP allowlist unless it says otherwise.
      defaultMethodOptions: { authorizer: this.allowlist },
      // API Gateway has one logging role per account and Region: the IpAllowlistedApi above already sets it in this
      // stack, so this API does not create a second one (its stage waits for that setting, below).
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'prod',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        tracingEnabled: true,
      },
    });
    this.ordersApi.deploymentStage.node.addDependency(this.partners.api.deploymentStage);
    const validator = this.ordersApi.addRequestValidator('Validator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const backend = (path: string, method: string) =>
      new apigateway.HttpIntegration(`https://orders.internal.example.com${path}`, { httpMethod: method, proxy: true });

    const orders = this.ordersApi.root.addResource('orders');
    orders.addMethod('GET', backend('/orders', 'GET'), { requestValidator: validator }); // protected (the default)
    orders.addMethod('POST', backend('/orders', 'POST'), { requestValidator: validator }); // protected (the default)

    // Public by choice: a load balancer's or uptime checker's probe, answered by API Gateway itself.
    const health = this.ordersApi.root.addResource('health');
    const healthGet = health.addMethod(
      'GET',
      new apigateway.MockIntegration({
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
        integrationResponses: [{ statusCode: '200', responseTemplates: { 'application/json': '{"status":"ok"}' } }],
      }),
      {
        authorizationType: apigateway.AuthorizationType.NONE,
        methodResponses: [{ statusCode: '200' }],
        requestValidator: validator,
      },
    );

    // The consumer's own API, the consumer's own cdk-nag acknowledgements (the library acknowledges only what it
    // creates). Each says why, as a real app would have to.
    Validations.of(healthGet).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'GET /health is public on purpose: a liveness probe answered by API Gateway, returning no data.',
    });
    Validations.of(this.ordersApi.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'This example deploys no AWS WAF web ACL; callers are already limited to allowlisted IPs per key. A ' +
        'production API would associate the web ACL of its organization here.',
    });

    // The admin API takes the tables, the propagation delay and the stage to flush (Orders' prod) from the authorizer.
    this.admin = new AllowlistAdminApi(this, 'Admin', { authorizers: [this.allowlist] });

    // One alarm per instance: each construct's metrics carry its own `service` dimension.
    for (const [name, authorizer] of [
      ['Orders', this.allowlist],
      ['Partners', this.partners.authorizer],
    ] as const) {
      authorizer.metricStoreErrors().createAlarm(this, `${name}AllowlistStoreErrors`, {
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }
}
