import { randomUUID } from 'node:crypto';
import { checkTemplateSupported, evaluateMappingExpression, MappingSources, renderTemplate } from '../mapping';
import type { ApiModel, GatewayResponseModel } from '../model';
import type { Reply, RequestInfo } from './http-io';

/**
 * The last stage for every request API Gateway refuses or fails itself: the gateway response. Each error type
 * (REQUEST_TOO_LARGE, MISSING_AUTHENTICATION_TOKEN, UNAUTHORIZED, ACCESS_DENIED, AUTHORIZER_CONFIGURATION_ERROR,
 * INTEGRATION_TIMEOUT, ...) renders the API's response of that type, else of its family (DEFAULT_4XX or
 * DEFAULT_5XX), else API Gateway's default: its status, its header mappings and its application/json template,
 * with `$context.error.*` and (for ACCESS_DENIED) `$context.authorizer.*` filled in.
 */

/** Status and error type of each gateway response type when the API does not customize it. */
const BUILT_IN_RESPONSES: Record<string, { status: number; errorType: string }> = {
  ACCESS_DENIED: { status: 403, errorType: 'AccessDeniedException' },
  AUTHORIZER_CONFIGURATION_ERROR: { status: 500, errorType: 'AuthorizerConfigurationException' },
  AUTHORIZER_FAILURE: { status: 500, errorType: 'AuthorizerFailureException' },
  INTEGRATION_FAILURE: { status: 504, errorType: 'InternalServerErrorException' },
  INTEGRATION_TIMEOUT: { status: 504, errorType: 'InternalServerErrorException' },
  MISSING_AUTHENTICATION_TOKEN: { status: 403, errorType: 'MissingAuthenticationTokenException' },
  REQUEST_TOO_LARGE: { status: 413, errorType: 'RequestTooLargeException' },
  UNAUTHORIZED: { status: 401, errorType: 'UnauthorizedException' },
  DEFAULT_4XX: { status: 400, errorType: 'BadRequestException' },
  DEFAULT_5XX: { status: 500, errorType: 'InternalServerErrorException' },
};

const DEFAULT_TEMPLATE = '{"message":$context.error.messageString}';

/** Renders a gateway response; `info` is undefined only for a request too large to read. */
export type RespondWith = (
  type: string,
  info: RequestInfo | undefined,
  error: { message: string | null },
  authorizerContext?: Record<string, unknown>,
) => Reply;

/** Refuses, when local mode starts, a response template it could not render faithfully. */
export function checkGatewayResponseTemplates(api: ApiModel): void {
  for (const r of api.gatewayResponses.values()) {
    for (const [contentType, t] of Object.entries(r.templates)) {
      checkTemplateSupported(t, `gateway response ${r.responseType} (${contentType})`);
    }
  }
}

/** Renders a gateway response of the given type from the API's settings (or API Gateway's defaults). */
export function renderGatewayResponse(
  api: ApiModel,
  type: string,
  info: RequestInfo | undefined,
  error: { message: string | null },
  authorizerContext?: Record<string, unknown>,
): Reply {
  const builtIn = BUILT_IN_RESPONSES[type] ?? BUILT_IN_RESPONSES.DEFAULT_5XX;
  const family = builtIn.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
  const configured: GatewayResponseModel | undefined =
    api.gatewayResponses.get(type) ?? api.gatewayResponses.get(family);
  const statusCode = api.gatewayResponses.get(type)?.statusCode ?? builtIn.status;
  const requestId = info?.requestId ?? randomUUID();
  const context = {
    requestId,
    extendedRequestId: requestId,
    apiId: api.apiId,
    stage: api.stageName,
    httpMethod: info?.httpMethod,
    path: info ? `/${api.stageName}${info.path}` : undefined,
    identity: { sourceIp: info?.sourceIp, userAgent: info?.userAgent },
    authorizer: authorizerContext ?? {},
    error: {
      message: error.message,
      messageString: JSON.stringify(error.message),
      responseType: type,
      validationErrorString: '',
    },
  };
  const templates = configured?.templates ?? {};
  const template = templates['application/json'] ?? Object.values(templates)[0] ?? DEFAULT_TEMPLATE;
  const body = renderTemplate(template, { context, stageVariables: {} });
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': builtIn.errorType,
  };
  const sources: MappingSources = {
    headers: info?.lowerHeaders ?? {},
    query: info?.query ?? {},
    path: {},
    context,
    stageVariables: {},
  };
  for (const [name, expr] of Object.entries(configured?.headers ?? {})) {
    const value = evaluateMappingExpression(expr, sources);
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  return { statusCode, headers, body };
}
