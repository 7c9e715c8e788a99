import { AdminClient } from '../../cli/admin-client';
import { ERRORS, errorBody } from '../../lambda/core/errors';
import { RunningLocalMode } from '../../local/local-mode';
import { bearer, call } from '../local/support/http';
import { CliRun, runBin } from '../support/cli-bin';
import { E2eLocalMode, startE2eLocalMode } from './support/local-mode';

/*
 * Report-only mode end to end through local mode: the real authorizer and admin Lambdas behind the emulated
 * gateway, the CLI as a user runs it, real HTTP clients from chosen loopback addresses, and the authorizer's own
 * output (its log line and its embedded-metric-format line) as local mode relays it.
 */

// Each CLI run is a fresh node with ts-node (seconds on a loaded machine).
jest.setTimeout(120_000);

let e2e: E2eLocalMode;
let local: RunningLocalMode;
let admin: AdminClient;

beforeAll(async () => {
  e2e = await startE2eLocalMode('report-only', { propagationDelaySeconds: 9, seed: false });
  local = e2e.local;
  admin = new AdminClient({ endpoint: local.adminUrl!, localUser: 'e2e' });
});

afterAll(async () => {
  await e2e?.stop();
});

function cli(...args: string[]): Promise<CliRun> {
  return runBin(args, local.adminUrl!);
}

/** The authorizer's JSON lines (Powertools Logger and EMF metrics) relayed by local mode since `from`. */
function authorizerLines(from: number): Record<string, unknown>[] {
  return e2e.lambdaLines
    .slice(from)
    .filter((l) => l.includes('Authorizer'))
    .map((l) => l.slice(l.indexOf('{')))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a report-only project list lets 127.0.0.2 through as would_block; enforced (past the lockout guard), it answers 401', async () => {
  const org = 'ro-e2e';
  const key = (await admin.createKey(org, 'app', 'backend')).body;
  await admin.addEntries({ org, project: 'app' }, [{ value: '127.0.0.1' }]);

  const enabled = await cli('allowlist', 'enable', '--org', org, '--project', 'app', '--report-only');
  const shown = await cli('allowlist', 'show', '--org', org, '--project', 'app', '--json');
  const check = await cli('allowlist', 'check', '--org', org, '--project', 'app', '127.0.0.2');
  const before = e2e.lambdaLines.length;
  const passed = await call(`${local.url}/hello`, { headers: bearer(key.key), localAddress: '127.0.0.2' });

  expect(enabled.code).toBe(0);
  expect(enabled.stdout).toContain('REPORT-ONLY');
  expect(JSON.parse(shown.stdout)).toMatchObject({ mode: 'report_only', enabled: false });
  expect(check.code).toBe(0);
  expect(check.stdout).toMatch(/^allowed: 127\.0\.0\.2 is not restricted/);
  expect(check.stdout).toContain('would_block: the report-only project list would block it');
  expect(passed.status).toBe(200);
  expect(passed.json).toMatchObject({ sourceIp: '127.0.0.2', organizationId: org, projectId: 'app' });
  const lines = authorizerLines(before);
  expect(lines).toContainEqual(
    expect.objectContaining({
      message: 'request would be denied by a report-only allowlist (allowed)',
      outcome: 'would_block',
      reason: 'ip_not_authorized',
      scope: 'project',
      keyId: key.id,
      organizationId: org,
      projectId: 'app',
      sourceIp: '127.0.0.2',
    }),
  );
  expect(lines).toContainEqual(expect.objectContaining({ WouldBlockRequests: 1 }));

  // 127.0.0.2 went through a moment ago: enforcing now is refused by the lockout guard until --force.
  const refused = await cli('allowlist', 'enable', '--org', org, '--project', 'app');
  const enforced = await cli('allowlist', 'enable', '--org', org, '--project', 'app', '--force');
  const blocked = await call(`${local.url}/hello`, { headers: bearer(key.key), localAddress: '127.0.0.2' });
  const fromListed = await call(`${local.url}/hello`, { headers: bearer(key.key) });

  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('would_block_recent_traffic');
  expect(refused.stderr).toContain('127.0.0.2');
  expect(enforced.code).toBe(0);
  expect(enforced.stdout).toContain('ENABLED');
  expect(blocked.status).toBe(401);
  expect(blocked.json).toEqual(errorBody(ERRORS.ipNotAuthorizedProject));
  expect(fromListed.status).toBe(200);
});
