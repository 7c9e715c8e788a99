import { valueText } from '../mapping';
import type { AuthorizerModel } from '../model';
import type { RequestInfo } from './http-io';
import type { RequestContext } from './request-context';

/**
 * Stage 2a, CUSTOM authorization: the identity sources. Before it calls a Lambda authorizer (or looks in its
 * cache), API Gateway reads each identity source from the request; a missing or empty one is UNAUTHORIZED (401)
 * without calling the Lambda, as is a TOKEN that fails the authorizer's validation expression. The values, joined,
 * are the authorizer cache's key (authorizer-cache.ts).
 */

/** The identity sources' values in order, or undefined when the request is UNAUTHORIZED without a call. */
export function readIdentitySources(
  authorizer: AuthorizerModel,
  info: RequestInfo,
  requestContext: RequestContext,
): string[] | undefined {
  const values: string[] = [];
  for (const source of authorizer.identitySources) {
    let value: unknown;
    if (source.kind === 'header') value = info.lowerHeaders[source.name.toLowerCase()];
    else if (source.kind === 'querystring') value = info.query[source.name];
    else if (source.kind === 'context') value = lookupPath(requestContext, source.name);
    else value = undefined; // No stage variables in local mode.
    const text = valueText(value);
    if (text === undefined || text === '') return undefined;
    values.push(text);
  }
  if (authorizer.type === 'TOKEN' && authorizer.identityValidationExpression) {
    if (!new RegExp(`^(?:${authorizer.identityValidationExpression})$`).test(values[0] ?? '')) return undefined;
  }
  return values;
}

function lookupPath(obj: Readonly<Record<string, unknown>>, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
