import { FeatureFlags, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { APIGATEWAY_DISABLE_CLOUDWATCH_ROLE } from 'aws-cdk-lib/cx-api';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeNagRules } from './nag';
import { METRICS_NAMESPACE } from './contract';

/**
 * What makes two instances of the constructs in one app (or one account and Region) distinct: their default names
 * and metric dimensions, and the one account-level CloudWatch role per stack that their APIs share.
 */

/**
 * A name for `construct` that no other construct of a deployment to the same account and Region has: the stack's
 * name (unique per account and Region) and the construct's path inside the stack, e.g. `MyStack/Api/Authorizer`.
 */
export function instanceName(construct: IConstruct, separator: string): string {
  const stack = Stack.of(construct);
  const inStack = construct.node.scopes.slice(stack.node.scopes.length).map((c) => c.node.id);
  const prefix = Token.isUnresolved(stack.stackName) ? stack.node.path.split('/') : [stack.stackName];
  return [...prefix, ...inStack].join(separator);
}

/** CloudWatch's limit for a dimension value (PutMetricData `DimensionValue`, 1 to 1024 characters). */
const MAX_DIMENSION_VALUE_LENGTH = 1024;

/**
 * The `service` dimension of a construct's metrics: the prop when given, else the construct's instance name, so that
 * two instances never count into the same metric.
 */
export function metricsServiceName(construct: IConstruct, prop: string | undefined, propName: string): string {
  const value = prop ?? instanceName(construct, '/');
  if (!Token.isUnresolved(value) && (value.length < 1 || value.length > MAX_DIMENSION_VALUE_LENGTH)) {
    const hint = prop === undefined ? ` (derived from the construct path; set ${propName} to a shorter one)` : '';
    throw new Error(`${propName} must be 1 to ${MAX_DIMENSION_VALUE_LENGTH} characters, got ${value.length}${hint}`);
  }
  return value;
}

const SHARED_ROLE_ID = 'CdkIpAllowlistApiGatewayCloudWatchRole';

/**
 * Gives `api` the account-level role through which API Gateway writes execution and access logs, shared by every
 * API of this package in the stack: API Gateway has one such setting per account and Region, and each RestApi
 * creating its own (aws-cdk-lib's default) would set it once per API.
 *
 * `requested` is the construct's `cloudWatchRole` prop; left out, it follows the feature flag
 * `@aws-cdk/aws-apigateway:disableCloudWatchRole` exactly as aws-cdk-lib's RestApi does. The RestApi itself must be
 * created with `cloudWatchRole: false`.
 */
export function useSharedCloudWatchRole(api: apigateway.RestApi, requested: boolean | undefined): void {
  const enabled = requested ?? !FeatureFlags.of(api).isEnabled(APIGATEWAY_DISABLE_CLOUDWATCH_ROLE);
  if (!enabled) return;
  const stack = Stack.of(api);
  const shared =
    (stack.node.tryFindChild(SHARED_ROLE_ID) as SharedCloudWatchRole | undefined) ??
    new SharedCloudWatchRole(stack, SHARED_ROLE_ID);
  // As aws-cdk-lib orders them: the account setting after the API, each stage's logging after the setting.
  shared.account.node.addDependency(api.node.defaultChild as IConstruct);
  api.deploymentStage.node.addDependency(shared.account);
}

/** The role and the `AWS::ApiGateway::Account` setting, as aws-cdk-lib's RestApi creates them (retained on delete). */
class SharedCloudWatchRole extends Construct {
  public readonly account: apigateway.CfnAccount;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.account = new apigateway.CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    this.account.applyRemovalPolicy(RemovalPolicy.RETAIN);

    acknowledgeNagRules(role, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-level logging role, which access and execution logging require. AWS documents this " +
        'managed policy for exactly this role; API Gateway (not this API) picks the log groups it writes to.',
    });
  }
}

/**
 * One metric of an instance, as its Lambda publishes it (namespace `CdkIpAllowlist`, dimension `service`), summed
 * over 5 minutes unless `props` says otherwise, and attached to `owner` (its stack's account and Region).
 */
export function instanceMetric(
  owner: IConstruct,
  service: string,
  metricName: string,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: cloudwatch.Stats.SUM,
    ...props,
  }).attachTo(owner);
}
