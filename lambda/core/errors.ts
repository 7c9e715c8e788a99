/**
 * The error bodies clients see, in the shape of the API we model:
 * `{"error":{"message","type","param","code"}}`.
 *
 * The gateway responses of the construct and the authorizer's Deny context are both built from these, so the
 * wording lives in one place.
 */

export interface ApiErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string;
  };
}

export interface ApiErrorSpec {
  readonly message: string;
  readonly type: string;
  readonly code: string;
}

export const ERRORS = {
  ipNotAuthorizedOrganization: {
    message: 'Your IP is not authorized to access this organization.',
    type: 'ip_not_authorized',
    code: 'ip_not_authorized',
  },
  ipNotAuthorizedProject: {
    message: 'Your IP is not authorized to access this project.',
    type: 'ip_not_authorized',
    code: 'ip_not_authorized',
  },
  ipNotAuthorizedKey: {
    message: 'Your IP is not authorized to use this API key.',
    type: 'ip_not_authorized',
    code: 'ip_not_authorized',
  },
  invalidApiKey: {
    message: 'Incorrect API key provided.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  missingApiKey: {
    message:
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    type: 'invalid_request_error',
    code: 'missing_api_key',
  },
  authorizerUnavailable: {
    message: 'The request could not be authorized right now because the allowlist store is unavailable. Please retry.',
    type: 'server_error',
    code: 'authorizer_unavailable',
  },
} as const satisfies Record<string, ApiErrorSpec>;

export function errorBody(spec: ApiErrorSpec, param: string | null = null): ApiErrorBody {
  return { error: { message: spec.message, type: spec.type, param, code: spec.code } };
}
