import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { CfnGatewayResponse } from 'aws-cdk-lib/aws-apigateway';
import { ERRORS, errorBody } from '../lambda/core/errors';
import { DEFAULT_API_KEY_HEADER } from './contract';

/**
 * One API Gateway gateway response, as plain data. The local mode reads the synthesized template; this form is
 * for tests and for anyone who needs the bodies without synthesizing.
 */
export interface GatewayResponseDefinition {
  /** The gateway response type, e.g. `ACCESS_DENIED`. */
  readonly type: string;
  /**
   * HTTP status code of the response.
   *
   * @default - the status API Gateway chose (used by DEFAULT_4XX and DEFAULT_5XX, which cover many statuses)
   */
  readonly statusCode?: string;
  /** Response headers, name to plain value (not the quoted CloudFormation form). */
  readonly headers: { [name: string]: string };
  /**
   * Further response headers, name to API Gateway mapping expression as the template holds it (`'value'` for a
   * fixed value, `method.request.header.Origin` for a request value): the authorizer's `gatewayResponseHeaders`.
   *
   * @default - none
   */
  readonly mappedHeaders?: { [name: string]: string };
  /** The `application/json` body template; `$context...` variables are filled in by API Gateway. */
  readonly template: string;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/**
 * The authorizer's Deny carries `errorMessage`, `errorType` and `errorCode` in its context (built from ERRORS);
 * API Gateway substitutes them here. Those messages contain no `"` or `\`, so plain substitution stays valid JSON.
 */
const ACCESS_DENIED_TEMPLATE =
  '{"error":{"message":"$context.authorizer.errorMessage","type":"$context.authorizer.errorType",' +
  '"param":null,"code":"$context.authorizer.errorCode"}}';

/**
 * The body of a DEFAULT_4XX or DEFAULT_5XX response (errors API Gateway answers itself) in the shape of the
 * authorizer's errors, with `type` as the error type. Shared with the admin API, whose errors have the same shape.
 * `$context.error.messageString` is already a quoted JSON string, hence no quotes around it.
 */
export function defaultErrorResponseTemplate(type: string): string {
  return `{"error":{"message":$context.error.messageString,"type":"${type}","param":null,"code":"$context.error.responseType"}}`;
}

/**
 * The gateway responses an API protected by the IP allowlist authorizer needs, every one a JSON error in the shape
 * `{"error":{"message","type","param","code"}}`:
 *
 * - UNAUTHORIZED (API Gateway found no key header, so the authorizer never ran): 401 `missing_api_key`.
 * - ACCESS_DENIED (the authorizer denied: IP not allowed, unknown or revoked key): 401 with the authorizer's error.
 * - AUTHORIZER_FAILURE and AUTHORIZER_CONFIGURATION_ERROR (the authorizer failed or timed out): 503
 *   `authorizer_unavailable`. The request is refused: the API fails closed.
 * - DEFAULT_4XX and DEFAULT_5XX: every other error API Gateway produces, in the same shape.
 *
 * @param apiKeyHeader the header carrying `Bearer <key>`, named in the missing-key message
 */
export function gatewayResponseDefinitions(
  apiKeyHeader: string = DEFAULT_API_KEY_HEADER,
  mappedHeaders: { readonly [name: string]: string } = {},
): GatewayResponseDefinition[] {
  const missingKey = {
    ...ERRORS.missingApiKey,
    message: ERRORS.missingApiKey.message.split(DEFAULT_API_KEY_HEADER).join(apiKeyHeader),
  };
  const unavailable = JSON.stringify(errorBody(ERRORS.authorizerUnavailable));
  const extra = Object.keys(mappedHeaders).length > 0 ? { mappedHeaders: { ...mappedHeaders } } : {};
  const definitions: GatewayResponseDefinition[] = [
    { type: 'UNAUTHORIZED', statusCode: '401', headers: JSON_HEADERS, template: JSON.stringify(errorBody(missingKey)) },
    { type: 'ACCESS_DENIED', statusCode: '401', headers: JSON_HEADERS, template: ACCESS_DENIED_TEMPLATE },
    { type: 'AUTHORIZER_FAILURE', statusCode: '503', headers: JSON_HEADERS, template: unavailable },
    { type: 'AUTHORIZER_CONFIGURATION_ERROR', statusCode: '503', headers: JSON_HEADERS, template: unavailable },
    { type: 'DEFAULT_4XX', headers: JSON_HEADERS, template: defaultErrorResponseTemplate('invalid_request_error') },
    { type: 'DEFAULT_5XX', headers: JSON_HEADERS, template: defaultErrorResponseTemplate('server_error') },
  ];
  return definitions.map((d) => ({ ...d, ...extra }));
}

/** Construct id of a gateway response under the RestApi, e.g. `IpAllowlistAccessDenied`. */
function responseId(type: string): string {
  return 'IpAllowlist' + type.toLowerCase().replace(/(^|_)([a-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());
}

/**
 * Adds `definitions` to `api`. Adding them twice to one API is a no-op; a gateway response of the same type
 * defined elsewhere on the API is reported at synth time (CloudFormation would refuse the second one).
 */
export function addGatewayResponsesTo(
  api: apigateway.RestApiBase,
  definitions: readonly GatewayResponseDefinition[],
): void {
  for (const def of definitions) {
    const id = responseId(def.type);
    if (api.node.tryFindChild(id)) continue;
    const responseHeaders: { [name: string]: string } = {};
    for (const [name, value] of Object.entries(def.headers)) responseHeaders[name] = `'${value}'`;
    Object.assign(responseHeaders, def.mappedHeaders);
    api.addGatewayResponse(id, {
      type: apigateway.ResponseType.of(def.type),
      statusCode: def.statusCode,
      responseHeaders,
      templates: { 'application/json': def.template },
    });
  }
  if (!checkedApis.has(api)) {
    checkedApis.add(api);
    api.node.addValidation({ validate: () => duplicateResponseTypes(api) });
  }
}

/** APIs that already carry the duplicate check (keyed by the construct, so nothing outlives its app). */
const checkedApis = new WeakSet<apigateway.RestApiBase>();

function duplicateResponseTypes(api: apigateway.RestApiBase): string[] {
  const seen = new Map<string, string>();
  const errors: string[] = [];
  for (const child of api.node.findAll()) {
    if (!(child instanceof CfnGatewayResponse)) continue;
    const type = child.responseType;
    const previous = seen.get(type);
    if (previous) {
      errors.push(
        `gateway response ${type} is defined twice on ${api.node.path} (${previous} and ${child.node.path}); remove one`,
      );
    } else {
      seen.set(type, child.node.path);
    }
  }
  return errors;
}
