import * as cdk from 'aws-cdk-lib';
import { AspectPriority, Aspects, CfnResource, IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';

/**
 * cdk-nag acknowledgements written by the constructs that own the resources, so that a consumer who runs cdk-nag
 * over a stack using this library sees no finding on a resource the library created, and never has to paste our
 * logical ids into their own suppressions. cdk-nag is not imported: it is a devDependency, and the library must
 * synthesize without it. Both of its formats are written:
 *
 * - cdk-nag 3 (`Validations.of(app).addPlugins(new AwsSolutionsChecks(app))`) reads aws-cdk-lib's own
 *   acknowledgements (`Validations.of(scope).acknowledge`, construct metadata) on the resource and its ancestors;
 * - cdk-nag 2 (`Aspects.of(app).add(new AwsSolutionsChecks())`) reads only the `cdk_nag` CloudFormation metadata of
 *   each resource (what its `NagSuppressions` writes). An aspect with mutating priority writes it on every resource
 *   under an acknowledged scope, resources added later included, before cdk-nag 2's aspect (default priority) runs.
 *   Granular ids (`AwsSolutions-IAM5[Resource::*]`) become cdk-nag 2's `{ id, applies_to }` form.
 */

/** One cdk-nag rule (or one finding of it, `Rule[finding]`) acknowledged with its reason. */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
}

/** The cdk-nag 2 metadata key on a CloudFormation resource, and the shape its NagSuppressions writes there. */
const V2_METADATA_KEY = 'cdk_nag';
interface V2Rule {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: string[];
}

const acknowledged = new WeakMap<IConstruct, NagAcknowledgement[]>();

/** Acknowledges cdk-nag rules on `scope` and everything under it, for cdk-nag 3 and cdk-nag 2. */
export function acknowledgeNagRules(scope: IConstruct, ...acknowledgements: NagAcknowledgement[]): void {
  for (const a of acknowledgements) {
    if (a.reason.trim().length < 10) throw new Error(`cdk-nag acknowledgement ${a.id} needs a reason`);
  }
  // aws-cdk-lib has Validations from 2.257 on, and cdk-nag 3 requires that version; on an older aws-cdk-lib that the
  // peer range admits (integ/ synthesizes on 2.245) there is no cdk-nag 3 to acknowledge for, only cdk-nag 2.
  const validations = (cdk as Partial<typeof cdk>).Validations;
  if (validations) validations.of(scope).acknowledge(...acknowledgements);
  const existing = acknowledged.get(scope);
  if (existing) {
    existing.push(...acknowledgements);
  } else {
    acknowledged.set(scope, [...acknowledgements]);
    Aspects.of(scope).add(new NagV2Metadata(), { priority: AspectPriority.MUTATING });
  }
}

/**
 * Acknowledges the wildcard resources of a grant (AwsSolutions-IAM5) on the grantee's principal (a role, user or
 * group, whose policies cdk-nag checks), each by its exact finding id: every other statement of the principal is
 * still checked. The finding text is what cdk-nag prints for the resource (`<LogicalId>` for a reference),
 * computed now; a logical id overridden after the grant, or a grantee in another stack (the reference becomes an
 * import at synthesis), leaves the finding to the user.
 */
export function acknowledgeGrantWildcards(grantee: iam.IGrantable, grant: iam.Grant, reason: string): void {
  const principal = grantee.grantPrincipal;
  if (!grant.success || !Construct.isConstruct(principal)) return;
  const stack = Stack.of(principal);
  const ids = new Set<string>();
  for (const statement of grant.principalStatements) {
    for (const resource of statement.resources) {
      const flat = flattenCfnReference(stack.resolve(resource));
      if (flat.includes('*')) ids.add(`AwsSolutions-IAM5[Resource::${flat}]`);
    }
  }
  if (ids.size > 0) acknowledgeNagRules(principal, ...[...ids].map((id) => ({ id, reason })));
}

/** cdk-nag's rendering of a CloudFormation value in a finding id (its utils/flatten-cfn-reference). */
function flattenCfnReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\${/g, '<').replace(/}/g, '>');
  const node = value as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenCfnReference).join(delimiter);
  }
  if (node['Fn::Sub']) return flattenCfnReference(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return flattenCfnReference(node['Fn::ImportValue']);
  if (node.Ref) return `<${flattenCfnReference(node.Ref)}>`;
  return JSON.stringify(value);
}

/** Writes the acknowledgements of a resource's ancestors as its cdk-nag 2 `cdk_nag` metadata, merged as NagSuppressions merges. */
class NagV2Metadata implements IAspect {
  public visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) return;
    const rules: V2Rule[] = [];
    for (let c: IConstruct | undefined = node; c; c = c.node.scope) {
      for (const a of acknowledged.get(c) ?? []) rules.push(toV2Rule(a));
    }
    if (rules.length === 0) return;
    const current =
      (node.getMetadata(V2_METADATA_KEY) as { rules_to_suppress?: V2Rule[] } | undefined)?.rules_to_suppress ?? [];
    const merged = [...new Set([...current, ...rules].map((r) => JSON.stringify(r)))].map(
      (r) => JSON.parse(r) as V2Rule,
    );
    node.addMetadata(V2_METADATA_KEY, { rules_to_suppress: merged });
  }
}

/** `Rule[finding]` is cdk-nag 3's id of one finding; cdk-nag 2 writes it as the rule plus `applies_to`. */
function toV2Rule(a: NagAcknowledgement): V2Rule {
  const granular = /^([^[]+)\[(.+)\]$/s.exec(a.id);
  return granular ? { reason: a.reason, id: granular[1], applies_to: [granular[2]] } : { reason: a.reason, id: a.id };
}
