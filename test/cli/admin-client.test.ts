import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  AdminApiError,
  AdminClient,
  allowlistPath,
  isLoopbackEndpoint,
  regionFromEndpoint,
} from '../../cli/admin-client';

/*
 * The CLI's HTTP layer against a real HTTP server: paths, bodies, error mapping, and SigV4 signatures that are
 * verified by recomputing them from what the server received.
 */

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let base: string;
let seen: Seen[] = [];
let reply: (s: Seen) => { status: number; body: unknown } = () => ({ status: 200, body: {} });
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      const r = reply(s);
      const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  process.env = savedEnv;
});

beforeEach(() => {
  seen = [];
  reply = () => ({ status: 200, body: {} });
});

test('scopes map to the admin API paths', () => {
  expect(allowlistPath({ org: 'o' })).toBe('/v1/organizations/o/ip_allowlist');
  expect(allowlistPath({ org: 'o', project: 'p' })).toBe('/v1/organizations/o/projects/p/ip_allowlist');
  expect(allowlistPath({ org: 'o', project: 'p', keyId: 'key_1' })).toBe(
    '/v1/organizations/o/projects/p/api_keys/key_1/ip_allowlist',
  );
});

test('loopback endpoints are local mode; execute-api hosts name their region', () => {
  expect(isLoopbackEndpoint('http://127.0.0.1:8081')).toBe(true);
  expect(isLoopbackEndpoint('http://[::1]:8081')).toBe(true);
  expect(isLoopbackEndpoint('https://abc.execute-api.eu-west-1.amazonaws.com/prod')).toBe(false);
  expect(regionFromEndpoint('https://abc.execute-api.eu-west-1.amazonaws.com/prod')).toBe('eu-west-1');
  expect(regionFromEndpoint('https://api.example.com')).toBeUndefined();
});

test('requests to local mode are not signed and keep the stage path of the endpoint', async () => {
  const client = new AdminClient({ endpoint: `${base}/stage/` });

  await client.removeEntry({ org: 'o', project: 'p' }, '10.0.0.0/8', 3);

  expect(seen[0].method).toBe('DELETE');
  expect(seen[0].url).toBe('/stage/v1/organizations/o/projects/p/ip_allowlist/entries?value=10.0.0.0%2F8');
  expect(seen[0].headers.authorization).toBeUndefined();
  expect(seen[0].headers['if-match']).toBe('"3"');
});

test("an error answer becomes an AdminApiError with the API's message and code", async () => {
  reply = () => ({
    status: 400,
    body: {
      error: {
        message: 'Enabling an empty list would block every request.',
        type: 'invalid_request_error',
        param: null,
        code: 'empty_allowlist',
      },
    },
  });
  const client = new AdminClient({ endpoint: base });

  const err = await client.setEnabled({ org: 'o' }, true).catch((e: unknown) => e);

  expect(err).toBeInstanceOf(AdminApiError);
  expect(err).toMatchObject({
    message: 'Enabling an empty list would block every request.',
    status: 400,
    code: 'empty_allowlist',
  });
});

test("API Gateway's own error shape is understood too", async () => {
  reply = () => ({ status: 403, body: { message: 'Missing Authentication Token' } });
  const client = new AdminClient({ endpoint: base });

  await expect(client.getAllowlist({ org: 'o' })).rejects.toMatchObject({
    message: 'Missing Authentication Token (HTTP 403)',
    status: 403,
  });
});

test('an unreachable endpoint is a clear network error', async () => {
  const client = new AdminClient({ endpoint: 'http://127.0.0.1:1' });

  await expect(client.getAllowlist({ org: 'o' })).rejects.toMatchObject({ code: 'network_error' });
});

test('requests to a deployed endpoint carry a valid SigV4 signature from the standard credential chain', async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  const client = new AdminClient({ endpoint: `${base}/prod`, sign: true, region: 'eu-west-1' });

  await client.addEntries({ org: 'o' }, [{ value: '203.0.113.0/24', description: 'office' }]);

  const s = seen[0];
  const auth = String(s.headers.authorization);
  expect(auth).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/,
  );
  // Recompute the signature from the request as received: it must match.
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1].split(';');
  const headers: Record<string, string> = {};
  for (const h of signedHeaders) headers[h] = String(s.headers[h]);
  const url = new URL(s.url, base);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    sha256: Sha256,
  });
  const amzDate = String(s.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const expected = await signer.sign(
    {
      method: s.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers,
      body: s.body,
    },
    { signingDate },
  );
  expect(auth).toBe(expected.headers.authorization);
  expect(JSON.parse(s.body)).toEqual({ entries: [{ value: '203.0.113.0/24', description: 'office' }] });
});

test('signing without a region to sign for is refused before anything is sent', async () => {
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  const client = new AdminClient({ endpoint: 'https://api.example.com/prod' });

  await expect(client.getAllowlist({ org: 'o' })).rejects.toMatchObject({ code: 'missing_region' });
});
