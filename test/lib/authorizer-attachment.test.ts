import { CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { IpAllowlistAuthorizer, IpAllowlistAuthorizerProps } from '../../lib';
import { OPENAPI_BODY_DRIFT, validationRulesIn, withConsoleErrorCaptured } from '../support/console';
import {
  GATEWAY_RESPONSE_TYPES,
  newStack,
  onlyResource,
  resourcesOfType,
  TempOutdirs,
  TemplateJson,
} from './synth-helpers';

/**
 * IpAllowlistAuthorizer is an apigateway.IAuthorizer (issue 10 §2): however it is attached, every API it protects
 * gets its own API Gateway authorizer, the permission to invoke the Lambda as that authorizer, and the JSON
 * gateway responses (with the extra headers of §7).
 */

const outdirs = new TempOutdirs();
afterAll(() => outdirs.cleanup());

const mock = () => new apigateway.MockIntegration();

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

function setup(props: IpAllowlistAuthorizerProps = {}) {
  const stack = newStack(outdirs);
  const allowlist = new IpAllowlistAuthorizer(stack, 'Allowlist', props);
  return { stack, allowlist };
}

/** Method properties by `VERB /path`, for the methods of one API. */
function methodsOf(stack: Stack, api: apigateway.RestApi): Record<string, TemplateJson> {
  const out: Record<string, TemplateJson> = {};
  for (const method of api.methods) {
    const props = Template.fromStack(stack).toJSON().Resources[logicalId(stack, method)].Properties;
    out[`${method.httpMethod} ${method.resource.path}`] = props;
  }
  return out;
}

function authorizersOf(stack: Stack): [string, TemplateJson][] {
  return resourcesOfType(Template.fromStack(stack), 'AWS::ApiGateway::Authorizer').map(([id, r]) => [id, r.Properties]);
}

function responseTypesOf(stack: Stack, api: apigateway.IRestApi): string[] {
  const apiRef = JSON.stringify({ Ref: stack.getLogicalId(api.node.defaultChild as CfnElement) });
  return resourcesOfType(Template.fromStack(stack), 'AWS::ApiGateway::GatewayResponse')
    .filter(([, r]) => JSON.stringify(r.Properties.RestApiId) === apiRef)
    .map(([, r]) => r.Properties.ResponseType as string)
    .sort();
}

describe('as a method authorizer (addMethod)', () => {
  test('the method uses it, and the API gets the authorizer, the invoke permission and the gateway responses', () => {
    const { stack, allowlist } = setup();
    const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });

    api.root.addResource('orders').addMethod('GET', mock(), { authorizer: allowlist });
    api.root.addResource('health').addMethod('GET', mock());

    const [[authorizerId, authorizer]] = authorizersOf(stack);
    expect(authorizer).toMatchObject({ Type: 'REQUEST', RestApiId: { Ref: logicalId(stack, api) } });
    expect(methodsOf(stack, api)).toMatchObject({
      'GET /orders': { AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } },
      'GET /health': { AuthorizationType: 'NONE' },
    });
    const permission = onlyResource(Template.fromStack(stack), 'AWS::Lambda::Permission').properties;
    expect(JSON.stringify(permission.SourceArn)).toContain(`"/authorizers/",{"Ref":"${authorizerId}"}`);
    expect(responseTypesOf(stack, api)).toEqual(GATEWAY_RESPONSE_TYPES);
  });

  test("no Aspect changes any method behind the user's back: only the methods that name it use it", () => {
    const { stack, allowlist } = setup();
    const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });
    api.root.addMethod('GET', mock(), { authorizer: allowlist });
    api.root.addMethod('POST', mock());

    expect(methodsOf(stack, api)['POST /'].AuthorizationType).toBe('NONE');
  });
});

describe('as defaultMethodOptions.authorizer', () => {
  test('protects every method, and a method added with authorizationType NONE stays public', () => {
    const { stack, allowlist } = setup();
    const api = new apigateway.RestApi(stack, 'Api', {
      cloudWatchRole: false,
      defaultMethodOptions: { authorizer: allowlist },
    });
    api.root.addMethod('ANY', mock());
    api.root.addResource('orders').addMethod('POST', mock());
    api.root.addResource('health').addMethod('GET', mock(), { authorizationType: apigateway.AuthorizationType.NONE });

    const [[authorizerId]] = authorizersOf(stack);
    const m = methodsOf(stack, api);
    expect(m['ANY /']).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    expect(m['POST /orders']).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    expect(m['GET /health'].AuthorizationType).toBe('NONE');
    expect(m['GET /health'].AuthorizerId).toBeUndefined();
    expect(responseTypesOf(stack, api)).toEqual(GATEWAY_RESPONSE_TYPES);
  });

  test('an API that already defines DEFAULT_4XX gets a synth error naming both', () => {
    const { stack, allowlist } = setup();
    const api = new apigateway.RestApi(stack, 'Api', {
      cloudWatchRole: false,
      defaultMethodOptions: { authorizer: allowlist },
    });
    api.addGatewayResponse('Mine', { type: apigateway.ResponseType.DEFAULT_4XX });
    api.root.addMethod('GET', mock());

    expect(() => Template.fromStack(stack)).toThrow(
      /gateway response DEFAULT_4XX is defined twice on Test\/Api \(Test\/Api\/Mine/,
    );
  });
});

describe('one authorizer on several APIs', () => {
  test("each API gets its own API Gateway authorizer, permission and gateway responses, and each method uses its own API's", () => {
    const { stack, allowlist } = setup();
    const first = new apigateway.RestApi(stack, 'First', {
      cloudWatchRole: false,
      defaultMethodOptions: { authorizer: allowlist },
    });
    const second = new apigateway.RestApi(stack, 'Second', { cloudWatchRole: false });
    first.root.addMethod('GET', mock());
    second.root.addResource('x').addMethod('GET', mock(), { authorizer: allowlist });

    const authorizers = authorizersOf(stack);
    expect(authorizers).toHaveLength(2);
    const idFor = (api: apigateway.RestApi) =>
      authorizers.find(([, p]) => JSON.stringify(p.RestApiId) === JSON.stringify({ Ref: logicalId(stack, api) }))![0];
    expect(methodsOf(stack, first)['GET /'].AuthorizerId).toEqual({ Ref: idFor(first) });
    expect(methodsOf(stack, second)['GET /x'].AuthorizerId).toEqual({ Ref: idFor(second) });
    expect(stack.resolve(allowlist.authorizerIdFor(second))).toEqual({ Ref: idFor(second) });
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Permission', 2);
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 1);
    expect(responseTypesOf(stack, first)).toEqual(GATEWAY_RESPONSE_TYPES);
    expect(responseTypesOf(stack, second)).toEqual(GATEWAY_RESPONSE_TYPES);
    expect(allowlist.restApis).toEqual([first, second]);
  });
});

describe('forgetting to attach it', () => {
  test('an authorizer that protects no API is a synth error naming the construct and the fix', () => {
    const { stack } = setup();

    expect(() => Template.fromStack(stack)).toThrow(
      /IpAllowlistAuthorizer Test\/Allowlist protects no API\. Pass it as a method's authorizer .*defaultMethodOptions: \{ authorizer \}.*protectRestApi\(api\)/,
    );
  });

  test("its authorizerId used in a hand-written CfnMethod, unattached, names the construct, not CDK's generic resolution error", () => {
    const { stack, allowlist } = setup();
    const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });
    api.root.addMethod('GET', mock());
    new apigateway.CfnMethod(stack, 'Raw', {
      restApiId: api.restApiId,
      resourceId: api.root.resourceId,
      httpMethod: 'POST',
      authorizationType: 'CUSTOM',
      authorizerId: allowlist.authorizerId,
    });

    expect(() => Template.fromStack(stack)).toThrow(
      /IpAllowlistAuthorizer Test\/Allowlist: its authorizerId is used, but it is attached to no RestApi/,
    );
  });
});

describe('protectRestApi', () => {
  function userApi(stack: Stack) {
    return new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });
  }

  test('a method added afterwards with authorizationType NONE stays public; one without authorization is protected', () => {
    const { stack, allowlist } = setup();
    const api = userApi(stack);
    api.root.addMethod('GET', mock());

    allowlist.protectRestApi(api);
    api.root.addResource('health').addMethod('GET', mock(), { authorizationType: apigateway.AuthorizationType.NONE });
    api.root.addResource('orders').addMethod('POST', mock());

    const m = methodsOf(stack, api);
    expect(m['GET /'].AuthorizationType).toBe('CUSTOM');
    expect(m['POST /orders'].AuthorizationType).toBe('CUSTOM');
    expect(m['GET /health'].AuthorizationType).toBe('NONE');
  });

  test('a method added with NONE before the call cannot be told from one without authorization: it is protected unless excluded, as documented', () => {
    const build = (excludePaths?: string[]) => {
      const { stack, allowlist } = setup();
      const api = userApi(stack);
      api.root.addResource('health').addMethod('GET', mock(), { authorizationType: apigateway.AuthorizationType.NONE });
      allowlist.protectRestApi(api, { excludePaths });
      return methodsOf(stack, api)['GET /health'].AuthorizationType;
    };
    expect(build()).toBe('CUSTOM');
    expect(build(['/health'])).toBe('NONE');
  });

  test('excludePaths keeps an exact path, or a subtree with /*, public', () => {
    const { stack, allowlist } = setup();
    const api = userApi(stack);
    api.root.addResource('health').addMethod('GET', mock());
    const pub = api.root.addResource('public');
    pub.addMethod('GET', mock());
    pub.addResource('docs').addMethod('GET', mock());
    api.root.addResource('healthz').addMethod('GET', mock());

    allowlist.protectRestApi(api, { excludePaths: ['/health', '/public/*'] });

    const m = methodsOf(stack, api);
    expect(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.AuthorizationType]))).toEqual({
      'GET /health': 'NONE',
      'GET /public': 'NONE',
      'GET /public/docs': 'NONE',
      'GET /healthz': 'CUSTOM',
    });
  });

  test('an excludePaths entry that is not a path is refused, naming the value', () => {
    const { stack, allowlist } = setup();
    expect(() => allowlist.protectRestApi(userApi(stack), { excludePaths: ['health'] })).toThrow(
      'excludePaths entries must be resource paths starting with "/", got "health"',
    );
  });

  test('the deployment is replaced when the set of protected methods changes', () => {
    const deploymentFor = (excludePaths: string[]) => {
      const { stack, allowlist } = setup();
      const api = userApi(stack);
      api.root.addResource('health').addMethod('GET', mock());
      allowlist.protectRestApi(api, { excludePaths });
      return onlyResource(Template.fromStack(stack), 'AWS::ApiGateway::Deployment').logicalId;
    };
    expect(deploymentFor([])).not.toBe(deploymentFor(['/health']));
    expect(deploymentFor(['/health'])).toBe(deploymentFor(['/health']));
  });

  test('keeps a Method property injector the user set above the API working', () => {
    const { stack, allowlist } = setup();
    const { PropertyInjectors } = jest.requireActual('aws-cdk-lib');
    PropertyInjectors.of(stack).add({
      constructUniqueId: apigateway.Method.PROPERTY_INJECTION_ID,
      inject: (props: apigateway.MethodProps) => ({
        ...props,
        options: { ...props.options, operationName: 'injected' },
      }),
    });
    const api = userApi(stack);
    allowlist.protectRestApi(api);
    api.root.addMethod('GET', mock());

    expect(methodsOf(stack, api)['GET /']).toMatchObject({ OperationName: 'injected', AuthorizationType: 'CUSTOM' });
  });

  test('a SpecRestApi cannot be changed: the error says what to paste and what to call', () => {
    const { stack, allowlist } = setup();
    const spec = new apigateway.SpecRestApi(stack, 'Spec', {
      apiDefinition: apigateway.ApiDefinition.fromInline({
        openapi: '3.0.1',
        info: { title: 't', version: '1' },
        paths: {},
      }),
      cloudWatchRole: false,
    });

    expect(() => allowlist.protectRestApi(spec)).toThrow(
      /protectRestApi cannot change the methods of Test\/Spec.*allowlist\.openApiSecurityScheme\(\) under components\.securitySchemes.*allowlist\.protectOpenApiRestApi\(api\)/,
    );
  });

  test('an imported API cannot be changed either', () => {
    const { stack, allowlist } = setup();
    const imported = apigateway.RestApi.fromRestApiId(stack, 'Imported', 'abc123');
    expect(() => allowlist.protectRestApi(imported)).toThrow(
      /protectRestApi cannot change the methods of Test\/Imported/,
    );
  });
});

describe('a SpecRestApi through its OpenAPI definition', () => {
  test('openApiSecurityScheme renders the x-amazon-apigateway-authorizer the construct would create', () => {
    const { stack, allowlist } = setup({ apiKeyHeader: 'X-Api-Key', propagationDelay: Duration.seconds(60) });
    const scheme = stack.resolve(allowlist.openApiSecurityScheme());

    expect(scheme).toMatchObject({
      type: 'apiKey',
      name: 'X-Api-Key',
      in: 'header',
      'x-amazon-apigateway-authtype': 'custom',
      'x-amazon-apigateway-authorizer': {
        type: 'request',
        identitySource: 'method.request.header.X-Api-Key, context.identity.sourceIp',
        authorizerResultTtlInSeconds: 56, // 60 s less the decision age bound (4 s)
      },
    });
    expect(JSON.stringify(scheme['x-amazon-apigateway-authorizer'].authorizerUri)).toContain(
      ':lambda:path/2015-03-31/functions/',
    );
  });

  test('protectOpenApiRestApi lets API Gateway invoke the Lambda for that API and adds the gateway responses', () => {
    const { stack, allowlist } = setup();
    const spec = new apigateway.SpecRestApi(stack, 'Spec', {
      apiDefinition: apigateway.ApiDefinition.fromInline({
        openapi: '3.0.1',
        info: { title: 't', version: '1' },
        components: { securitySchemes: { ipAllowlist: allowlist.openApiSecurityScheme() } },
        security: [{ ipAllowlist: [] }],
        paths: {
          '/': {
            get: {
              'x-amazon-apigateway-integration': {
                type: 'mock',
                requestTemplates: { 'application/json': '{"statusCode":200}' },
              },
            },
          },
        },
      }),
      cloudWatchRole: false,
    });

    allowlist.protectOpenApiRestApi(spec);
    allowlist.protectOpenApiRestApi(spec); // twice: nothing added twice

    const { result: template, printed } = withConsoleErrorCaptured(() => Template.fromStack(stack));
    expect(validationRulesIn(printed)).toEqual(OPENAPI_BODY_DRIFT);
    const permission = onlyResource(template, 'AWS::Lambda::Permission').properties;
    expect(JSON.stringify(permission.SourceArn)).toContain(`{"Ref":"${logicalId(stack, spec)}"},"/authorizers/*"`);
    expect(responseTypesOf(stack, spec)).toEqual(GATEWAY_RESPONSE_TYPES);
    expect(allowlist.restApis).toEqual([]);
  });
});

describe('gatewayResponseHeaders (CORS on the 401s)', () => {
  test('every gateway response carries the extra headers next to Content-Type', () => {
    const { stack, allowlist } = setup({
      gatewayResponseHeaders: {
        'Access-Control-Allow-Origin': "'https://app.example.com'",
        Vary: "'Origin'",
      },
    });
    const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });
    api.root.addMethod('GET', mock(), { authorizer: allowlist });

    const responses = resourcesOfType(Template.fromStack(stack), 'AWS::ApiGateway::GatewayResponse');
    expect(responses).toHaveLength(6);
    for (const [, r] of responses) {
      expect(r.Properties.ResponseParameters).toEqual({
        'gatewayresponse.header.Content-Type': "'application/json'",
        'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'",
        'gatewayresponse.header.Vary': "'Origin'",
      });
    }
  });

  test("a request value (the caller's Origin) is accepted as API Gateway takes it", () => {
    const { stack, allowlist } = setup({
      gatewayResponseHeaders: { 'Access-Control-Allow-Origin': 'method.request.header.Origin' },
    });
    const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });
    api.root.addMethod('GET', mock(), { authorizer: allowlist });

    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'ACCESS_DENIED',
      ResponseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': 'method.request.header.Origin' },
    });
  });

  test.each([
    [
      { 'Access-Control-Allow-Origin': 'https://app.example.com' },
      /gatewayResponseHeaders\.Access-Control-Allow-Origin must be a mapping expression: .*got "https:\/\/app\.example\.com"/,
    ],
    [{ 'Content-Type': "'text/plain'" }, /gatewayResponseHeaders cannot set Content-Type/],
    [{ 'Bad Header': "'x'" }, /gatewayResponseHeaders: "Bad Header" is not an HTTP header name/],
  ])('%j is refused, naming the header', (gatewayResponseHeaders, message) => {
    const stack = newStack(outdirs);
    expect(() => new IpAllowlistAuthorizer(stack, 'Allowlist', { gatewayResponseHeaders })).toThrow(message);
  });

  test('changing them replaces the deployment, so the change reaches the stage', () => {
    const deploymentFor = (gatewayResponseHeaders?: { [name: string]: string }) => {
      const { stack, allowlist } = setup({ gatewayResponseHeaders });
      const api = new apigateway.RestApi(stack, 'Api', { cloudWatchRole: false });
      api.root.addMethod('GET', mock(), { authorizer: allowlist });
      return onlyResource(Template.fromStack(stack), 'AWS::ApiGateway::Deployment').logicalId;
    };
    expect(deploymentFor()).not.toBe(deploymentFor({ 'Access-Control-Allow-Origin': "'*'" }));
  });
});

test('synthesis of an attached authorizer leaves no warning', () => {
  const { stack, allowlist } = setup();
  const api = new apigateway.RestApi(stack, 'Api', {
    cloudWatchRole: false,
    defaultMethodOptions: { authorizer: allowlist },
  });
  api.root.addMethod('GET', mock());
  Annotations.fromStack(stack).hasNoWarning('*', '*');
});
