import { Duration, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * The headers through which an HTTP upstream learns who a request was authorized as, mapped from the authorizer's
 * context. API Gateway sets them itself, replacing any header of the same name the client sent.
 */
export const UPSTREAM_CONTEXT_HEADERS: { readonly [header: string]: string } = {
  'X-Organization-Id': 'organizationId',
  'X-Project-Id': 'projectId',
  'X-Api-Key-Id': 'apiKeyId',
};

/** Options of `Upstream.http`. */
export interface HttpUpstreamOptions {
  /**
   * How long API Gateway waits for the upstream to answer.
   *
   * @default Duration.seconds(29)
   */
  readonly timeout?: Duration;
}

/** Options of `Upstream.lambdaFunction`. */
export interface LambdaUpstreamOptions {
  /**
   * How long API Gateway waits for the function to answer.
   *
   * @default Duration.seconds(29)
   */
  readonly timeout?: Duration;
}

/** The integrations an `Upstream` produces for one API. */
export interface UpstreamIntegrations {
  /** Integration of `ANY /`. */
  readonly root: apigateway.Integration;
  /** Integration of `ANY /{proxy+}`: receives the path in the `proxy` path parameter. */
  readonly proxy: apigateway.Integration;
}

/**
 * Where an `IpAllowlistedApi` sends the requests that pass the allowlist, and how the upstream learns the
 * authorized organization, project and key.
 */
export abstract class Upstream {
  /**
   * An HTTP(S) service. Every path and method is proxied (`ANY /{proxy+}` to `<url>/{proxy}`, query string and
   * headers included), and the authorizer's context arrives as the headers `X-Organization-Id`, `X-Project-Id` and
   * `X-Api-Key-Id` (see `UPSTREAM_CONTEXT_HEADERS`).
   *
   * @param url base URL of the upstream, e.g. `https://internal.example.com/api`
   */
  public static http(url: string, options: HttpUpstreamOptions = {}): Upstream {
    return new HttpUpstream(url, options);
  }

  /**
   * A Lambda function, invoked with the Lambda proxy integration. The authorizer's context arrives in
   * `event.requestContext.authorizer` (`organizationId`, `projectId`, `apiKeyId`).
   *
   * Not named `lambda`: that is a reserved word in Python, one of the languages jsii generates bindings for.
   */
  public static lambdaFunction(handler: lambda.IFunction, options: LambdaUpstreamOptions = {}): Upstream {
    return new LambdaUpstream(handler, options);
  }

  /** The integrations for the root and the proxy resource of one API. */
  public abstract bind(api: apigateway.IRestApi): UpstreamIntegrations;
}

class HttpUpstream extends Upstream {
  private readonly baseUrl: string;

  constructor(
    url: string,
    private readonly options: HttpUpstreamOptions,
  ) {
    super();
    if (!Token.isUnresolved(url)) {
      if (!/^https?:\/\/[^/?#\s]+[^?#\s]*$/.test(url) || url.includes('{')) {
        throw new Error(
          `Upstream.http url must be an absolute http(s) URL without query or fragment, got ${JSON.stringify(url)}`,
        );
      }
      url = url.replace(/\/+$/, '');
    }
    this.baseUrl = url;
  }

  public bind(_api: apigateway.IRestApi): UpstreamIntegrations {
    const contextHeaders: { [name: string]: string } = {};
    for (const [header, key] of Object.entries(UPSTREAM_CONTEXT_HEADERS)) {
      contextHeaders[`integration.request.header.${header}`] = `context.authorizer.${key}`;
    }
    const integration = (url: string, requestParameters: { [name: string]: string }) =>
      new apigateway.HttpIntegration(url, {
        proxy: true,
        httpMethod: 'ANY',
        options: { requestParameters, timeout: this.options.timeout },
      });
    return {
      root: integration(`${this.baseUrl}/`, contextHeaders),
      proxy: integration(`${this.baseUrl}/{proxy}`, {
        ...contextHeaders,
        'integration.request.path.proxy': 'method.request.path.proxy',
      }),
    };
  }
}

class LambdaUpstream extends Upstream {
  constructor(
    private readonly handler: lambda.IFunction,
    private readonly options: LambdaUpstreamOptions,
  ) {
    super();
  }

  public bind(_api: apigateway.IRestApi): UpstreamIntegrations {
    // One integration object for both methods: the permissions API Gateway needs are added per method anyway.
    const integration = new apigateway.LambdaIntegration(this.handler, { proxy: true, timeout: this.options.timeout });
    return { root: integration, proxy: integration };
  }
}
