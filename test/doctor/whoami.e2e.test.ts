import { bearer, call } from '../local/support/http';
import { E2eLocalMode, startE2eLocalMode } from '../e2e/support/local-mode';
import { runBin } from '../support/cli-bin';

/*
 * whoami and `allowlist check --me` through local mode: the admin API reports the address the request really came
 * from (the client binds its local address), and check --me checks exactly that one.
 */

let e2e: E2eLocalMode;
let adminUrl: string;
let adminUrlIpv6: string;

beforeAll(async () => {
  e2e = await startE2eLocalMode('whoami', { propagationDelaySeconds: 5, seed: false, localUser: 'whoami-tester' });
  adminUrl = e2e.local.adminUrl!;
  adminUrlIpv6 = `http://[::1]:${e2e.local.adminPort}`;
});

afterAll(async () => {
  await e2e?.stop();
});

test.each([
  ['127.0.0.1', () => adminUrl, 'ipv4'],
  ['127.0.0.2', () => adminUrl, 'ipv4'],
  ['::1', () => adminUrlIpv6, 'ipv6'],
])('GET /v1/whoami from %s reports that address', async (address, url, family) => {
  const res = await call(`${url()}/v1/whoami`, { localAddress: address });

  expect(res.status).toBe(200);
  expect(res.json).toEqual({
    object: 'whoami',
    sourceIp: address,
    ip: address,
    family,
    principal: 'local:whoami-tester',
  });
});

test('cdk-ip-allowlist whoami prints the address and principal, or the API object with --json', async () => {
  const [text, json] = await Promise.all([
    runBin(['whoami'], adminUrl),
    runBin(['whoami', '--endpoint', adminUrlIpv6, '--json'], adminUrl),
  ]);

  expect(text.code).toBe(0);
  expect(text.stdout.split('\n').slice(0, 2)).toEqual([
    'source IP  127.0.0.1  (IPv4)',
    'principal  local:whoami-tester',
  ]);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({ ip: '::1', family: 'ipv6' });
});

test('allowlist check --me checks the address whoami reports: allowed over IPv4, blocked over IPv6', async () => {
  await runBin(['allowlist', 'replace', '--org', 'me-org', '127.0.0.1', '--enable'], adminUrl);

  const [v4, v6, both] = await Promise.all([
    runBin(['allowlist', 'check', '--org', 'me-org', '--me'], adminUrl),
    runBin(['allowlist', 'check', '--org', 'me-org', '--me', '--endpoint', adminUrlIpv6, '--json'], adminUrl),
    runBin(['allowlist', 'check', '--org', 'me-org', '--me', '127.0.0.1'], adminUrl),
  ]);

  expect(v4.code).toBe(0);
  expect(v4.stdout).toMatch(/^allowed: 127\.0\.0\.1 matches 127\.0\.0\.1\/32 in the organization list/);
  expect(v6.code).toBe(3);
  expect(JSON.parse(v6.stdout)).toMatchObject({ allowed: false, ip: '::1', scope: 'organization' });
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/give exactly one IP address to check, or --me/);
});

test('the protected API sees the same loopback address the admin API reported', async () => {
  const created = await runBin(
    ['keys', 'create', '--org', 'me-org', '--project', 'p', '--name', 'k', '--json'],
    adminUrl,
  );
  const { key } = JSON.parse(created.stdout) as { key: string };

  // me-org allows 127.0.0.1 only (previous test): the address whoami reports over IPv4 passes, 127.0.0.2 does not.
  const [from1, from2] = await Promise.all([
    call(`${e2e.local.url}/hello`, { headers: bearer(key), localAddress: '127.0.0.1' }),
    call(`${e2e.local.url}/hello`, { headers: bearer(key), localAddress: '127.0.0.2' }),
  ]);

  expect(from1.status).toBe(200);
  expect([from2.status, from2.json?.error?.code]).toEqual([401, 'ip_not_authorized']);
});
