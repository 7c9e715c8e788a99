/**
 * Resolves the CloudFormation intrinsic functions a synthesized template uses (Ref, Fn::GetAtt, Fn::Join,
 * Fn::Sub, Fn::Select, Fn::Split, Fn::If and the condition functions) to the values they take in local mode:
 * a table's Ref is its local table name, a RestApi's Ref its local API id, a Stage's Ref its stage name, and so
 * on. Local mode reads every setting through this, so nothing is copied out of the template by hand.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly Condition?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { Default?: unknown; Type?: string }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Outputs?: Record<string, unknown>;
}

/** Pseudo parameters and the physical names local mode gives resources. */
export interface ResolverEnv {
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
  /** Local physical name (Ref value) of a resource, or undefined to fall back to the defaults below. */
  physicalName(logicalId: string, resource: CfnResource): string | undefined;
}

export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableError';
  }
}

export class IntrinsicResolver {
  constructor(
    private readonly template: CfnTemplate,
    private readonly env: ResolverEnv,
  ) {}

  /** Deeply resolves a value; `AWS::NoValue` entries are dropped. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = obj[fn];
      switch (fn) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::GetAtt':
          return this.getAtt(arg);
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown];
          const resolved = this.resolve(parts);
          if (!Array.isArray(resolved)) throw new UnresolvableError(`Fn::Join of a non-list: ${JSON.stringify(arg)}`);
          return resolved.map((p) => this.scalar(p, 'Fn::Join')).join(String(sep));
        }
        case 'Fn::Sub':
          return this.sub(arg);
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          const l = this.resolve(list);
          const i = Number(this.resolve(index));
          if (!Array.isArray(l) || !Number.isInteger(i) || i < 0 || i >= l.length) {
            throw new UnresolvableError(`Fn::Select out of range: ${JSON.stringify(arg)}`);
          }
          return l[i];
        }
        case 'Fn::Split': {
          const [sep, str] = arg as [string, unknown];
          return this.scalar(this.resolve(str), 'Fn::Split').split(sep);
        }
        case 'Fn::If': {
          const [cond, whenTrue, whenFalse] = arg as [string, unknown, unknown];
          return this.resolve(this.condition(cond) ? whenTrue : whenFalse);
        }
        case 'Fn::Equals':
        case 'Fn::Not':
        case 'Fn::And':
        case 'Fn::Or':
        case 'Condition':
          return this.evaluateCondition(obj);
        case 'Fn::ImportValue':
        case 'Fn::GetAZs':
        case 'Fn::FindInMap':
        case 'Fn::Base64':
        case 'Fn::Cidr':
          throw new UnresolvableError(`local mode does not resolve ${fn}: ${JSON.stringify(arg)}`);
        default:
          break;
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const r = this.resolve(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  /** Resolves to a string, or throws naming what was expected. */
  resolveString(value: unknown, what: string): string {
    return this.scalar(this.resolve(value), what);
  }

  /** Whether a template condition holds. */
  condition(name: string): boolean {
    const def = this.template.Conditions?.[name];
    if (def === undefined) throw new UnresolvableError(`unknown condition ${name}`);
    return Boolean(this.evaluateCondition(def));
  }

  private evaluateCondition(def: unknown): boolean {
    const obj = def as Record<string, unknown>;
    if ('Fn::Equals' in obj) {
      const [a, b] = obj['Fn::Equals'] as [unknown, unknown];
      return JSON.stringify(this.resolve(a)) === JSON.stringify(this.resolve(b));
    }
    if ('Fn::Not' in obj) return !this.evaluateCondition((obj['Fn::Not'] as unknown[])[0]);
    if ('Fn::And' in obj) return (obj['Fn::And'] as unknown[]).every((c) => this.evaluateCondition(c));
    if ('Fn::Or' in obj) return (obj['Fn::Or'] as unknown[]).some((c) => this.evaluateCondition(c));
    if ('Condition' in obj) return this.condition(String(obj.Condition));
    throw new UnresolvableError(`unsupported condition ${JSON.stringify(def)}`);
  }

  private scalar(v: unknown, what: string): string {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new UnresolvableError(`${what}: expected a string, got ${JSON.stringify(v)}`);
  }

  ref(name: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::AccountId':
        return this.env.accountId;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.env.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.env.region}:${this.env.accountId}:stack/${this.env.stackName}/local`;
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        break;
    }
    const param = this.template.Parameters?.[name];
    if (param) {
      if (param.Default === undefined) throw new UnresolvableError(`parameter ${name} has no default`);
      return param.Default;
    }
    const resource = this.template.Resources[name];
    if (!resource) throw new UnresolvableError(`Ref to unknown ${name}`);
    return this.physicalName(name, resource);
  }

  physicalName(logicalId: string, resource: CfnResource): string {
    const custom = this.env.physicalName(logicalId, resource);
    if (custom !== undefined) return custom;
    const props = resource.Properties ?? {};
    const explicit =
      resource.Type === 'AWS::Lambda::Function'
        ? props.FunctionName
        : resource.Type === 'AWS::IAM::Role'
          ? props.RoleName
          : resource.Type === 'AWS::ApiGateway::Stage'
            ? props.StageName
            : undefined;
    if (explicit !== undefined) return this.resolveString(explicit, `${logicalId} name`);
    return `${this.env.stackName}-${logicalId}`;
  }

  private getAtt(arg: unknown): unknown {
    const [logicalId, attr] = Array.isArray(arg) ? (arg as [string, string]) : String(arg).split(/\.(.*)/s);
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new UnresolvableError(`Fn::GetAtt of unknown ${logicalId}`);
    const name = this.physicalName(logicalId, resource);
    const { region, accountId } = this.env;
    switch (`${resource.Type}.${attr}`) {
      case 'AWS::DynamoDB::Table.Arn':
      case 'AWS::DynamoDB::GlobalTable.Arn':
        return `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
      case 'AWS::DynamoDB::Table.StreamArn':
      case 'AWS::DynamoDB::GlobalTable.StreamArn':
        return `arn:aws:dynamodb:${region}:${accountId}:table/${name}/stream/local`;
      case 'AWS::Lambda::Function.Arn':
        return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${accountId}:role/${name}`;
      case 'AWS::ApiGateway::RestApi.RootResourceId':
        return `${name}-root`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:aws:logs:${region}:${accountId}:log-group:${name}:*`;
      default:
        return `${name}.${attr}`;
    }
  }

  private sub(arg: unknown): string {
    const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_m, expr: string) => {
      if (expr in vars) return this.scalar(this.resolve(vars[expr]), `Fn::Sub ${expr}`);
      const dot = expr.indexOf('.');
      if (dot > 0 && !expr.startsWith('AWS::')) {
        return this.scalar(this.getAtt([expr.slice(0, dot), expr.slice(dot + 1)]), `Fn::Sub ${expr}`);
      }
      return this.scalar(this.ref(expr), `Fn::Sub ${expr}`);
    });
  }
}

/** Marker for `Ref: AWS::NoValue`: the property is removed. */
export const NO_VALUE = Symbol('AWS::NoValue');

/** The logical id a `{Ref}` or `{Fn::GetAtt}` points at, without resolving it. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const obj = value as Record<string, unknown>;
  if (typeof obj.Ref === 'string') return obj.Ref;
  const getAtt = obj['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/** Every logical id referenced anywhere inside a value (Ref, Fn::GetAtt, and `${X}` / `${X.Attr}` in Fn::Sub). */
export function referencedLogicalIds(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedLogicalIds(v, out);
  } else if (value !== null && typeof value === 'object') {
    const id = referencedLogicalId(value);
    if (id !== undefined) out.add(id);
    const obj = value as Record<string, unknown>;
    const sub = obj['Fn::Sub'];
    const text = typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : undefined;
    if (text) for (const m of text.matchAll(/\$\{([^}!.][^}.]*)/g)) out.add(m[1]);
    for (const v of Object.values(obj)) referencedLogicalIds(v, out);
  }
  return out;
}
