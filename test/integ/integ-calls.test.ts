/*
 * What the integration test (integ/test/integ.ip-allowlist.ts) will send on AWS, replayed here against the real
 * handlers on DynamoDB Local, so that a mistake in it shows before anyone has an account to run it in: the two
 * admin calls, read from the committed snapshot's assertion stack (the Lambda:Invoke payloads, with the key id the
 * first one returns put into the second as CloudFormation would), go through the real admin handler with a stand-in
 * control plane for the stage flush; the requests to the protected API go through the real authorizer, and its
 * decisions must be the ones the snapshot's assertions expect.
 *
 * Not replayed, because API Gateway answers them without calling our code: the request without any key (401
 * missing_api_key, a gateway response: the authorization header is the authorizer's identity source) and the
 * unsigned admin request (403, AWS_IAM authorization). test/lib pins both on the template.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { APIGatewayAuthorizerResult, APIGatewayProxyEvent } from 'aws-lambda';
import { DynamoDbAuthorizerStore } from '../../lambda/adapters/dynamodb-store';
import { Authorizer, createAuthorizer } from '../../lambda/authorizer/authorizer';
import {
  FakeControlPlane,
  Harness,
  makeHarness,
  recordingLogger,
  startFakeControlPlane,
} from '../lambda/admin/fixtures';
import { authorizerEvent } from '../lambda/authorizer/fixtures';
import { REPO_ROOT } from '../package/pack';

const SNAPSHOT = path.join(REPO_ROOT, 'integ', 'test', 'integ.ip-allowlist.ts.snapshot');
const STAGE = { restApiId: 'abc123defg', stageName: 'v1' };
/** An address of a test runner: anything but the documentation address the key's list will hold. */
const RUNNER_IP = '203.0.113.7';

/** The properties of an integ-tests-alpha call in the template, as far as this test reads them. */
interface CallProperties {
  /** ExpectedResult, serialized: `{"$Exact": …}` or `{"$ObjectLike": …}`. */
  readonly expected: string;
  /** Where in the flattened response an invocation's assertion looks. */
  readonly actualPath?: string;
  readonly parameters: {
    readonly url?: unknown;
    readonly Payload?: unknown;
    readonly fetchOptions?: { readonly headers: { readonly Authorization: unknown } };
  };
}

interface Call {
  readonly id: string;
  readonly type: string;
  readonly properties: CallProperties;
}

interface AssertionResource {
  readonly Type: string;
  readonly Properties: CallProperties;
  readonly DependsOn?: string[];
}

/** The assertion stack's calls, in the order their DependsOn chain runs them. */
function assertionCalls(): Call[] {
  const file = fs.readdirSync(SNAPSHOT).find((f) => /^IpAllowlistInteg.*DeployAssert.*\.template\.json$/.test(f))!;
  const template = JSON.parse(fs.readFileSync(path.join(SNAPSHOT, file), 'utf8')) as {
    Resources: Record<string, AssertionResource>;
  };
  const resources = template.Resources;
  const calls = Object.entries(resources)
    .filter(([, r]) => /^Custom::DeployAssert@(HttpCall|SdkCallLambdainvoke)$/.test(r.Type))
    .map(([id, r]) => ({
      id,
      type: r.Type,
      properties: r.Properties,
      dependsOn: r.DependsOn ?? [],
    }));
  const ordered: Call[] = [];
  while (ordered.length < calls.length) {
    const next = calls.find(
      (c) =>
        !ordered.includes(c) &&
        c.dependsOn.every((d) => !calls.some((o) => o.id === d) || ordered.some((o) => o.id === d)),
    )!;
    ordered.push(next);
  }
  return ordered;
}

/** A CloudFormation value with the GetAtts of earlier calls replaced by what those calls returned. */
function resolve(value: unknown, results: Map<string, Record<string, unknown>>): string {
  if (typeof value === 'string') return value;
  const node = value as { 'Fn::Join'?: [string, unknown[]]; 'Fn::GetAtt'?: [string, string] };
  if (node['Fn::Join']) {
    const [delimiter, parts] = node['Fn::Join'];
    return parts.map((p) => resolve(p, results)).join(delimiter);
  }
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'];
    const found = results.get(resource)?.[attribute];
    if (typeof found !== 'string') throw new Error(`no ${attribute} from ${resource}`);
    return found;
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} here`);
}

/** Whether an HttpCall goes to the protected API (its URL is built from that API's exported id). */
function protectedApiCall(call: Call): boolean {
  return JSON.stringify(call.properties.parameters.url).includes('ExportsOutputRefApi9AF3637B');
}

let plane: FakeControlPlane;
let h: Harness;
let authorizer: Authorizer;

beforeAll(async () => {
  plane = await startFakeControlPlane();
  const logger = recordingLogger();
  h = await makeHarness('integ-calls', { protectedStages: [STAGE], flusher: plane.flusher([STAGE], logger) });
  authorizer = createAuthorizer({
    store: new DynamoDbAuthorizerStore({
      client: h.ddb,
      allowlistsTableName: h.names.allowlists,
      apiKeysTableName: h.names.apiKeys,
    }),
    logger,
    memoryCacheTtlSeconds: 0,
  });
});

afterAll(async () => {
  h.destroy();
  await plane.close();
});

test('the snapshot holds the calls of integ.ip-allowlist.ts in its order: 5 requests, 2 admin invocations', () => {
  expect(assertionCalls().map((c) => c.type.replace('Custom::DeployAssert@', ''))).toEqual([
    'HttpCall',
    'HttpCall',
    'SdkCallLambdainvoke',
    'HttpCall',
    'SdkCallLambdainvoke',
    'HttpCall',
    'HttpCall',
  ]);
});

test('replayed on the real handlers, every call gets the answer the integration test asserts', async () => {
  // Flattened results of the admin invocations, as the assertion provider returns them (`apiCallResponse.Payload…`).
  const results = new Map<string, Record<string, unknown>>();
  const seen: string[] = [];

  for (const call of assertionCalls()) {
    const expected = JSON.parse(call.properties.expected);
    if (call.type.endsWith('SdkCallLambdainvoke')) {
      const event = JSON.parse(
        JSON.parse(resolve(call.properties.parameters.Payload, results)),
      ) as APIGatewayProxyEvent;
      const response = await h.handler(event);
      const body = JSON.parse(response.body);
      const flat: Record<string, unknown> = {
        'apiCallResponse.Payload.statusCode': response.statusCode,
        'apiCallResponse.Payload.body.key': body.key,
        'apiCallResponse.Payload.body.id': body.id,
        'apiCallResponse.Payload.body.propagation.flushed': body.propagation?.flushed,
      };
      results.set(call.id, flat);
      const at = call.properties.actualPath!;
      expect({ [at]: flat[`apiCallResponse.${at}`] }).toEqual({ [at]: expected.$Exact });
      seen.push(`${event.httpMethod} ${response.statusCode}`);
    } else if (protectedApiCall(call) && call.properties.parameters.fetchOptions) {
      const authorization = resolve(call.properties.parameters.fetchOptions.headers.Authorization, results);
      const result: APIGatewayAuthorizerResult = await authorizer.handle(
        authorizerEvent({ key: authorization.replace(/^Bearer /, ''), sourceIp: RUNNER_IP }),
      );
      const allowed = result.policyDocument.Statement.every((s) => s.Effect === 'Allow');
      const want = expected.$ObjectLike;
      if (want.status === 200) {
        expect(allowed).toBe(true);
      } else {
        expect({ allowed, code: result.context?.errorCode }).toEqual({ allowed: false, code: want.body.error.code });
        if (want.body.error.message) expect(result.context?.errorMessage).toBe(want.body.error.message);
      }
      seen.push(`request ${want.status} ${want.body?.error?.code ?? ''}`.trim());
    }
  }

  expect(seen).toEqual([
    'request 401 invalid_api_key',
    'POST 201',
    'request 200',
    'PUT 200',
    'request 401 ip_not_authorized',
  ]);
  // The flush the PUT answered `flushed: true` for went to the protected stage.
  expect(plane.requests.map((r) => `${r.method} ${r.url}`)).toContain(
    `DELETE /restapis/${STAGE.restApiId}/stages/${STAGE.stageName}/cache/authorizers`,
  );
});
