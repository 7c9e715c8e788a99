/**
 * How API Gateway judges a Lambda authorizer's answer: the returned IAM policy is evaluated against the
 * request's method ARN `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<VERB>/<path>` for the action
 * `execute-api:Invoke`, with IAM's rules: `*` matches any run of characters (`/` and `:` included), `?` one
 * character, resources match case-sensitively and actions case-insensitively, an explicit Deny beats any Allow,
 * and no matching Allow is an implicit deny.
 *
 * API Gateway re-evaluates a cached policy against every request, which is why a policy for one path must not
 * open another while a cached wildcard policy serves them all.
 */

export type PolicyDecision = 'allow' | 'explicitDeny' | 'implicitDeny';

export interface MethodArnParts {
  readonly region: string;
  readonly accountId: string;
  readonly apiId: string;
  readonly stage: string;
  readonly httpMethod: string;
  /** The request path, with or without its leading slash. */
  readonly path: string;
}

export function methodArn(p: MethodArnParts): string {
  const resourcePath = p.path.startsWith('/') ? p.path.slice(1) : p.path;
  return `arn:aws:execute-api:${p.region}:${p.accountId}:${p.apiId}/${p.stage}/${p.httpMethod}/${resourcePath}`;
}

/** Thrown for an answer API Gateway itself would refuse (it then returns AUTHORIZER_CONFIGURATION_ERROR). */
export class InvalidAuthorizerResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAuthorizerResponseError';
  }
}

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
}

export interface CompiledPolicy {
  evaluate(methodArn: string): PolicyDecision;
}

/** Validates and compiles a policy document from an authorizer's answer; throws InvalidAuthorizerResponseError. */
export function compilePolicy(doc: unknown): CompiledPolicy {
  if (!isObject(doc)) throw new InvalidAuthorizerResponseError('policyDocument must be an object');
  const raw = doc.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) throw new InvalidAuthorizerResponseError('policyDocument has no Statement');
  const statements: Statement[] = list.map((s, i) => {
    if (!isObject(s)) throw new InvalidAuthorizerResponseError(`Statement[${i}] must be an object`);
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
      throw new InvalidAuthorizerResponseError(
        `Statement[${i}].Effect must be Allow or Deny, got ${JSON.stringify(s.Effect)}`,
      );
    }
    if (s.Condition !== undefined) {
      // Conditions need request keys API Gateway does not document for authorizer policies; refusing loudly
      // beats evaluating them wrongly.
      throw new InvalidAuthorizerResponseError(`Statement[${i}] has a Condition, which local mode does not evaluate`);
    }
    const stringList = (name: string): string[] | undefined => {
      const v = s[name];
      if (v === undefined) return undefined;
      const arr = Array.isArray(v) ? v : [v];
      if (!arr.every((x) => typeof x === 'string')) {
        throw new InvalidAuthorizerResponseError(`Statement[${i}].${name} must be a string or a list of strings`);
      }
      return arr;
    };
    const st: Statement = {
      effect: s.Effect,
      actions: stringList('Action'),
      notActions: stringList('NotAction'),
      resources: stringList('Resource'),
      notResources: stringList('NotResource'),
    };
    if (!st.actions === !st.notActions) {
      throw new InvalidAuthorizerResponseError(`Statement[${i}] needs exactly one of Action and NotAction`);
    }
    if (!st.resources === !st.notResources) {
      throw new InvalidAuthorizerResponseError(`Statement[${i}] needs exactly one of Resource and NotResource`);
    }
    return st;
  });

  const compiled = statements.map((st) => ({
    effect: st.effect,
    actionMatch: compileAny(st.actions ?? st.notActions!, true),
    actionNegated: st.notActions !== undefined,
    resourceMatch: compileAny(st.resources ?? st.notResources!, false),
    resourceNegated: st.notResources !== undefined,
  }));

  return {
    evaluate(arn: string): PolicyDecision {
      let allowed = false;
      for (const st of compiled) {
        const actionApplies = st.actionMatch('execute-api:Invoke') !== st.actionNegated;
        const resourceApplies = st.resourceMatch(arn) !== st.resourceNegated;
        if (!actionApplies || !resourceApplies) continue;
        if (st.effect === 'Deny') return 'explicitDeny';
        allowed = true;
      }
      return allowed ? 'allow' : 'implicitDeny';
    },
  };
}

/** IAM wildcard match: `*` any run of characters, `?` exactly one. */
export function iamWildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  return wildcardRegExp(pattern, caseInsensitive).test(value);
}

function compileAny(patterns: readonly string[], caseInsensitive: boolean): (value: string) => boolean {
  const res = patterns.map((p) => wildcardRegExp(p, caseInsensitive));
  return (value) => res.some((re) => re.test(value));
}

function wildcardRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  let src = '';
  for (const ch of pattern) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, caseInsensitive ? 'is' : 's');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface AuthorizerAnswer {
  readonly principalId: string;
  readonly policy: CompiledPolicy;
  /** Context values as the authorizer returned them (strings, numbers, booleans). */
  readonly context: Readonly<Record<string, string | number | boolean>>;
  readonly usageIdentifierKey?: string;
}

/**
 * Validates a Lambda authorizer's return value the way API Gateway does: principalId, a policyDocument, and a
 * flat context whose values are strings, numbers or booleans (nested objects or arrays make API Gateway answer
 * with AUTHORIZER_CONFIGURATION_ERROR).
 */
export function parseAuthorizerAnswer(result: unknown): AuthorizerAnswer {
  if (!isObject(result)) throw new InvalidAuthorizerResponseError('the authorizer must return an object');
  const { principalId, policyDocument, context, usageIdentifierKey } = result;
  if (typeof principalId !== 'string' && typeof principalId !== 'number') {
    throw new InvalidAuthorizerResponseError('principalId is missing');
  }
  const policy = compilePolicy(policyDocument);
  const ctx: Record<string, string | number | boolean> = {};
  if (context !== undefined && context !== null) {
    if (!isObject(context)) throw new InvalidAuthorizerResponseError('context must be an object');
    for (const [k, v] of Object.entries(context)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') ctx[k] = v;
      else if (v === null || v === undefined) continue;
      else throw new InvalidAuthorizerResponseError(`context.${k} must be a string, number or boolean`);
    }
  }
  return {
    principalId: String(principalId),
    policy,
    context: ctx,
    usageIdentifierKey: typeof usageIdentifierKey === 'string' ? usageIdentifierKey : undefined,
  };
}
