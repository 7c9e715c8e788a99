import type { APIGatewayEventIdentity, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

/**
 * API Gateway (REST, v1) event shapes shared by the handler tests and the benchmarks, so every caller builds the
 * events the way API Gateway really sends them: headers as sent plus their multi-value twin, and a full identity.
 */

/** `multiValueHeaders` as API Gateway derives it from single-valued headers. */
export function multiValueOf(headers: Record<string, string>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
}

/** `requestContext.identity` with every field API Gateway sends; unsigned callers have nulls. */
export function eventIdentity(
  fields: Partial<APIGatewayEventIdentity> & { sourceIp: string },
): APIGatewayEventIdentity {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    user: null,
    userAgent: 'test',
    userArn: null,
    ...fields,
  };
}

export interface RequestAuthorizerEventOptions {
  /** Sent as `Authorization: Bearer <key>`; omitted when undefined. */
  readonly key?: string;
  readonly sourceIp: string;
  /** Further headers (client-controlled ones the authorizer must ignore, for example). */
  readonly headers?: Record<string, string>;
  /** @default 'GET' */
  readonly method?: string;
  /** @default '/v1/models' */
  readonly resourcePath?: string;
  /** @default - derived from region, account, api id, stage, method and path */
  readonly methodArn?: string;
  /** @default 'req-1' */
  readonly requestId?: string;
  /** @default 'abc123defg' */
  readonly apiId?: string;
  /** @default 'eu-west-1' */
  readonly region?: string;
}

/** A REST API REQUEST authorizer event as API Gateway sends it. */
export function requestAuthorizerEvent(options: RequestAuthorizerEventOptions): APIGatewayRequestAuthorizerEvent {
  const method = options.method ?? 'GET';
  const resourcePath = options.resourcePath ?? '/v1/models';
  const apiId = options.apiId ?? 'abc123defg';
  const headers: Record<string, string> = { Host: 'api.example.com', 'User-Agent': 'test', ...options.headers };
  if (options.key !== undefined) headers.Authorization = `Bearer ${options.key}`;
  return {
    type: 'REQUEST',
    methodArn:
      options.methodArn ??
      `arn:aws:execute-api:${options.region ?? 'eu-west-1'}:123456789012:${apiId}/prod/${method}${resourcePath}`,
    resource: resourcePath,
    path: resourcePath,
    httpMethod: method,
    headers,
    multiValueHeaders: multiValueOf(headers),
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId,
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: `/prod${resourcePath}`,
      stage: 'prod',
      requestId: options.requestId ?? 'req-1',
      requestTimeEpoch: 0,
      resourceId: 'res1',
      resourcePath,
      identity: eventIdentity({ sourceIp: options.sourceIp }),
    },
  };
}
