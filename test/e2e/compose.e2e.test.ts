import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ERRORS, errorBody } from '../../lambda/core/errors';
import { IpAllowlistedApi, Upstream } from '../../lib';
import { createHandlerFunction } from '../../lib/handler-function';
import { RunningLocalMode } from '../../local/local-mode';
import { LOCAL_SYNTH_CONTEXT, synthesizeApp } from '../../local/synth';
import { bearer, call } from '../local/support/http';
import { E2eLocalMode, startE2eLocalMode } from './support/local-mode';

/*
 * A composed app, as a CDK user would write it, served by local mode from its synthesized template with the real
 * Lambdas: an IpAllowlistedApi whose error responses carry a CORS header (issue 10 §7) and a public /health added
 * with authorizationType NONE (§2).
 */

let e2e: E2eLocalMode;
let local: RunningLocalMode;
let outdir: string;

beforeAll(async () => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-cdk-out-'));
  const app = new App({ outdir, context: { ...LOCAL_SYNTH_CONTEXT } });
  const stack = new Stack(app, 'ComposeE2e');
  const echo = createHandlerFunction(new Construct(stack, 'Echo'), {
    asset: 'echo',
    description: 'echo',
    environment: {},
    memorySize: 256,
    timeout: Duration.seconds(5),
    logRetention: logs.RetentionDays.ONE_DAY,
  });
  const allowlisted = new IpAllowlistedApi(stack, 'Api', {
    upstream: Upstream.lambdaFunction(echo.function),
    propagationDelay: Duration.seconds(5),
    gatewayResponseHeaders: { 'Access-Control-Allow-Origin': 'method.request.header.Origin', Vary: "'Origin'" },
  });
  allowlisted.api.root.addResource('health').addMethod('GET', new apigateway.LambdaIntegration(echo.function), {
    authorizationType: apigateway.AuthorizationType.NONE,
  });
  e2e = await startE2eLocalMode('compose', { synthesized: synthesizeApp(app) });
  local = e2e.local;
});

afterAll(async () => {
  await e2e?.stop();
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

const ORIGIN = 'https://app.example.com';

test('a browser can read the 401 ip_not_authorized body: the response carries Access-Control-Allow-Origin', async () => {
  const res = await call(`${local.url}/hello`, {
    headers: { ...bearer(local.demo!.key), Origin: ORIGIN },
    localAddress: '127.0.0.2',
  });

  expect(res.status).toBe(401);
  expect(res.json).toEqual(errorBody(ERRORS.ipNotAuthorizedOrganization));
  expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
  expect(res.headers.vary).toBe('Origin');
});

test('the 401 missing_api_key carries it too', async () => {
  const res = await call(`${local.url}/hello`, { headers: { Origin: ORIGIN } });

  expect(res.status).toBe(401);
  expect(res.json.error.code).toBe('missing_api_key');
  expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
});

test('the explicitly public /health answers without a key, from any address; /hello needs key and address', async () => {
  const health = await call(`${local.url}/health`, { localAddress: '127.0.0.2' });
  const noKey = await call(`${local.url}/hello`, { localAddress: '127.0.0.2' });
  const allowed = await call(`${local.url}/hello`, { headers: bearer(local.demo!.key) });

  expect(health.status).toBe(200);
  expect(noKey.status).toBe(401);
  expect(allowed.status).toBe(200);
});
