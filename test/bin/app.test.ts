import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildExampleApp, EXAMPLE_STACK_NAME } from '../../bin/app';
import { acknowledgementsIn, TempOutdirs } from '../lib/synth-helpers';

const outdirs = new TempOutdirs();
const ALARM_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:oncall';
afterAll(() => outdirs.cleanup());

function example(context: Record<string, unknown> = {}) {
  return buildExampleApp({ outdir: outdirs.make(), context: { 'aws:cdk:version-reporting': false, ...context } });
}

/** Asset hashes change with every handler edit; they are not what the snapshot is about. */
function scrubAssetHashes(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}

interface Finding {
  rule: string;
  resources: (string | undefined)[];
}

/**
 * Runs cdk-nag's AwsSolutions pack over the synthesized app and returns what it reports, acknowledgements applied.
 * (The example app registers the same pack as a validation plugin, so `app.synth()` would also fail on a finding;
 * listing the findings makes a failure readable.)
 */
function nagFindings(context: Record<string, unknown> = {}): Finding[] {
  const { app } = example(context);
  app.synth();
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.map((v) => ({
    rule: v.ruleName,
    resources: v.violatingResources.map((r) => r.constructPath),
  }));
}

describe('example app: cdk-nag AwsSolutions', () => {
  test('no unacknowledged finding with the echo Lambda upstream', () => {
    expect(nagFindings()).toEqual([]);
  });

  test('no unacknowledged finding with an HTTP upstream', () => {
    expect(nagFindings({ upstreamUrl: 'https://upstream.example.com' })).toEqual([]);
  });

  test('no unacknowledged finding with monitoring and an alarm topic', () => {
    expect(nagFindings({ monitoring: 'true', alarmTopicArn: ALARM_TOPIC_ARN })).toEqual([]);
  });

  test('synthesis itself runs the checks: a non-compliant resource added to the example stack fails it', () => {
    const { app, stack } = example();
    // No point-in-time recovery: AwsSolutions-DDB3.
    new dynamodb.CfnTable(stack, 'Careless', {
      keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
      attributeDefinitions: [{ attributeName: 'id', attributeType: 'S' }],
      billingMode: 'PAY_PER_REQUEST',
    });

    expect(() => app.synth()).toThrow(/AwsSolutions-DDB3/);
  });

  test('every acknowledgement gives its reason', () => {
    const { app } = example();

    const acknowledgements = acknowledgementsIn(app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) {
      expect(id).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(reason.length).toBeGreaterThan(40);
    }
  });
});

describe('example app: context', () => {
  test('the default upstream is the echo Lambda', () => {
    const { stack } = example();
    const template = Template.fromStack(stack);

    expect(stack.stackName).toBe(EXAMPLE_STACK_NAME);
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      Integration: { Type: 'AWS_PROXY' },
      AuthorizationType: 'CUSTOM',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'cdk-ip-allowlist example upstream: echoes the authorized organization, project and key',
    });
  });

  test('upstreamUrl switches to an HTTP proxy to that URL, and no echo Lambda is created', () => {
    const { stack } = example({ upstreamUrl: 'https://upstream.example.com' });
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::ApiGateway::Method', {
      Integration: { Type: 'HTTP_PROXY', Uri: 'https://upstream.example.com/{proxy}' },
    });
    expect(stack.node.tryFindChild('Echo')).toBeUndefined();
  });

  test('propagationDelaySeconds sets the propagation delay', () => {
    const { stack } = example({ propagationDelaySeconds: '60' });

    // 60 s less the decision age bound (4 s): lambda/core/propagation.ts.
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerResultTtlInSeconds: 56,
    });
    expect(stack.allowlistedApi.authorizer.propagationDelay.toSeconds()).toBe(60);
  });

  test.each(['-5', '1.5', 'five minutes'])(
    'propagationDelaySeconds=%s is rejected, naming the context key',
    (value) => {
      expect(() => example({ propagationDelaySeconds: value })).toThrow(
        `context propagationDelaySeconds must be a whole number of seconds from 0 to 3600, got ${JSON.stringify(value)}`,
      );
    },
  );

  test('propagationDelaySeconds given as a number (a context set in code or cdk.json) is taken as seconds', () => {
    const { stack } = example({ propagationDelaySeconds: 60 });

    expect(stack.allowlistedApi.authorizer.propagationDelay.toSeconds()).toBe(60);
  });

  test('an upstreamUrl that is not a string is rejected, naming the context key', () => {
    expect(() => example({ upstreamUrl: { url: 'https://upstream.example.com' } })).toThrow(
      'context upstreamUrl must be a string, got {"url":"https://upstream.example.com"}',
    );
  });

  test('without monitoring (the default): no dashboard, alarm or Contributor Insights rule, nothing billed per month', () => {
    const template = Template.fromStack(example().stack);
    for (const type of ['AWS::CloudWatch::Dashboard', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::InsightRule']) {
      template.resourceCountIs(type, 0);
    }
  });

  test.each([[true], ['true']])(
    'monitoring=%j adds the dashboard, both alarms (no action) and the rule',
    (monitoring) => {
      const { stack } = example({ monitoring });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      template.resourceCountIs('AWS::CloudWatch::InsightRule', 1);
      expect(
        Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmActions),
      ).toEqual([undefined, undefined]);
      expect(stack.monitoring?.dashboard).toBeDefined();
    },
  );

  test('alarmTopicArn adds the monitoring, and both alarms notify that topic', () => {
    const template = Template.fromStack(example({ alarmTopicArn: ALARM_TOPIC_ARN }).stack);
    expect(
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmActions),
    ).toEqual([[ALARM_TOPIC_ARN], [ALARM_TOPIC_ARN]]);
  });

  test('a monitoring that is not true or false is rejected, naming the context key', () => {
    expect(() => example({ monitoring: 'yes' })).toThrow('context monitoring must be true or false, got "yes"');
  });

  test('propagationDelaySeconds above 3600 is rejected by the construct', () => {
    expect(() => example({ propagationDelaySeconds: '7200' })).toThrow(
      'propagationDelay must be at most 1 hour, got 2 hours',
    );
  });
});

describe('example app: template', () => {
  test('matches the snapshot (asset hashes scrubbed)', () => {
    const { stack } = example();

    expect(scrubAssetHashes(Template.fromStack(stack).toJSON())).toMatchSnapshot();
  });
});
