import * as http from 'node:http';
import * as https from 'node:https';
import type { InvokeResult } from '../lambda-runner';
import { evaluateMappingExpression, MappingSources } from '../mapping';
import type { ApiModel, MethodModel } from '../model';
import type { RespondWith } from './gateway-responses';
import { jsonReply, Reply, RequestInfo } from './http-io';
import { emptyToNull, forwardedHeaders, RequestContext } from './request-context';
import type { Route } from './routing';

/**
 * Stage 3: the integration, once the request is authorized. Two are emulated: Lambda proxy (AWS_PROXY: the v1
 * proxy event, the authorizer's context in `requestContext.authorizer`; a Lambda error or a malformed result is a
 * 502 "Internal server error") and HTTP proxy (request parameters mapped from `context.authorizer.*`, headers, path
 * and query; hop-by-hop headers dropped). No answer within the integration's timeout is INTEGRATION_TIMEOUT (504);
 * an upstream that cannot be reached is INTEGRATION_FAILURE.
 */

export interface Invoker {
  invoke(functionLogicalId: string, event: unknown): Promise<InvokeResult>;
}

export interface Integrations {
  readonly api: ApiModel;
  readonly invoker: Invoker;
  readonly respond: RespondWith;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

export async function integrate(
  stage: Integrations,
  info: RequestInfo,
  route: Route,
  requestContext: RequestContext,
): Promise<Reply> {
  const integration = route.method.integration;
  if (integration.type === 'AWS_PROXY') {
    const { headers, multiValueHeaders } = forwardedHeaders(info);
    const isText = isTextBody(info);
    const event = {
      resource: route.node.path,
      path: info.path,
      httpMethod: info.httpMethod,
      headers,
      multiValueHeaders,
      queryStringParameters: emptyToNull(info.query),
      multiValueQueryStringParameters: emptyToNull(info.multiQuery),
      pathParameters: emptyToNull(route.pathParameters),
      stageVariables: null,
      requestContext,
      body: info.body.length === 0 ? null : isText ? info.body.toString('utf8') : info.body.toString('base64'),
      isBase64Encoded: info.body.length > 0 && !isText,
    };
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), integration.timeoutMs).unref(),
    );
    const result = await Promise.race([stage.invoker.invoke(integration.functionLogicalId, event), timeout]);
    if (result === 'timeout')
      return stage.respond('INTEGRATION_TIMEOUT', info, { message: 'Endpoint request timed out' });
    if (!result.ok) return internalServerError(stage, info);
    return proxyResponse(result.payload, info) ?? internalServerError(stage, info);
  }
  if (integration.type === 'HTTP_PROXY') return httpProxy(stage, info, route, requestContext, integration);
  return jsonReply(
    500,
    { message: `local mode does not emulate this method's ${integration.description}` },
    info.requestId,
  );
}

function internalServerError(stage: Integrations, info: RequestInfo): Reply {
  // Lambda errors and malformed proxy responses are a 502 with this body in API Gateway.
  const r = stage.respond('DEFAULT_5XX', info, { message: 'Internal server error' });
  return { ...r, statusCode: stage.api.gatewayResponses.get('DEFAULT_5XX')?.statusCode ?? 502 };
}

/** Validates a Lambda proxy result as API Gateway does; undefined when malformed (-> 502). */
function proxyResponse(payload: unknown, info: RequestInfo): Reply | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const p = payload as Record<string, unknown>;
  const statusCode = Number(p.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return undefined;
  if (p.body !== undefined && p.body !== null && typeof p.body !== 'string') return undefined;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries((p.multiValueHeaders ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(v)) return undefined;
    headers[k.toLowerCase()] = v.map(String);
  }
  for (const [k, v] of Object.entries((p.headers ?? {}) as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object') return undefined;
    headers[k.toLowerCase()] = String(v);
  }
  headers['content-type'] ??= 'application/json';
  headers['x-amzn-requestid'] = info.requestId;
  const text = typeof p.body === 'string' ? p.body : '';
  return { statusCode, headers, body: p.isBase64Encoded === true ? Buffer.from(text, 'base64') : text };
}

function httpProxy(
  stage: Integrations,
  info: RequestInfo,
  route: Route,
  requestContext: RequestContext,
  integration: Extract<MethodModel['integration'], { type: 'HTTP_PROXY' }>,
): Promise<Reply> {
  const sources: MappingSources = {
    headers: info.lowerHeaders,
    query: info.query,
    path: route.pathParameters,
    context: requestContext,
    stageVariables: {},
  };
  const pathParams: Record<string, string> = {};
  const extraHeaders: Record<string, string> = {};
  const extraQuery: Record<string, string> = {};
  for (const [target, expr] of Object.entries(integration.requestParameters)) {
    const m = /^integration\.request\.(path|header|querystring)\.(.+)$/.exec(target);
    if (!m) continue;
    const value = evaluateMappingExpression(expr, sources);
    if (value === undefined) continue;
    if (m[1] === 'path') pathParams[m[2]] = value;
    else if (m[1] === 'header') extraHeaders[m[2]] = value;
    else extraQuery[m[2]] = value;
  }
  const uri = integration.uri.replace(/\{([^}+]+)\+?\}/g, (_m, name: string) =>
    (pathParams[name] ?? '').split('/').map(encodeURIComponent).join('/'),
  );
  const url = new URL(uri);
  const query = new URLSearchParams(info.rawQuery);
  for (const [k, v] of Object.entries(extraQuery)) query.set(k, v);
  url.search = query.toString();

  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(info.multiValueHeaders)) {
    if (!HOP_BY_HOP.has(k.toLowerCase())) headers[k] = v;
  }
  const { headers: withForwarded } = forwardedHeaders(info);
  for (const [k, v] of Object.entries(withForwarded)) if (/^x-forwarded-/i.test(k)) headers[k] = v;
  for (const [k, v] of Object.entries(extraHeaders)) headers[k] = v;
  headers['content-length'] = String(info.body.length);

  const method = integration.httpMethod === 'ANY' ? info.httpMethod : integration.httpMethod;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<Reply>((resolve) => {
    const upstream = client.request(url, { method, headers, timeout: integration.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        out['x-amzn-requestid'] = info.requestId;
        resolve({ statusCode: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
      });
      res.on('error', () => resolve(stage.respond('INTEGRATION_FAILURE', info, { message: 'Internal server error' })));
    });
    upstream.on('timeout', () => {
      upstream.destroy();
      resolve(stage.respond('INTEGRATION_TIMEOUT', info, { message: 'Endpoint request timed out' }));
    });
    upstream.on('error', () =>
      resolve(stage.respond('INTEGRATION_FAILURE', info, { message: 'Internal server error' })),
    );
    upstream.end(info.body);
  });
}

/** Without binaryMediaTypes (the example app sets none) API Gateway passes bodies as text. */
function isTextBody(info: RequestInfo): boolean {
  return info.body.length === 0 || !info.body.includes(0);
}
