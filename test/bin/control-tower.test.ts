/*
 * AWS Control Tower's proactive controls over the example app's templates (both upstreams), with the CDK
 * policy-validation plugin @cdklabs/cdk-validator-cfnguard: its bundled cfn-guard binary and rules, offline. Zero
 * failures except the controls acknowledged, with their reasons, in control-tower-acknowledgements.ts.
 */
import * as fs from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { buildExampleApp } from '../../bin/app';
import { TempOutdirs } from '../lib/synth-helpers';
import { CONTROL_TOWER_ACKNOWLEDGEMENTS } from './control-tower-acknowledgements';

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

const VARIANTS: Record<string, Record<string, unknown>> = {
  'echo Lambda upstream': {},
  'HTTP upstream': { upstreamUrl: 'https://upstream.example.com' },
  monitoring: { monitoring: 'true' },
  'monitoring with an alarm topic': { alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:oncall' },
};

interface Failure {
  /** `ct-lambda-pr-3`, from the `[CT.LAMBDA.PR.3]` the rule's message starts with. */
  readonly control: string;
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Record<string, unknown>;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Synthesizes the example app and runs every Control Tower rule over its templates, as `cdk synth` would. */
function controlTowerFailures(context: Record<string, unknown>): Failure[] {
  const { app } = buildExampleApp({
    outdir: outdirs.make(),
    context: { 'aws:cdk:version-reporting': false, ...context },
  });
  const assembly = app.synth();
  const report = new CfnGuardValidator().validate({
    appConstruct: app,
    templatePaths: assembly.stacks.map((s) => s.templateFullPath),
  });
  const failures: Failure[] = [];
  for (const violation of report.violations) {
    const id = /^\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(violation.description.trim());
    if (!id) throw new Error(`no Control Tower id in ${violation.ruleName}: ${violation.description}`);
    for (const resource of violation.violatingResources) {
      const template = JSON.parse(fs.readFileSync(resource.templatePath, 'utf8')) as { Resources: Resources };
      const found = template.Resources[resource.resourceLogicalId];
      failures.push({
        control: id[1].toLowerCase().replace(/\./g, '-'),
        logicalId: resource.resourceLogicalId,
        type: found.Type,
        properties: found.Properties ?? {},
      });
    }
  }
  expect(report.success).toBe(failures.length === 0);
  return failures;
}

const failures = new Map<string, Failure[]>();
beforeAll(() => {
  for (const [name, context] of Object.entries(VARIANTS)) failures.set(name, controlTowerFailures(context));
});

describe.each(Object.keys(VARIANTS))('example app, %s: AWS Control Tower proactive controls', (variant) => {
  test('no failure outside the acknowledged controls', () => {
    const acknowledged = new Set(CONTROL_TOWER_ACKNOWLEDGEMENTS.map((a) => a.control));

    expect(failures.get(variant)!.filter((f) => !acknowledged.has(f.control))).toEqual([]);
  });

  test('each acknowledged control fires only on the resource types its reason speaks of', () => {
    for (const { control, resourceTypes } of CONTROL_TOWER_ACKNOWLEDGEMENTS) {
      const types = new Set(
        failures
          .get(variant)!
          .filter((f) => f.control === control)
          .map((f) => f.type),
      );

      expect({ control, types: [...types].filter((t) => !resourceTypes.includes(t)) }).toEqual({ control, types: [] });
    }
  });

  test("ct-lambda-pr-2 is the false positive its acknowledgement says: API Gateway only, from this stack's API", () => {
    const flagged = failures.get(variant)!.filter((f) => f.control === 'ct-lambda-pr-2');

    expect(flagged.length).toBeGreaterThan(0);
    for (const { logicalId, properties } of flagged) {
      expect({ logicalId, principal: properties.Principal }).toEqual({
        logicalId,
        principal: 'apigateway.amazonaws.com',
      });
      // The ARN is joined from the API's own Ref (`arn:…:execute-api:<region>:<account>:<api id>/…`).
      const sourceArn = JSON.stringify(properties.SourceArn);
      expect(sourceArn).toContain(':execute-api:');
      expect(sourceArn).toMatch(/"Ref":"Api[A-Za-z0-9]+"/);
    }
  });
});

test('every acknowledged control still fires somewhere (an acknowledgement that is no longer needed is removed)', () => {
  const fired = new Set([...failures.values()].flat().map((f) => f.control));

  expect(CONTROL_TOWER_ACKNOWLEDGEMENTS.map((a) => a.control).filter((c) => !fired.has(c))).toEqual([]);
});

test('ct-cloudwatch-pr-1 fires on the alarms of -c monitoring=true alone: an alarm topic meets it, as its reason says', () => {
  const onAlarms = (variant: string) =>
    failures
      .get(variant)!
      .filter((f) => f.control === 'ct-cloudwatch-pr-1')
      .map((f) => f.logicalId);

  expect(onAlarms('monitoring')).toEqual([
    expect.stringMatching(/^ApiMonitoringStoreErrorsAlarm/),
    expect.stringMatching(/^ApiMonitoringAuthorizerErrorsAlarm/),
  ]);
  expect(onAlarms('monitoring with an alarm topic')).toEqual([]);
  expect(onAlarms('echo Lambda upstream')).toEqual([]);
});

test('every acknowledgement gives a reason', () => {
  for (const { control, reason } of CONTROL_TOWER_ACKNOWLEDGEMENTS) {
    expect({ control, long: reason.trim().length >= 80 }).toEqual({ control, long: true });
  }
});

test('registered as a validation plugin, synthesis fails on a control that is not disabled, and only on it', () => {
  const [kept, ...disabledRules] = CONTROL_TOWER_ACKNOWLEDGEMENTS.map((a) => a.control);
  const { app } = buildExampleApp({ outdir: outdirs.make(), context: { 'aws:cdk:version-reporting': false } });
  // As a user whose organization accepts the other acknowledged controls would register it.
  Validations.of(app).addPlugins(new CfnGuardValidator({ disabledRules }));

  expect(kept).toBe('ct-lambda-pr-3');
  let message = '';
  try {
    app.synth();
  } catch (err) {
    message = String(err);
  }
  expect(message).toMatch(/ERROR \[CT\.LAMBDA\.PR\.3\]/);
  expect(message).not.toMatch(/\[CT\.(CLOUDWATCH\.PR\.3|LAMBDA\.PR\.2)\]/);
});
