/**
 * The two small languages API Gateway uses in the settings local mode emulates:
 * - mapping templates (Velocity) in gateway responses: local mode renders variable references
 *   (`$context.authorizer.errorMessage`, `${context.requestId}`, `$!context.x`, `$stageVariables.x`) and
 *   `$util.escapeJavaScript(...)`; a template using Velocity directives (`#if`, `#set`, ...) is refused at startup
 *   rather than rendered wrongly;
 * - parameter mapping expressions (`'literal'`, `method.request.header.X`, `context.authorizer.Y`, ...) in gateway
 *   response headers and HTTP integration request parameters.
 */

/** A value tree reachable from a template: `context`, `stageVariables`, ... */
export type TemplateScope = Readonly<Record<string, unknown>>;

/**
 * The text of a value a template, a mapping expression or an identity source reads: a scalar as JavaScript writes
 * it, an object or array as JSON (API Gateway writes those in a map syntax of its own, which no template or mapping
 * of ours reads), undefined for undefined or null.
 */
export function valueText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === undefined || value === null) return undefined;
  return JSON.stringify(value);
}

export class UnsupportedTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedTemplateError';
  }
}

/** Throws if the template uses Velocity beyond what renderTemplate supports. */
export function checkTemplateSupported(template: string, where: string): void {
  const directive = /(^|[^\\])#(set|if|elseif|else|end|foreach|macro|parse|include|define|evaluate|break|stop)\b/.exec(
    template,
  );
  if (directive) {
    throw new UnsupportedTemplateError(`${where}: local mode does not render the Velocity directive #${directive[2]}`);
  }
  const util = /\$util\.(\w+)/g;
  for (const m of template.matchAll(util)) {
    if (m[1] !== 'escapeJavaScript')
      throw new UnsupportedTemplateError(`${where}: local mode does not render $util.${m[1]}`);
  }
  if (/\$input\./.test(template)) throw new UnsupportedTemplateError(`${where}: local mode does not render $input`);
}

const REFERENCE = /\$!?(?:\{([A-Za-z][\w-]*(?:\.[\w-]+)*)\}|([A-Za-z][\w-]*(?:\.[\w-]+)*))/g;

/** Renders a mapping template; a reference to nothing renders as the empty string, as API Gateway does. */
export function renderTemplate(template: string, scope: TemplateScope): string {
  const withUtil = template.replace(/\$util\.escapeJavaScript\(\s*([^)]*?)\s*\)/g, (_m, inner: string) =>
    escapeJavaScript(renderTemplate(inner, scope)),
  );
  return withUtil.replace(REFERENCE, (_m, braced: string | undefined, bare: string | undefined) => {
    const value = lookup(scope, (braced ?? bare)!);
    return valueText(value) ?? '';
  });
}

/** `$util.escapeJavaScript`: escapes quotes, backslashes and control characters for a JS/JSON string. */
export function escapeJavaScript(s: string): string {
  return JSON.stringify(s).slice(1, -1).replace(/'/g, "\\'");
}

export function lookup(scope: TemplateScope, dotted: string): unknown {
  let cur: unknown = scope;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** What a parameter mapping expression can read. */
export interface MappingSources {
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly path: Readonly<Record<string, string>>;
  readonly context: Readonly<Record<string, unknown>>;
  readonly stageVariables: Readonly<Record<string, string>>;
}

/** Evaluates a mapping expression; undefined when it refers to nothing. */
export function evaluateMappingExpression(expression: string, src: MappingSources): string | undefined {
  const expr = expression.trim();
  const literal = /^'(.*)'$/s.exec(expr);
  if (literal) return literal[1];
  let m = /^method\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)\.(.+)$/.exec(expr);
  if (m) {
    const [, where, name] = m;
    if (where === 'header' || where === 'multivalueheader') return src.headers[name.toLowerCase()];
    if (where === 'querystring' || where === 'multivaluequerystring') return src.query[name];
    return src.path[name];
  }
  m = /^context\.(.+)$/.exec(expr);
  if (m) {
    const v = lookup(src.context, m[1]);
    return valueText(v);
  }
  m = /^stageVariables\.(.+)$/.exec(expr);
  if (m) return src.stageVariables[m[1]];
  throw new UnsupportedTemplateError(`local mode does not evaluate the mapping expression ${expression}`);
}
