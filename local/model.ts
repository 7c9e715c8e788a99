import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type {
  AttributeDefinition,
  CreateTableCommandInput,
  KeySchemaElement,
  Projection,
} from '@aws-sdk/client-dynamodb';
import {
  CfnResource,
  CfnTemplate,
  IntrinsicResolver,
  referencedLogicalId,
  referencedLogicalIds,
  UnresolvableError,
} from './intrinsics';
import { valueText } from './mapping';

/**
 * The part of a synthesized stack that local mode runs, read from the cloud assembly's template: tables, Lambda
 * functions (code folder from the `aws:asset:path` metadata, handler, environment, timeout), REST APIs with their
 * resources, methods, integrations, authorizers and gateway responses. This is the only place that reads those
 * settings, and it reads them from the template only, so local mode cannot drift from the deployed stack.
 */

export interface LocalNames {
  /** Region and account in ARNs; the Lambdas' AWS_REGION. @default us-east-1 / 000000000000 */
  readonly region?: string;
  readonly accountId?: string;
  /** Prefix for local DynamoDB table names (lets tests share one DynamoDB Local). @default - none */
  readonly tablePrefix?: string;
}

export interface TableModel {
  readonly logicalId: string;
  readonly tableName: string;
  readonly createTableInput: CreateTableCommandInput;
}

export interface FunctionModel {
  readonly logicalId: string;
  readonly functionName: string;
  readonly handler: string;
  readonly runtime: string;
  /** Absolute folder of the function's code (the staged asset). */
  readonly codeDir: string;
  /** The template's environment, with every intrinsic resolved to its local value. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
}

export interface IdentitySource {
  /** The mapping expression as written, e.g. `method.request.header.Authorization`. */
  readonly expression: string;
  readonly kind: 'header' | 'querystring' | 'context' | 'stageVariables';
  readonly name: string;
}

export interface AuthorizerModel {
  readonly logicalId: string;
  readonly authorizerId: string;
  readonly name: string;
  readonly type: 'REQUEST' | 'TOKEN';
  readonly functionLogicalId: string;
  readonly identitySources: readonly IdentitySource[];
  /** AuthorizerResultTtlInSeconds; 0 disables the cache. */
  readonly ttlSeconds: number;
  /** TOKEN authorizers only. */
  readonly identityValidationExpression?: string;
}

export interface GatewayResponseModel {
  readonly responseType: string;
  readonly statusCode?: number;
  /** Header name -> mapping expression (`'literal'`, `method.request.header.X`, `context.X`, ...). */
  readonly headers: Readonly<Record<string, string>>;
  /** Content type -> mapping template. */
  readonly templates: Readonly<Record<string, string>>;
}

export type IntegrationModel =
  | { readonly type: 'AWS_PROXY'; readonly functionLogicalId: string; readonly timeoutMs: number }
  | {
      readonly type: 'HTTP_PROXY';
      readonly uri: string;
      readonly httpMethod: string;
      /** `integration.request.<where>.<name>` -> `method.request...` / `context...` / `'literal'`. */
      readonly requestParameters: Readonly<Record<string, string>>;
      readonly timeoutMs: number;
    }
  | { readonly type: 'UNSUPPORTED'; readonly description: string };

export interface MethodModel {
  readonly httpMethod: string;
  readonly authorizationType: 'NONE' | 'CUSTOM' | 'AWS_IAM' | 'COGNITO_USER_POOLS';
  readonly authorizerLogicalId?: string;
  readonly apiKeyRequired: boolean;
  readonly integration: IntegrationModel;
}

export interface ResourceNode {
  readonly resourceId: string;
  readonly pathPart: string;
  readonly path: string;
  readonly children: ResourceNode[];
  readonly methods: Map<string, MethodModel>;
}

export interface ApiModel {
  readonly logicalId: string;
  readonly apiId: string;
  readonly name: string;
  readonly stageName: string;
  readonly root: ResourceNode;
  readonly authorizers: ReadonlyMap<string, AuthorizerModel>;
  readonly gatewayResponses: ReadonlyMap<string, GatewayResponseModel>;
  /** Authorization types used by this API's methods. */
  readonly authorizationTypes: ReadonlySet<string>;
}

export interface StackModel {
  readonly stackName: string;
  readonly region: string;
  readonly accountId: string;
  readonly assemblyDir: string;
  readonly tables: readonly TableModel[];
  readonly functions: ReadonlyMap<string, FunctionModel>;
  readonly apis: readonly ApiModel[];
  readonly resolver: IntrinsicResolver;
}

/** A stable 10-character id in the alphabet of real API ids, derived from the API's logical id. */
export function localApiId(stackName: string, logicalId: string): string {
  const digest = createHash('sha256').update(`${stackName}/${logicalId}`).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let id = '';
  for (let i = 0; i < 10; i++) id += alphabet[digest[i] % alphabet.length];
  return id;
}

export function readStackModel(
  template: CfnTemplate,
  stackName: string,
  assemblyDir: string,
  names: LocalNames = {},
): StackModel {
  const region = names.region ?? 'us-east-1';
  const accountId = names.accountId ?? '000000000000';
  const resources = template.Resources ?? {};
  const prefix = names.tablePrefix ?? '';

  const tableName = (logicalId: string, r: CfnResource): string => {
    const explicit = r.Properties?.TableName;
    return `${prefix}${typeof explicit === 'string' ? explicit : `${stackName}-${logicalId}`}`;
  };

  const resolver = new IntrinsicResolver(template, {
    region,
    accountId,
    stackName,
    physicalName(logicalId, r) {
      switch (r.Type) {
        case 'AWS::DynamoDB::Table':
        case 'AWS::DynamoDB::GlobalTable':
          return tableName(logicalId, r);
        case 'AWS::ApiGateway::RestApi':
          return localApiId(stackName, logicalId);
        case 'AWS::ApiGateway::Authorizer':
          return localApiId(stackName, logicalId).slice(0, 6);
        default:
          return undefined;
      }
    },
  });

  const byType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  const tables: TableModel[] = [...byType('AWS::DynamoDB::Table'), ...byType('AWS::DynamoDB::GlobalTable')].map(
    ([logicalId, r]) => readTable(logicalId, r, tableName(logicalId, r), resolver),
  );

  const functions = new Map<string, FunctionModel>();
  const functionModel = (logicalId: string): FunctionModel => {
    let fn = functions.get(logicalId);
    if (!fn) {
      fn = readFunction(logicalId, resources[logicalId], assemblyDir, resolver);
      functions.set(logicalId, fn);
    }
    return fn;
  };
  const lambdaIn = (value: unknown, what: string): string => {
    const ids = [...referencedLogicalIds(value)].filter((id) => resources[id]?.Type === 'AWS::Lambda::Function');
    if (ids.length !== 1)
      throw new UnresolvableError(`${what}: cannot tell which Lambda function ${JSON.stringify(value)} invokes`);
    functionModel(ids[0]);
    return ids[0];
  };

  const apis = byType('AWS::ApiGateway::RestApi').map(([apiLogicalId, api]) => {
    const belongs = (r: CfnResource) => referencedLogicalId(r.Properties?.RestApiId) === apiLogicalId;
    const apiId = resolver.resolveString({ Ref: apiLogicalId }, `${apiLogicalId} id`);

    const stages = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Stage' && belongs(r));
    const deploymentStages = Object.entries(resources).filter(
      ([, r]) => r.Type === 'AWS::ApiGateway::Deployment' && belongs(r) && r.Properties?.StageName !== undefined,
    );
    const stageName =
      stages.length > 0
        ? resolver.resolveString(stages[0][1].Properties?.StageName, `${stages[0][0]}.StageName`)
        : deploymentStages.length > 0
          ? resolver.resolveString(deploymentStages[0][1].Properties?.StageName, 'Deployment.StageName')
          : undefined;
    if (!stageName) throw new UnresolvableError(`RestApi ${apiLogicalId} has no stage: nothing is deployed`);

    const rootId = `${apiLogicalId}#root`;
    const root: ResourceNode = { resourceId: rootId, pathPart: '', path: '/', children: [], methods: new Map() };
    const nodes = new Map<string, ResourceNode>([[rootId, root]]);
    const apiResources = Object.entries(resources).filter(
      ([, r]) => r.Type === 'AWS::ApiGateway::Resource' && belongs(r),
    );
    const parentKey = (parentRef: unknown): string | undefined => {
      const id = referencedLogicalId(parentRef);
      if (id === apiLogicalId) return rootId; // Fn::GetAtt [Api, RootResourceId]
      return id;
    };
    // Resources may appear in any order in the template: attach each once its parent is known.
    let pending = apiResources;
    while (pending.length > 0) {
      const next = pending.filter(([id, r]) => {
        const parent = nodes.get(parentKey(r.Properties?.ParentId) ?? '');
        if (!parent) return true;
        const pathPart = resolver.resolveString(r.Properties?.PathPart, `${id}.PathPart`);
        const node: ResourceNode = {
          resourceId: id,
          pathPart,
          path: parent.path === '/' ? `/${pathPart}` : `${parent.path}/${pathPart}`,
          children: [],
          methods: new Map(),
        };
        parent.children.push(node);
        nodes.set(id, node);
        return false;
      });
      if (next.length === pending.length)
        throw new UnresolvableError(`RestApi ${apiLogicalId}: resources with unknown parents`);
      pending = next;
    }

    const authorizers = new Map<string, AuthorizerModel>();
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::ApiGateway::Authorizer' || !belongs(r)) continue;
      authorizers.set(id, readAuthorizer(id, r, resolver, lambdaIn));
    }

    const authorizationTypes = new Set<string>();
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::ApiGateway::Method' || !belongs(r)) continue;
      const p = r.Properties ?? {};
      const node = nodes.get(parentKey(p.ResourceId) ?? '');
      if (!node) throw new UnresolvableError(`Method ${id}: unknown resource`);
      const method = readMethod(id, p, resolver, lambdaIn);
      authorizationTypes.add(method.authorizationType);
      node.methods.set(method.httpMethod, method);
    }

    const gatewayResponses = new Map<string, GatewayResponseModel>();
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::ApiGateway::GatewayResponse' || !belongs(r)) continue;
      const p = resolver.resolve(r.Properties ?? {}) as Record<string, unknown>;
      const responseType = String(p.ResponseType);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries((p.ResponseParameters ?? {}) as Record<string, string>)) {
        const m = /^gatewayresponse\.header\.(.+)$/.exec(k);
        if (!m) throw new UnresolvableError(`GatewayResponse ${id}: unsupported parameter ${k}`);
        headers[m[1]] = String(v);
      }
      gatewayResponses.set(responseType, {
        responseType,
        statusCode: p.StatusCode === undefined ? undefined : Number(p.StatusCode),
        headers,
        templates: (p.ResponseTemplates ?? {}) as Record<string, string>,
      });
    }

    return {
      logicalId: apiLogicalId,
      apiId,
      name: valueText(resolver.resolve(api.Properties?.Name)) ?? apiLogicalId,
      stageName,
      root,
      authorizers,
      gatewayResponses,
      authorizationTypes,
    } satisfies ApiModel;
  });

  return { stackName, region, accountId, assemblyDir, tables, functions, apis, resolver };
}

function readTable(logicalId: string, r: CfnResource, tableName: string, resolver: IntrinsicResolver): TableModel {
  type Index = { IndexName: string; KeySchema: KeySchemaElement[]; Projection?: Projection };
  const p = resolver.resolve(r.Properties ?? {}) as {
    AttributeDefinitions?: AttributeDefinition[];
    KeySchema?: KeySchemaElement[];
    GlobalSecondaryIndexes?: Index[];
    LocalSecondaryIndexes?: Index[];
  };
  if (!p.KeySchema || !p.AttributeDefinitions)
    throw new UnresolvableError(`table ${logicalId} has no KeySchema or AttributeDefinitions`);
  // DynamoDB's CreateTable takes the template's index shape; a missing Projection means ALL, as CloudFormation's does.
  const indexes = (list: Index[] | undefined) =>
    list && list.length > 0
      ? list.map((i) => ({
          IndexName: i.IndexName,
          KeySchema: i.KeySchema,
          Projection: i.Projection ?? { ProjectionType: 'ALL' as const },
        }))
      : undefined;
  return {
    logicalId,
    tableName,
    createTableInput: {
      TableName: tableName,
      // Capacity settings mean nothing to DynamoDB Local; on-demand needs none.
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: p.AttributeDefinitions,
      KeySchema: p.KeySchema,
      GlobalSecondaryIndexes: indexes(p.GlobalSecondaryIndexes),
      LocalSecondaryIndexes: indexes(p.LocalSecondaryIndexes),
    },
  };
}

function readFunction(
  logicalId: string,
  r: CfnResource,
  assemblyDir: string,
  resolver: IntrinsicResolver,
): FunctionModel {
  const p = r.Properties ?? {};
  const functionName = resolver.physicalName(logicalId, r);
  const runtime = valueText(p.Runtime) ?? '';
  if (!runtime.startsWith('nodejs')) {
    throw new UnresolvableError(
      `Lambda ${logicalId}: local mode runs Node.js functions only, this one is ${runtime || 'a container image'}`,
    );
  }
  const code = (p.Code ?? {}) as Record<string, unknown>;
  let codeDir: string;
  const assetPath = r.Metadata?.['aws:asset:path'];
  if (typeof assetPath === 'string') {
    codeDir = path.resolve(assemblyDir, assetPath);
  } else if (typeof code.ZipFile === 'string') {
    // Inline code (Code.fromInline) has no asset: write it where require() can load it.
    codeDir = path.join(assemblyDir, 'local-inline', logicalId);
    fs.mkdirSync(codeDir, { recursive: true });
    fs.writeFileSync(path.join(codeDir, 'index.js'), resolver.resolveString(code.ZipFile, `${logicalId}.Code.ZipFile`));
  } else {
    throw new UnresolvableError(
      `Lambda ${logicalId} has no aws:asset:path metadata: synthesize with the context aws:cdk:enable-asset-metadata=true`,
    );
  }
  if (!fs.existsSync(codeDir))
    throw new UnresolvableError(`Lambda ${logicalId}: code folder ${codeDir} does not exist`);
  const env = resolver.resolve((p.Environment as Record<string, unknown> | undefined)?.Variables ?? {}) as Record<
    string,
    unknown
  >;
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new UnresolvableError(`Lambda ${logicalId}: environment ${k} did not resolve to a string`);
    }
    environment[k] = String(v);
  }
  return {
    logicalId,
    functionName,
    handler: resolver.resolveString(p.Handler ?? 'index.handler', `${logicalId}.Handler`),
    runtime,
    codeDir,
    environment,
    timeoutSeconds: Number(resolver.resolve(p.Timeout ?? 3)),
    memorySize: Number(resolver.resolve(p.MemorySize ?? 128)),
  };
}

function readAuthorizer(
  logicalId: string,
  r: CfnResource,
  resolver: IntrinsicResolver,
  lambdaIn: (v: unknown, what: string) => string,
): AuthorizerModel {
  const p = r.Properties ?? {};
  const type = String(resolver.resolve(p.Type));
  if (type !== 'REQUEST' && type !== 'TOKEN') {
    throw new UnresolvableError(
      `Authorizer ${logicalId}: local mode emulates Lambda REQUEST and TOKEN authorizers, not ${type}`,
    );
  }
  const identitySourceText =
    p.IdentitySource === undefined ? '' : resolver.resolveString(p.IdentitySource, `${logicalId}.IdentitySource`);
  const identitySources = identitySourceText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((expression) => parseIdentitySource(expression, logicalId));
  const ttl =
    p.AuthorizerResultTtlInSeconds === undefined ? 300 : Number(resolver.resolve(p.AuthorizerResultTtlInSeconds));
  return {
    logicalId,
    authorizerId: resolver.resolveString({ Ref: logicalId }, logicalId),
    name: valueText(resolver.resolve(p.Name)) ?? logicalId,
    type,
    functionLogicalId: lambdaIn(p.AuthorizerUri, `Authorizer ${logicalId}`),
    identitySources,
    ttlSeconds: ttl,
    identityValidationExpression:
      p.IdentityValidationExpression === undefined
        ? undefined
        : resolver.resolveString(p.IdentityValidationExpression, logicalId),
  };
}

export function parseIdentitySource(expression: string, where = 'IdentitySource'): IdentitySource {
  let m = /^method\.request\.(header|querystring)\.(.+)$/.exec(expression);
  if (m) return { expression, kind: m[1] as 'header' | 'querystring', name: m[2] };
  m = /^context\.(.+)$/.exec(expression);
  if (m) return { expression, kind: 'context', name: m[1] };
  m = /^stageVariables\.(.+)$/.exec(expression);
  if (m) return { expression, kind: 'stageVariables', name: m[1] };
  throw new UnresolvableError(`${where}: unsupported identity source ${expression}`);
}

function readMethod(
  logicalId: string,
  p: Record<string, unknown>,
  resolver: IntrinsicResolver,
  lambdaIn: (v: unknown, what: string) => string,
): MethodModel {
  const httpMethod = resolver.resolveString(p.HttpMethod, `${logicalId}.HttpMethod`).toUpperCase();
  const authorizationType = String(resolver.resolve(p.AuthorizationType ?? 'NONE')) as MethodModel['authorizationType'];
  const integration = (p.Integration ?? {}) as Record<string, unknown>;
  const integrationType = String(resolver.resolve(integration.Type ?? ''));
  const timeoutMs = Number(resolver.resolve(integration.TimeoutInMillis ?? 29000));
  let model: IntegrationModel;
  if (integrationType === 'AWS_PROXY') {
    model = { type: 'AWS_PROXY', functionLogicalId: lambdaIn(integration.Uri, `Method ${logicalId}`), timeoutMs };
  } else if (integrationType === 'HTTP_PROXY') {
    model = {
      type: 'HTTP_PROXY',
      uri: resolver.resolveString(integration.Uri, `${logicalId}.Integration.Uri`),
      httpMethod: String(resolver.resolve(integration.IntegrationHttpMethod ?? 'ANY')).toUpperCase(),
      requestParameters: (resolver.resolve(integration.RequestParameters ?? {}) ?? {}) as Record<string, string>,
      timeoutMs,
    };
  } else {
    model = { type: 'UNSUPPORTED', description: `${integrationType || 'no'} integration` };
  }
  return {
    httpMethod,
    authorizationType,
    authorizerLogicalId: referencedLogicalId(p.AuthorizerId),
    apiKeyRequired: Boolean(resolver.resolve(p.ApiKeyRequired ?? false)),
    integration: model,
  };
}
