import type * as http from 'node:http';
import type { ApiModel } from '../model';
import { AuthorizerResultCache } from './authorizer-cache';
import { authorizeCustom } from './custom-authorizer';
import { checkGatewayResponseTemplates, renderGatewayResponse, RespondWith } from './gateway-responses';
import { jsonReply, readRequest, Reply, RequestInfo, sendReply } from './http-io';
import { applyLocalIamCaller } from './iam-caller';
import { integrate, Invoker } from './integrations';
import { buildRequestContext } from './request-context';
import { matchRoute } from './routing';

/**
 * An emulation of one API Gateway REST API stage, driven entirely by the API's model read from the template.
 * Each stage API Gateway applies to a request has a file of its own; this one runs them in API Gateway's order:
 *
 * 0. http-io.ts: read the request (over 10 MB -> REQUEST_TOO_LARGE); the client's IP is the TCP peer address;
 * 1. routing.ts: the most specific resource and its method (or ANY); no match -> MISSING_AUTHENTICATION_TOKEN;
 *    request-context.ts then builds the request's `$context`;
 * 2. authorization by the method's type: CUSTOM in custom-authorizer.ts (identity-sources.ts, authorizer-cache.ts,
 *    policy.ts); AWS_IAM in iam-caller.ts (NOT signature-checked: the caller is `local:<user>`); NONE passes;
 * 3. integrations.ts: Lambda proxy or HTTP proxy;
 * 4. gateway-responses.ts renders every error API Gateway makes along the way; http-io.ts writes the reply.
 *
 * local/README.md lists every behaviour emulated, the file and the test that pin it, and what is not emulated.
 */

export { matchRoute } from './routing';
export type { Route } from './routing';
export { normalizeSourceIp } from './http-io';
export type { Reply, RequestInfo } from './http-io';
export type { Invoker } from './integrations';

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

export class GatewayEmulator {
  readonly stats: GatewayStats = {
    authorizerInvocations: 0,
    authorizerCacheHits: 0,
    integrationInvocations: 0,
    authorizerCacheFlushes: 0,
  };
  private readonly cache: AuthorizerResultCache;
  private readonly respond: RespondWith;

  constructor(
    readonly api: ApiModel,
    private readonly options: GatewayOptions,
  ) {
    this.cache = new AuthorizerResultCache(options.now ?? Date.now);
    checkGatewayResponseTemplates(api);
    this.respond = (type, info, error, authorizerContext) =>
      renderGatewayResponse(api, type, info, error, authorizerContext);
  }

  /** FlushStageAuthorizersCache: forget every cached authorizer decision of this stage. */
  flushAuthorizerCache(): void {
    this.stats.authorizerCacheFlushes += 1;
    this.cache.flush();
  }

  /** A Node http request listener serving this stage at the server's root path. */
  readonly listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.handle(req)
      .then((reply) => sendReply(res, reply))
      .catch((err: unknown) => {
        // A bug in the emulator itself: say so plainly rather than pretend API Gateway answered.
        const message = `local gateway error: ${err instanceof Error ? err.message : String(err)}`;
        process.stderr.write(`${message}\n`);
        sendReply(res, {
          statusCode: 500,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message }),
        });
      });
  };

  async handle(req: http.IncomingMessage): Promise<Reply> {
    const info = await readRequest(req);
    if (info === 'tooLarge') return this.respond('REQUEST_TOO_LARGE', undefined, { message: 'Request Too Long' });
    const reply = await this.process(info);
    this.options.accessLog?.(`${info.sourceIp} ${info.httpMethod} ${info.path} -> ${reply.statusCode}`);
    return reply;
  }

  private async process(info: RequestInfo): Promise<Reply> {
    const route = matchRoute(this.api.root, info.path, info.httpMethod);
    if (!route) return this.respond('MISSING_AUTHENTICATION_TOKEN', info, { message: 'Missing Authentication Token' });
    const requestContext = buildRequestContext(this.api, this.options.accountId, info, route);

    const method = route.method;
    if (method.authorizationType === 'CUSTOM') {
      const authorizer = method.authorizerLogicalId ? this.api.authorizers.get(method.authorizerLogicalId) : undefined;
      if (!authorizer) return this.respond('AUTHORIZER_CONFIGURATION_ERROR', info, { message: null });
      const outcome = await authorizeCustom(
        { ...this.options, api: this.api, cache: this.cache, respond: this.respond, stats: this.stats },
        authorizer,
        info,
        route,
        requestContext,
      );
      if (outcome.kind === 'response') return outcome.reply;
      requestContext.authorizer = {
        principalId: outcome.answer.principalId,
        integrationLatency: 0,
        // REST APIs hand context values to the integration as strings.
        ...Object.fromEntries(Object.entries(outcome.answer.context).map(([k, v]) => [k, String(v)])),
      };
    } else if (method.authorizationType === 'AWS_IAM') {
      const refused = applyLocalIamCaller(info, requestContext, this.options.accountId, this.options.defaultLocalUser);
      if (refused) return refused;
    } else if (method.authorizationType !== 'NONE') {
      return jsonReply(
        500,
        { message: `local mode does not emulate ${method.authorizationType} authorization` },
        info.requestId,
      );
    }

    this.stats.integrationInvocations += 1;
    return integrate(
      { api: this.api, invoker: this.options.invoker, respond: this.respond },
      info,
      route,
      requestContext,
    );
  }
}
