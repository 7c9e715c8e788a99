import type { ApiModel, AuthorizerModel } from '../model';
import type { AuthorizerResultCache } from './authorizer-cache';
import type { RespondWith } from './gateway-responses';
import type { Reply, RequestInfo } from './http-io';
import { readIdentitySources } from './identity-sources';
import type { Invoker } from './integrations';
import { AuthorizerAnswer, InvalidAuthorizerResponseError, methodArn, parseAuthorizerAnswer } from './policy';
import { emptyToNull, forwardedHeaders, RequestContext } from './request-context';
import type { Route } from './routing';

/**
 * Stage 2, CUSTOM (Lambda REQUEST or TOKEN) authorization, in API Gateway's order: the identity sources
 * (identity-sources.ts: missing -> UNAUTHORIZED, no call); the result cache (authorizer-cache.ts); on a miss, the
 * Lambda is invoked with the REQUEST or TOKEN event (an error, a timeout or an invalid answer ->
 * AUTHORIZER_CONFIGURATION_ERROR; exactly the error "Unauthorized" -> UNAUTHORIZED) and its answer cached; then the
 * answer's policy is evaluated against THIS request's method ARN (policy.ts), also when it came from the cache:
 * Deny or no matching Allow -> ACCESS_DENIED, with the authorizer's context available to the response template.
 */

export interface CustomAuthorization {
  readonly api: ApiModel;
  readonly region: string;
  readonly accountId: string;
  readonly invoker: Invoker;
  readonly cache: AuthorizerResultCache;
  readonly respond: RespondWith;
  /** Counted for tests: invocations and cache hits. */
  readonly stats: { authorizerInvocations: number; authorizerCacheHits: number };
}

export type AuthorizationOutcome =
  { readonly kind: 'allow'; readonly answer: AuthorizerAnswer } | { readonly kind: 'response'; readonly reply: Reply };

export async function authorizeCustom(
  stage: CustomAuthorization,
  authorizer: AuthorizerModel,
  info: RequestInfo,
  route: Route,
  requestContext: RequestContext,
): Promise<AuthorizationOutcome> {
  const refuse = (type: string, message: string | null, authorizerContext?: Record<string, unknown>) =>
    ({ kind: 'response', reply: stage.respond(type, info, { message }, authorizerContext) }) as const;

  const values = readIdentitySources(authorizer, info, requestContext);
  if (values === undefined) return refuse('UNAUTHORIZED', 'Unauthorized');

  const arn = methodArn({
    region: stage.region,
    accountId: stage.accountId,
    apiId: stage.api.apiId,
    stage: stage.api.stageName,
    httpMethod: info.httpMethod,
    path: info.path,
  });

  let answer = stage.cache.get(authorizer.authorizerId, authorizer.ttlSeconds, values);
  if (answer) {
    stage.stats.authorizerCacheHits += 1;
  } else {
    const forwarded = forwardedHeaders(info);
    const event =
      authorizer.type === 'TOKEN'
        ? { type: 'TOKEN', authorizationToken: values[0], methodArn: arn }
        : {
            type: 'REQUEST',
            methodArn: arn,
            resource: route.node.path,
            path: info.path,
            httpMethod: info.httpMethod,
            headers: forwarded.headers,
            multiValueHeaders: forwarded.multiValueHeaders,
            queryStringParameters: emptyToNull(info.query),
            multiValueQueryStringParameters: emptyToNull(info.multiQuery),
            pathParameters: emptyToNull(route.pathParameters),
            stageVariables: null,
            requestContext,
          };
    stage.stats.authorizerInvocations += 1;
    const result = await stage.invoker.invoke(authorizer.functionLogicalId, event);
    if (!result.ok) {
      // API Gateway maps exactly this error message to a 401; any other failure is a 5xx.
      if (result.errorMessage === 'Unauthorized') return refuse('UNAUTHORIZED', 'Unauthorized');
      return refuse('AUTHORIZER_CONFIGURATION_ERROR', null);
    }
    try {
      answer = parseAuthorizerAnswer(result.payload);
    } catch (err) {
      if (!(err instanceof InvalidAuthorizerResponseError)) throw err;
      process.stderr.write(`local gateway: invalid authorizer answer from ${authorizer.name}: ${err.message}\n`);
      return refuse('AUTHORIZER_CONFIGURATION_ERROR', null);
    }
    stage.cache.set(authorizer.authorizerId, authorizer.ttlSeconds, values, answer);
  }

  const decision = answer.policy.evaluate(arn);
  if (decision === 'allow') return { kind: 'allow', answer };
  return refuse(
    'ACCESS_DENIED',
    decision === 'explicitDeny'
      ? 'User is not authorized to access this resource with an explicit deny'
      : 'User is not authorized to access this resource',
    { principalId: answer.principalId, ...answer.context },
  );
}
