import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/**
 * Synthesis writes a cloud assembly (with copies of the Lambda assets) to disk. Each test file puts its apps in
 * temporary directories and removes them in afterAll.
 */
export class TempOutdirs {
  private readonly dirs: string[] = [];

  public make(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-ip-allowlist-test-'));
    this.dirs.push(dir);
    return dir;
  }

  public cleanup(): void {
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh app and stack writing to a temporary directory. */
export function newStack(outdirs: TempOutdirs, context: Record<string, unknown> = {}): Stack {
  const app = new App({ outdir: outdirs.make(), context: { 'aws:cdk:version-reporting': false, ...context } });
  return new Stack(app, 'Test');
}

/**
 * A fragment of a synthesized template. CloudFormation JSON has no static type: the tests index into it freely and
 * their assertions check the shapes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- template JSON is untyped (see above)
export type TemplateJson = Record<string, any>;

/** All resources of one type, as [logicalId, resource] pairs. */
export function resourcesOfType(template: Template, type: string): [string, { Properties: TemplateJson }][] {
  return Object.entries(template.findResources(type)) as [string, { Properties: TemplateJson }][];
}

/** The single resource of a type; fails when there are none or several. */
export function onlyResource(template: Template, type: string): { logicalId: string; properties: TemplateJson } {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return { logicalId: found[0][0], properties: found[0][1].Properties };
}

export interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every AWS::IAM::Policy attached to the role with this logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) =>
      (policy.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId })),
    )
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as PolicyStatementJson[]);
}

export function actionsOf(statement: PolicyStatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Resources of a statement, as a list. */
export function resourcesOf(statement: PolicyStatementJson): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/**
 * Every cdk-nag acknowledgement written anywhere in `app` (aws-cdk-lib's Validations metadata), as [rule id, reason]
 * pairs: tests assert each names an AwsSolutions rule and gives a real reason.
 */
export function acknowledgementsIn(app: App): [string, string][] {
  return app.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .flatMap((m) => Object.entries(m.data as Record<string, string>));
}

/** The gateway response types every protected API gets (lib/gateway-responses.ts), sorted. */
export const GATEWAY_RESPONSE_TYPES = [
  'ACCESS_DENIED',
  'AUTHORIZER_CONFIGURATION_ERROR',
  'AUTHORIZER_FAILURE',
  'DEFAULT_4XX',
  'DEFAULT_5XX',
  'UNAUTHORIZED',
];
