/*
 * The library deployed, then asked what a user would ask of it, in this order (each step waits for the one before):
 *
 *   1. the protected API without a key                         → 401 missing_api_key
 *   2. with a made-up key                                      → 401 invalid_api_key
 *   3. the admin API creates a key                             → 201, the secret once
 *   4. the protected API with that key (no list anywhere)      → 200 from the upstream
 *   5. the admin API gives the key a list of only 192.0.2.1/32 → 200, flushed: true (the flush permission works)
 *   6. the protected API with that key, from the runner        → 401 ip_not_authorized
 *   7. the admin API without a SigV4 signature                 → 403 (IAM authorization is on)
 *
 * How the admin calls are made: the admin API is IAM-authorized (SigV4), and `httpApiCall` cannot sign. So steps 3
 * and 5 invoke the admin Lambda directly (`invokeFunction`, itself an IAM-authorized Lambda:Invoke that the
 * assertion provider's role is granted for this one function) with the API Gateway proxy event API Gateway would
 * send it: what runs is the deployed handler with its real tables and its real FlushStageAuthorizersCache call,
 * which is what this test is about. What it skips is API Gateway's own SigV4 check of the admin route; step 7 shows
 * it is on, and `cdk-ip-allowlist doctor` (docs/doctor.md) exercises the signed path end to end. A test-only Lambda
 * that signs its own requests would cover that path too, at the price of code of ours that runs only on AWS and
 * that nothing here could test; the proxy events below are checked against the real admin handler on DynamoDB
 * Local by the repository's test/integ/integ-snapshot.test.ts.
 *
 * Run it: see docs/deploy.md ("Integration tests"). Snapshot mode (no account): `npx integ-runner --language
 * typescript` compares a fresh synth with integ.ip-allowlist.ts.snapshot/.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { IpAllowlistedApi, Upstream } from 'cdk-ip-allowlist';

const ORGANIZATION = 'integ-org';
const PROJECT = 'integ-project';
/** A documentation address (RFC 5737): no test runner has it, so a list of only this refuses the runner. */
const DOCUMENTATION_CIDR = '192.0.2.1/32';

/** The API Gateway (REST) proxy event for one admin call, as API Gateway sends it for the `/{proxy+}` resource. */
function adminProxyEvent(method: string, path: string, body: unknown, requestId: string): string {
  return JSON.stringify({
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: { 'content-type': ['application/json'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      resource: '/{proxy+}',
      path,
      httpMethod: method,
      requestId,
      // The caller the audit log records for these writes (API Gateway would put the SigV4 signer here).
      identity: { userArn: 'integ-tests-alpha:cdk-ip-allowlist', sourceIp: '192.0.2.254' },
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  });
}

const app = new App();
const stack = new Stack(app, 'CdkIpAllowlistInteg', {
  description: 'cdk-ip-allowlist integration test: an IP-allowlisted REST API, its admin API and an upstream',
});

// The example app's echo Lambda is not part of the package; an inline upstream keeps this stack free of bundling.
const upstream = new lambda.Function(stack, 'Upstream', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline(
    "exports.handler = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, " +
      "body: JSON.stringify({ upstream: 'reached' }) });",
  ),
  timeout: Duration.seconds(5),
});

const allowlisted = new IpAllowlistedApi(stack, 'Api', {
  upstream: Upstream.lambdaFunction(upstream),
  // A test stack leaves nothing behind: its tables and log groups go with it.
  removalPolicy: RemovalPolicy.DESTROY,
  logRemovalPolicy: RemovalPolicy.DESTROY,
});

const integ = new IntegTest(app, 'IpAllowlistInteg', {
  // The tables are new on every deployment (and destroyed after it), so the fixed ids never meet old data.
  testCases: [stack],
  // The update workflow would first deploy the committed snapshot, which leaves out the Lambda bundles (generated,
  // 2.4 MB, changed by every handler edit; see integ/.gitignore). Each run deploys the current build instead.
  stackUpdateWorkflow: false,
});

const protectedUrl = `${allowlisted.api.url}integ`;
const adminFunction = allowlisted.adminApi.function.functionName;
const keysPath = `/v1/organizations/${ORGANIZATION}/projects/${PROJECT}/api_keys`;

const missingKey = integ.assertions
  .httpApiCall(protectedUrl)
  .expect(ExpectedResult.objectLike({ status: 401, body: { error: { code: 'missing_api_key' } } }));

const madeUpKey = integ.assertions
  .httpApiCall(protectedUrl, { headers: { Authorization: 'Bearer sk-made-up-key-that-was-never-issued' } })
  .expect(ExpectedResult.objectLike({ status: 401, body: { error: { code: 'invalid_api_key' } } }));

const createKey = integ.assertions.invokeFunction({
  functionName: adminFunction,
  payload: adminProxyEvent('POST', keysPath, { name: 'integ' }, 'integ-create-key'),
});
createKey.assertAtPath('Payload.statusCode', ExpectedResult.exact(201));
const key = createKey.getAttString('Payload.body.key');
const keyId = createKey.getAttString('Payload.body.id');

const freshKey = integ.assertions
  .httpApiCall(protectedUrl, { headers: { Authorization: `Bearer ${key}` } })
  .expect(ExpectedResult.objectLike({ status: 200, body: { upstream: 'reached' } }));

const restrictKey = integ.assertions.invokeFunction({
  functionName: adminFunction,
  payload: adminProxyEvent(
    'PUT',
    `${keysPath}/${keyId}/ip_allowlist`,
    { entries: [DOCUMENTATION_CIDR], enabled: true },
    'integ-restrict-key',
  ),
});
restrictKey.assertAtPath('Payload.body.propagation.flushed', ExpectedResult.exact(true));

// The flush is asynchronous (API Gateway answers 202): poll until the cached Allow is gone, for at most the
// propagation delay the construct configures (5 minutes) plus a margin, which is what a failed flush would cost.
const restrictedKey = integ.assertions
  .httpApiCall(protectedUrl, { headers: { Authorization: `Bearer ${key}` } })
  .expect(
    ExpectedResult.objectLike({
      status: 401,
      body: { error: { code: 'ip_not_authorized', message: 'Your IP is not authorized to use this API key.' } },
    }),
  )
  .waitForAssertions({ totalTimeout: Duration.minutes(6), interval: Duration.seconds(5) });

const unsignedAdmin = integ.assertions
  .httpApiCall(`${allowlisted.adminApi.api.url}v1/organizations/${ORGANIZATION}/ip_allowlist`)
  .expect(ExpectedResult.objectLike({ status: 403 }));

missingKey.next(madeUpKey).next(createKey).next(freshKey).next(restrictKey).next(restrictedKey).next(unsignedAdmin);
