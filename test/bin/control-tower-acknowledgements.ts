/**
 * The AWS Control Tower proactive controls (run by @cdklabs/cdk-validator-cfnguard) that the example app's templates
 * do not meet, each with the reason it is accepted. This is the one list: control-tower.test.ts fails on any other
 * failure, on an acknowledged control firing on a resource type its reason does not speak of, and on an
 * acknowledged control that no longer fires. docs/deploy.md links here for a user whose organization enforces
 * these controls.
 */
export interface ControlTowerAcknowledgement {
  /** The control's id as the plugin's `disabledRules` takes it (its rule file name). */
  readonly control: string;
  /** The only resource types the control may fire on. */
  readonly resourceTypes: readonly string[];
  readonly reason: string;
}

export const CONTROL_TOWER_ACKNOWLEDGEMENTS: readonly ControlTowerAcknowledgement[] = [
  {
    control: 'ct-lambda-pr-3',
    resourceTypes: ['AWS::Lambda::Function'],
    reason:
      'Lambda functions outside a VPC: the authorizer and the admin function reach only DynamoDB and API Gateway ' +
      'through their public AWS endpoints, with IAM. A VPC would add NAT gateways or VPC endpoints (a fixed hourly ' +
      'cost) and nothing to protect; the constructs have no VPC prop.',
  },
  {
    control: 'ct-cloudwatch-pr-3',
    resourceTypes: ['AWS::Logs::LogGroup'],
    reason:
      'Log groups without a customer-managed KMS key: CloudWatch Logs encrypts them at rest with keys it manages. ' +
      'The logs hold request metadata (source IP, key id, decision), never an API key (keys are logged only as ' +
      'hashes or ids). A key of your own, for the log groups as for the tables (encryptionKey), is a prop to add.',
  },
  {
    control: 'ct-lambda-pr-2',
    resourceTypes: ['AWS::Lambda::Permission'],
    reason:
      'A false positive: every permission lets only apigateway.amazonaws.com invoke the function, with a SourceArn ' +
      "scoped to this stack's API (an Fn::Join of its execute-api ARN, which the rule cannot evaluate: it accepts " +
      'only a literal string or a plain Ref/GetAtt). control-tower.test.ts checks each flagged permission for both.',
  },
  {
    control: 'ct-cloudwatch-pr-1',
    resourceTypes: ['AWS::CloudWatch::Alarm'],
    reason:
      "Alarms without an action, with `-c monitoring=true` alone: whom to notify is the deployer's choice. " +
      "`-c alarmTopicArn=<SNS topic ARN>` (or the construct's alarmActions) gives both alarms one, and the control " +
      'passes: control-tower.test.ts synthesizes that variant too.',
  },
];
