import type { ApiModel } from '../model';
import type { RequestInfo } from './http-io';
import type { Route } from './routing';

/**
 * What API Gateway builds for a routed request, before authorization: the `$context` (`requestContext` in the
 * events it sends to Lambda) that identity sources, the authorizer event, mapping expressions and the integrations
 * read, and the forwarding headers it adds to what it passes on. Authorization fills in `identity` (AWS_IAM,
 * iam-caller.ts) or `authorizer` (CUSTOM, custom-authorizer.ts).
 */

export interface CallerIdentity {
  accessKey: string | null;
  accountId: string | null;
  caller: string | null;
  cognitoAuthenticationProvider: null;
  cognitoAuthenticationType: null;
  cognitoIdentityId: null;
  cognitoIdentityPoolId: null;
  principalOrgId: null;
  sourceIp: string;
  user: string | null;
  userAgent: string | null;
  userArn: string | null;
}

export interface RequestContext extends Record<string, unknown> {
  readonly identity: CallerIdentity;
  /** The authorizer's principalId and context, once a CUSTOM authorizer allowed the request. */
  authorizer?: Record<string, unknown>;
}

export function buildRequestContext(api: ApiModel, accountId: string, info: RequestInfo, route: Route): RequestContext {
  return {
    accountId,
    apiId: api.apiId,
    domainName: info.host,
    domainPrefix: info.host.split('.')[0],
    extendedRequestId: info.requestId,
    httpMethod: info.httpMethod,
    identity: {
      accessKey: null,
      accountId: null,
      caller: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: info.sourceIp,
      user: null,
      userAgent: info.userAgent ?? null,
      userArn: null,
    },
    path: `/${api.stageName}${info.path}`,
    protocol: 'HTTP/1.1',
    requestId: info.requestId,
    requestTime: formatRequestTime(info.requestTimeEpoch),
    requestTimeEpoch: info.requestTimeEpoch,
    resourceId: route.node.resourceId,
    resourcePath: route.node.path,
    stage: api.stageName,
  };
}

/**
 * The headers API Gateway passes on (to a REQUEST authorizer and to the integrations): it appends the peer address
 * to X-Forwarded-For (it never replaces what the client sent) and adds the protocol the client used.
 */
export function forwardedHeaders(info: RequestInfo): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers = { ...info.headers };
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(info.multiValueHeaders)) multiValueHeaders[k] = [...v];
  const xffName = Object.keys(headers).find((k) => k.toLowerCase() === 'x-forwarded-for') ?? 'X-Forwarded-For';
  const xff = headers[xffName] ? `${headers[xffName]}, ${info.sourceIp}` : info.sourceIp;
  headers[xffName] = xff;
  multiValueHeaders[xffName] = [xff];
  headers['X-Forwarded-Proto'] = 'http';
  multiValueHeaders['X-Forwarded-Proto'] = ['http'];
  return { headers, multiValueHeaders };
}

/** Lambda events carry null, not `{}`, for an empty map (query, path parameters). */
export function emptyToNull<T extends object>(o: T): T | null {
  return Object.keys(o).length === 0 ? null : o;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function formatRequestTime(epoch: number): string {
  const d = new Date(epoch);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
