import { OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import { operationDocs, TAGS } from './docs';
import { ErrorStatus, OPERATIONS, OperationSpec, ROUTES, RouteDefinition } from './routes';
import { ErrorBody, PathParams } from './schemas';

/**
 * openapi/admin-api.json, generated from the contract by the build (scripts/openapi.js); a test fails when the
 * committed document is not what this returns. Only the build and the tests load this module (and the generator):
 * the Lambda does not.
 */

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** The shared error responses: every route lists the statuses it can answer (OPERATIONS[...].errors). */
const ERROR_RESPONSES = {
  400: {
    name: 'BadRequest',
    config: {
      description: 'The request is malformed: what to fix is in the message (and `param`). Nothing was written.',
      content: {
        'application/json': {
          schema: ERROR_REF,
          example: {
            error: {
              message: 'Unrecognized request argument supplied: enable. Allowed: entries, enabled.',
              type: 'invalid_request_error',
              param: 'enable',
              code: 'unknown_parameter',
            },
          },
        },
      },
    },
  },
  404: {
    name: 'NotFound',
    config: { description: 'Unknown route, API key or entry.', content: { 'application/json': { schema: ERROR_REF } } },
  },
  405: {
    name: 'MethodNotAllowed',
    config: {
      description: 'The path exists for other methods (listed in the Allow header).',
      headers: { Allow: { schema: { type: 'string' as const } } },
      content: { 'application/json': { schema: ERROR_REF } },
    },
  },
  409: {
    name: 'Conflict',
    config: {
      description:
        'Duplicate entry (every one listed in `rejected`), revoked key, too much write contention, or `would_block_recent_traffic`: the lockout guard found source addresses with requests in the last 24 hours that the change would block (every one listed in `wouldBlock`; add them, or repeat with force). `traffic_not_recorded` (preview): the deployment records no traffic. Nothing was written.',
      content: { 'application/json': { schema: ERROR_REF } },
    },
  },
  412: {
    name: 'PreconditionFailed',
    config: {
      description: 'If-Match named a stale version. Nothing was written.',
      content: { 'application/json': { schema: ERROR_REF } },
    },
  },
  413: {
    name: 'PayloadTooLarge',
    config: {
      description: 'The body exceeds the limit stated in the message.',
      content: { 'application/json': { schema: ERROR_REF } },
    },
  },
  422: {
    name: 'Unprocessable',
    config: {
      description:
        "The list would exceed maxEntries (`allowlist_limit_exceeded`) or DynamoDB's item size (`allowlist_too_large`). Nothing was written.",
      content: {
        'application/json': {
          schema: ERROR_REF,
          example: {
            error: {
              message:
                'An allowlist holds at most 50 entries (the maxEntries limit); it has 50 and this request adds 1.',
              type: 'invalid_request_error',
              param: 'entries',
              code: 'allowlist_limit_exceeded',
            },
          },
        },
      },
    },
  },
  503: {
    name: 'ServiceUnavailable',
    config: {
      description:
        'The store is unavailable. `storage_unavailable`: nothing was written; retry. `traffic_unavailable`: the recorded traffic could not be read (preview), or the lockout guard could not read it: nothing was written; retry, or repeat the write with force. `write_outcome_unknown` (writes only): DynamoDB did not confirm the commit and it could not be checked; the change was made if and only if the audit log has the event the message names: check before retrying. The authorizer caches are flushed before this answer as for a success; if the change was made, it applies within the propagation delay of its commit, as the message says.',
      content: { 'application/json': { schema: ERROR_REF } },
    },
  },
} satisfies Record<ErrorStatus, { readonly name: string; readonly config: object }>;

const ETAG = { $ref: '#/components/headers/ETag' };

const IF_MATCH = z.string().optional().meta({
  description:
    'Apply the change only if the list is still at this version (its ETag; `"3"`, `W/"3"` or `3`). Stale: 412 version_mismatch, nothing written.',
  example: '"3"',
});

function registerRoute(registry: OpenAPIRegistry, route: RouteDefinition): void {
  const spec: OperationSpec = OPERATIONS[route.operation];
  const docs = operationDocs(route.operation, route.scope);
  const params = Object.fromEntries(route.params.map((name) => [name, PathParams[name]]));
  registry.registerPath({
    method: route.method.toLowerCase() as Lowercase<RouteDefinition['method']>,
    path: route.path,
    operationId: `${route.operation}${route.scope ?? ''}`,
    tags: [docs.tag],
    summary: docs.summary,
    ...(docs.description ? { description: docs.description } : {}),
    request: {
      params: z.object(params),
      ...(spec.query ? { query: spec.query } : {}),
      ...(route.versioned ? { headers: z.object({ 'If-Match': IF_MATCH }) } : {}),
      ...(spec.body
        ? {
            body: {
              required: spec.bodyOptional !== true,
              content: {
                'application/json': {
                  schema: spec.body,
                  ...(docs.requestExample ? { example: docs.requestExample } : {}),
                },
              },
            },
          }
        : {}),
    },
    responses: {
      [spec.success.status]: {
        description: spec.success.description,
        ...(spec.versioned ? { headers: { ETag: ETAG } } : {}),
        content: { 'application/json': { schema: spec.success.schema } },
      },
      ...Object.fromEntries(
        spec.errors.map((status) => [status, { $ref: `#/components/responses/${ERROR_RESPONSES[status].name}` }]),
      ),
    },
  });
}

export function adminOpenApiDocument(): ReturnType<OpenApiGeneratorV3['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'sigv4', {
    type: 'apiKey',
    name: 'Authorization',
    in: 'header',
    description: 'AWS Signature Version 4 (API Gateway AWS_IAM authorization), service `execute-api`.',
    'x-amazon-apigateway-authtype': 'awsSigv4',
  });
  registry.registerComponent('headers', 'ETag', {
    description: 'The allowlist version, quoted: send it back in If-Match.',
    schema: { type: 'string', example: '"3"' },
  });
  for (const { name, config } of Object.values(ERROR_RESPONSES)) registry.registerComponent('responses', name, config);
  for (const route of ROUTES) registerRoute(registry, route);
  // The error schema is named by its `.meta({ id })`; the shared error responses point at it by $ref.
  return new OpenApiGeneratorV3([...registry.definitions, { type: 'schema', schema: ErrorBody }]).generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'cdk-ip-allowlist admin API',
      version: '1',
      description:
        'Manage the IP allowlists (organization, project, API key) and the API keys enforced by the cdk-ip-allowlist authorizer, test IPs with the check tool, and read the audit log. Every method uses AWS_IAM authorization (SigV4); `AllowlistAdminApi.grantRead(grantee, org)` / `grantWrite(grantee, org)` give a principal one organization\'s paths. Every write answers `propagation`: `flushed` says whether the protected stage\'s authorizer cache was flushed after every decision on the old data had been returned (the change is then in force, on our side: API Gateway applies a flush asynchronously); `maxDelaySeconds` is the worst case, from the response, until every request sees the change. Errors are always `{"error": {"message", "type", "param", "code"}}`.',
    },
    servers: [
      {
        url: 'https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}',
        variables: {
          restApiId: { default: 'abc123defg' },
          region: { default: 'us-east-1' },
          stage: { default: 'admin' },
        },
      },
    ],
    security: [{ sigv4: [] }],
    tags: TAGS.map((name) => ({ name })),
  });
}

/** The document as committed: two-space JSON and a final newline. */
export function adminOpenApiJson(): string {
  return `${JSON.stringify(adminOpenApiDocument(), null, 2)}\n`;
}
