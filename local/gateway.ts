import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import type { InvokeResult } from './lambda-runner';
import { checkTemplateSupported, evaluateMappingExpression, MappingSources, renderTemplate } from './mapping';
import type { ApiModel, AuthorizerModel, GatewayResponseModel, MethodModel, ResourceNode } from './model';
import {
  AuthorizerAnswer,
  InvalidAuthorizerResponseError,
  methodArn,
  parseAuthorizerAnswer,
  PolicyDecision,
} from './policy';

/**
 * An emulation of one API Gateway REST API stage, driven entirely by the API's model read from the template.
 * What it emulates, in the order API Gateway applies it to a request:
 * 1. route: the most specific resource (literal, then `{param}`, then `{proxy+}`) and its method (or ANY);
 *    no match -> MISSING_AUTHENTICATION_TOKEN;
 * 2. CUSTOM (Lambda REQUEST/TOKEN) authorization: identity sources read from the request, a missing or empty
 *    one -> UNAUTHORIZED without calling the Lambda; the result cache keyed by the identity sources' values with
 *    the authorizer's TTL (0 = none), counted from when the authorizer returns (a decision that was slow to come
 *    back is kept its whole TTL from then); FlushStageAuthorizersCache forgets every cached decision at once (AWS
 *    answers it 202 and applies it asynchronously); the returned policy evaluated against THIS request's method
 *    ARN, also when it came from the cache; Deny or no matching Allow -> ACCESS_DENIED with the authorizer context available to
 *    the response template; an error, a timeout or an invalid answer -> AUTHORIZER_CONFIGURATION_ERROR;
 *    AWS_IAM methods are NOT signature-checked locally (the caller is `local:<user>`);
 * 3. integration: Lambda proxy (the v1 proxy event, authorizer context in requestContext.authorizer) or HTTP
 *    proxy (request parameters mapped from `context.authorizer.*`, headers, path and query);
 * 4. gateway responses (status, header mappings, application/json template) for every error API Gateway makes.
 * The client's IP is the TCP peer address; no header can change it.
 */

export interface Invoker {
  invoke(functionLogicalId: string, event: unknown): Promise<InvokeResult>;
}

export interface GatewayOptions {
  readonly region: string;
  readonly accountId: string;
  readonly invoker: Invoker;
  /** Clock for the authorizer cache. @default Date.now */
  readonly now?: () => number;
  /** Caller name for AWS_IAM methods when the request has no `x-local-user` header. @default - the OS user */
  readonly defaultLocalUser?: string;
  /** Receives one line per request. @default - no access log */
  readonly accessLog?: (line: string) => void;
}

/** Counters tests use to prove what the gateway did (and did not) do. */
export interface GatewayStats {
  authorizerInvocations: number;
  authorizerCacheHits: number;
  integrationInvocations: number;
  /** FlushStageAuthorizersCache calls received. */
  authorizerCacheFlushes: number;
}

interface CacheEntry {
  readonly answer: AuthorizerAnswer;
  readonly expiresAt: number;
}

interface RequestInfo {
  readonly requestId: string;
  readonly httpMethod: string;
  readonly path: string;
  readonly rawQuery: string;
  /** As sent (original case), each name once with its last value, as API Gateway's `headers`. */
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly lowerHeaders: Record<string, string>;
  readonly query: Record<string, string>;
  readonly multiQuery: Record<string, string[]>;
  readonly sourceIp: string;
  readonly userAgent: string | undefined;
  readonly body: Buffer;
  readonly requestTimeEpoch: number;
  readonly host: string;
}

interface Route {
  readonly node: ResourceNode;
  readonly method: MethodModel;
  readonly pathParameters: Record<string, string>;
}

interface Reply {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | string;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Status and message of each gateway response type when the API does not customize it. */
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

export class GatewayEmulator {
  readonly stats: GatewayStats = {
    authorizerInvocations: 0,
    authorizerCacheHits: 0,
    integrationInvocations: 0,
    authorizerCacheFlushes: 0,
  };
  private readonly cache = new Map<string, Map<string, CacheEntry>>();
  private readonly now: () => number;

  constructor(
    readonly api: ApiModel,
    private readonly options: GatewayOptions,
  ) {
    this.now = options.now ?? Date.now;
    for (const r of api.gatewayResponses.values()) {
      for (const [contentType, t] of Object.entries(r.templates)) {
        checkTemplateSupported(t, `gateway response ${r.responseType} (${contentType})`);
      }
    }
  }

  /** FlushStageAuthorizersCache: forget every cached authorizer decision of this stage. */
  flushAuthorizerCache(): void {
    this.stats.authorizerCacheFlushes += 1;
    this.cache.clear();
  }

  /** A Node http request listener serving this stage at the server's root path. */
  readonly listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.handle(req)
      .then((reply) => this.send(res, reply))
      .catch((err: unknown) => {
        // A bug in the emulator itself: say so plainly rather than pretend API Gateway answered.
        const message = `local gateway error: ${err instanceof Error ? err.message : String(err)}`;
        process.stderr.write(`${message}\n`);
        this.send(res, {
          statusCode: 500,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message }),
        });
      });
  };

  private send(res: http.ServerResponse, reply: Reply): void {
    if (res.headersSent) return;
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
    res.writeHead(reply.statusCode, { ...reply.headers, 'content-length': String(body.length) });
    res.end(body);
  }

  async handle(req: http.IncomingMessage): Promise<Reply> {
    const info = await readRequest(req);
    const reply = await this.process(info);
    if (info !== 'tooLarge')
      this.options.accessLog?.(`${info.sourceIp} ${info.httpMethod} ${info.path} -> ${reply.statusCode}`);
    return reply;
  }

  private async process(info: RequestInfo | 'tooLarge'): Promise<Reply> {
    if (info === 'tooLarge') {
      return this.gatewayResponse('REQUEST_TOO_LARGE', undefined, { message: 'Request Too Long' });
    }
    const route = matchRoute(this.api.root, info.path, info.httpMethod);
    if (!route)
      return this.gatewayResponse('MISSING_AUTHENTICATION_TOKEN', info, { message: 'Missing Authentication Token' });

    const requestContext = this.requestContext(info, route);
    if (route.method.authorizationType === 'CUSTOM') {
      const authorizer = route.method.authorizerLogicalId
        ? this.api.authorizers.get(route.method.authorizerLogicalId)
        : undefined;
      if (!authorizer) {
        return this.gatewayResponse('AUTHORIZER_CONFIGURATION_ERROR', info, { message: null });
      }
      const outcome = await this.authorize(authorizer, info, route, requestContext);
      if (outcome.kind === 'response') return outcome.reply;
      requestContext.authorizer = {
        principalId: outcome.answer.principalId,
        integrationLatency: 0,
        // REST APIs hand context values to the integration as strings.
        ...Object.fromEntries(Object.entries(outcome.answer.context).map(([k, v]) => [k, String(v)])),
      };
    } else if (route.method.authorizationType === 'AWS_IAM') {
      const user = info.lowerHeaders['x-local-user'] ?? this.options.defaultLocalUser ?? safeOsUser();
      if (!/^[A-Za-z0-9_.@+=,-]{1,64}$/.test(user)) {
        return json(
          400,
          { message: 'x-local-user must be 1-64 characters of letters, digits and _.@+=,-' },
          info.requestId,
        );
      }
      const identity = requestContext.identity as Record<string, unknown>;
      identity.userArn = `local:${user}`;
      identity.user = user;
      identity.caller = user;
      identity.accountId = this.options.accountId;
      identity.accessKey = 'local';
    } else if (route.method.authorizationType !== 'NONE') {
      return json(
        500,
        { message: `local mode does not emulate ${route.method.authorizationType} authorization` },
        info.requestId,
      );
    }
    return this.integrate(info, route, requestContext);
  }

  private requestContext(info: RequestInfo, route: Route): Record<string, unknown> {
    return {
      accountId: this.options.accountId,
      apiId: this.api.apiId,
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
      path: `/${this.api.stageName}${info.path}`,
      protocol: 'HTTP/1.1',
      requestId: info.requestId,
      requestTime: formatRequestTime(info.requestTimeEpoch),
      requestTimeEpoch: info.requestTimeEpoch,
      resourceId: route.node.resourceId,
      resourcePath: route.node.path,
      stage: this.api.stageName,
    };
  }

  private async authorize(
    authorizer: AuthorizerModel,
    info: RequestInfo,
    route: Route,
    requestContext: Record<string, unknown>,
  ): Promise<{ kind: 'allow'; answer: AuthorizerAnswer } | { kind: 'response'; reply: Reply }> {
    const values: string[] = [];
    for (const source of authorizer.identitySources) {
      let value: unknown;
      if (source.kind === 'header') value = info.lowerHeaders[source.name.toLowerCase()];
      else if (source.kind === 'querystring') value = info.query[source.name];
      else if (source.kind === 'context') value = lookupPath(requestContext, source.name);
      else value = undefined; // No stage variables in local mode.
      if (value === undefined || value === null || String(value) === '') {
        return { kind: 'response', reply: this.gatewayResponse('UNAUTHORIZED', info, { message: 'Unauthorized' }) };
      }
      values.push(String(value));
    }
    if (authorizer.type === 'TOKEN' && authorizer.identityValidationExpression) {
      if (!new RegExp(`^(?:${authorizer.identityValidationExpression})$`).test(values[0] ?? '')) {
        return { kind: 'response', reply: this.gatewayResponse('UNAUTHORIZED', info, { message: 'Unauthorized' }) };
      }
    }

    const arn = methodArn({
      region: this.options.region,
      accountId: this.options.accountId,
      apiId: this.api.apiId,
      stage: this.api.stageName,
      httpMethod: info.httpMethod,
      path: info.path,
    });

    const cacheKey = values.join('\u0000');
    let answer: AuthorizerAnswer | undefined;
    if (authorizer.ttlSeconds > 0) {
      const entry = this.cache.get(authorizer.authorizerId)?.get(cacheKey);
      if (entry && entry.expiresAt > this.now()) {
        answer = entry.answer;
        this.stats.authorizerCacheHits += 1;
      }
    }
    if (!answer) {
      const forwarded = this.eventHeaders(info);
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
      this.stats.authorizerInvocations += 1;
      const result = await this.options.invoker.invoke(authorizer.functionLogicalId, event);
      if (!result.ok) {
        // API Gateway maps exactly this error message to a 401; any other failure is a 5xx.
        if (result.errorMessage === 'Unauthorized') {
          return { kind: 'response', reply: this.gatewayResponse('UNAUTHORIZED', info, { message: 'Unauthorized' }) };
        }
        return {
          kind: 'response',
          reply: this.gatewayResponse('AUTHORIZER_CONFIGURATION_ERROR', info, { message: null }),
        };
      }
      try {
        answer = parseAuthorizerAnswer(result.payload);
      } catch (err) {
        if (!(err instanceof InvalidAuthorizerResponseError)) throw err;
        process.stderr.write(`local gateway: invalid authorizer answer from ${authorizer.name}: ${err.message}\n`);
        return {
          kind: 'response',
          reply: this.gatewayResponse('AUTHORIZER_CONFIGURATION_ERROR', info, { message: null }),
        };
      }
      if (authorizer.ttlSeconds > 0) {
        let perAuthorizer = this.cache.get(authorizer.authorizerId);
        if (!perAuthorizer) this.cache.set(authorizer.authorizerId, (perAuthorizer = new Map()));
        perAuthorizer.set(cacheKey, { answer, expiresAt: this.now() + authorizer.ttlSeconds * 1000 });
      }
    }

    const decision: PolicyDecision = answer.policy.evaluate(arn);
    if (decision === 'allow') return { kind: 'allow', answer };
    const authorizerContext = { principalId: answer.principalId, ...answer.context };
    return {
      kind: 'response',
      reply: this.gatewayResponse(
        'ACCESS_DENIED',
        info,
        {
          message:
            decision === 'explicitDeny'
              ? 'User is not authorized to access this resource with an explicit deny'
              : 'User is not authorized to access this resource',
        },
        authorizerContext,
      ),
    };
  }

  private eventHeaders(info: RequestInfo): {
    headers: Record<string, string>;
    multiValueHeaders: Record<string, string[]>;
  } {
    // API Gateway appends the peer address to X-Forwarded-For (it never replaces what the client sent) and adds
    // the port and protocol the client used.
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

  private async integrate(info: RequestInfo, route: Route, requestContext: Record<string, unknown>): Promise<Reply> {
    const integration = route.method.integration;
    this.stats.integrationInvocations += 1;
    if (integration.type === 'AWS_PROXY') {
      const { headers, multiValueHeaders } = this.eventHeaders(info);
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
      const result = await Promise.race([this.options.invoker.invoke(integration.functionLogicalId, event), timeout]);
      if (result === 'timeout')
        return this.gatewayResponse('INTEGRATION_TIMEOUT', info, { message: 'Endpoint request timed out' });
      if (!result.ok) return this.internalServerError(info);
      return this.proxyResponse(result.payload, info) ?? this.internalServerError(info);
    }
    if (integration.type === 'HTTP_PROXY') return this.httpProxy(info, route, requestContext, integration);
    return json(
      500,
      { message: `local mode does not emulate this method's ${integration.description}` },
      info.requestId,
    );
  }

  private internalServerError(info: RequestInfo): Reply {
    // Lambda errors and malformed proxy responses are a 502 with this body in API Gateway.
    const r = this.gatewayResponse('DEFAULT_5XX', info, { message: 'Internal server error' });
    return { ...r, statusCode: this.api.gatewayResponses.get('DEFAULT_5XX')?.statusCode ?? 502 };
  }

  /** Validates a Lambda proxy result as API Gateway does; undefined when malformed (-> 502). */
  private proxyResponse(payload: unknown, info: RequestInfo): Reply | undefined {
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
    const text = (p.body as string | undefined) ?? '';
    return { statusCode, headers, body: p.isBase64Encoded === true ? Buffer.from(text, 'base64') : text };
  }

  private httpProxy(
    info: RequestInfo,
    route: Route,
    requestContext: Record<string, unknown>,
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
    const { headers: withForwarded } = this.eventHeaders(info);
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
        res.on('error', () =>
          resolve(this.gatewayResponse('INTEGRATION_FAILURE', info, { message: 'Internal server error' })),
        );
      });
      upstream.on('timeout', () => {
        upstream.destroy();
        resolve(this.gatewayResponse('INTEGRATION_TIMEOUT', info, { message: 'Endpoint request timed out' }));
      });
      upstream.on('error', () =>
        resolve(this.gatewayResponse('INTEGRATION_FAILURE', info, { message: 'Internal server error' })),
      );
      upstream.end(info.body);
    });
  }

  /** Renders a gateway response of the given type from the API's settings (or API Gateway's defaults). */
  gatewayResponse(
    type: string,
    info: RequestInfo | undefined,
    error: { message: string | null },
    authorizerContext?: Record<string, unknown>,
  ): Reply {
    const builtIn = BUILT_IN_RESPONSES[type] ?? BUILT_IN_RESPONSES.DEFAULT_5XX;
    const family = builtIn.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
    const configured: GatewayResponseModel | undefined =
      this.api.gatewayResponses.get(type) ?? this.api.gatewayResponses.get(family);
    const statusCode = this.api.gatewayResponses.get(type)?.statusCode ?? builtIn.status;
    const requestId = info?.requestId ?? randomUUID();
    const context = {
      requestId,
      extendedRequestId: requestId,
      apiId: this.api.apiId,
      stage: this.api.stageName,
      httpMethod: info?.httpMethod,
      path: info ? `/${this.api.stageName}${info.path}` : undefined,
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
}

/** Finds the most specific resource for a path, then its method (or ANY). */
export function matchRoute(root: ResourceNode, path: string, httpMethod: string): Route | undefined {
  const segments = path.split('/').filter((s) => s.length > 0);
  const params: Record<string, string> = {};
  const find = (node: ResourceNode, i: number): ResourceNode | undefined => {
    if (i === segments.length) return node;
    const seg = segments[i];
    const literal = node.children.find((c) => c.pathPart === seg);
    if (literal) {
      const found = find(literal, i + 1);
      if (found) return found;
    }
    for (const c of node.children) {
      const m = /^\{([^}+]+)\}$/.exec(c.pathPart);
      if (!m) continue;
      const found = find(c, i + 1);
      if (found) {
        params[m[1]] = safeDecode(seg);
        return found;
      }
    }
    for (const c of node.children) {
      const m = /^\{([^}]+)\+\}$/.exec(c.pathPart);
      if (m) {
        params[m[1]] = segments.slice(i).map(safeDecode).join('/');
        return c;
      }
    }
    return undefined;
  };
  const node = find(root, 0);
  if (!node) return undefined;
  const method = node.methods.get(httpMethod) ?? node.methods.get('ANY');
  return method ? { node, method, pathParameters: params } : undefined;
}

/** API Gateway reports plain IPv4 for IPv4 clients; Node reports them IPv4-mapped on dual-stack sockets. */
export function normalizeSourceIp(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  return m ? m[1] : remoteAddress;
}

async function readRequest(req: http.IncomingMessage): Promise<RequestInfo | 'tooLarge'> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  if (tooLarge) return 'tooLarge';
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const lowerHeaders: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
    const lower = name.toLowerCase();
    lowerHeaders[lower] = lowerHeaders[lower] === undefined ? value : `${lowerHeaders[lower]},${value}`;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  let path = url.pathname;
  try {
    path = decodeURI(path);
  } catch {
    // Keep the raw path when it is not valid percent-encoding.
  }
  return {
    requestId: randomUUID(),
    httpMethod: (req.method ?? 'GET').toUpperCase(),
    path,
    rawQuery: url.search.slice(1),
    headers,
    multiValueHeaders,
    lowerHeaders,
    query,
    multiQuery,
    sourceIp: normalizeSourceIp(req.socket.remoteAddress),
    userAgent: lowerHeaders['user-agent'],
    body: Buffer.concat(chunks),
    requestTimeEpoch: Date.now(),
    host: lowerHeaders.host ?? 'localhost',
  };
}

function isTextBody(info: RequestInfo): boolean {
  // Without binaryMediaTypes (the example app sets none) API Gateway passes bodies as text.
  return info.body.length === 0 || !info.body.includes(0);
}

function emptyToNull<T extends object>(o: T): T | null {
  return Object.keys(o).length === 0 ? null : o;
}

function lookupPath(obj: Record<string, unknown>, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function json(statusCode: number, body: unknown, requestId: string): Reply {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
    body: JSON.stringify(body),
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function safeOsUser(): string {
  try {
    return os.userInfo().username || 'developer';
  } catch {
    return 'developer';
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function formatRequestTime(epoch: number): string {
  const d = new Date(epoch);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
