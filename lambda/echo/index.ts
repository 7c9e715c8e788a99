import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

/**
 * The example upstream: echoes what reached it, including the authorizer context API Gateway passed on.
 * It shows an integrator exactly which organization, project and key a request was authorized as.
 */
export function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const authorizer: Readonly<Record<string, unknown>> = event.requestContext?.authorizer ?? {};
  return Promise.resolve({
    statusCode: 200,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      message: 'Hello from the upstream: this request passed the IP allowlist.',
      method: event.httpMethod,
      path: event.path,
      sourceIp: event.requestContext?.identity?.sourceIp ?? null,
      organizationId: authorizer.organizationId ?? null,
      projectId: authorizer.projectId ?? null,
      apiKeyId: authorizer.apiKeyId ?? null,
    }),
  });
}
