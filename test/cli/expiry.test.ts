import { runCli } from '../../cli/main';
import { durationSeconds } from '../../cli/commands/allowlist';
import { Harness, makeHarness } from '../lambda/admin/fixtures';
import { AdminServer, serveAdminHarness } from './support/admin-server';

/*
 * `allowlist add --expires-in` and what `allowlist show` says about expiry, in-process against the real admin
 * handler on DynamoDB Local, with the handler's clock in the test's hands.
 */

const T = Date.parse('2026-06-01T12:00:00.000Z');
let now = T;
let h: Harness;
let server: AdminServer;

beforeAll(async () => {
  h = await makeHarness('cli-expiry', { now: () => now });
  server = await serveAdminHarness(h);
});

afterAll(async () => {
  await server?.close();
  h?.destroy();
});

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await runCli([...args, '--endpoint', server.endpoint], {
    stdout: (t) => out.push(t),
    stderr: (t) => out.push(t),
    env: {},
    cwd: process.cwd(),
  });
  return { code, out: out.join('') };
}

test.each([
  ['30s', 30],
  ['90m', 5400],
  ['24h', 86400],
  ['7d', 604800],
  ['90d', 7776000],
])('--expires-in %s is %i seconds', (text, seconds) => {
  expect(durationSeconds(text)).toBe(seconds);
});

test('add --expires-in sends expiresIn for every entry; show prints when each expires, then that it has', async () => {
  const added = await cli('allowlist', 'add', '--org', 'cx', '192.0.2.1', '192.0.2.2', '--expires-in', '24h');
  await cli('allowlist', 'add', '--org', 'cx', '198.51.100.1');
  await cli('allowlist', 'enable', '--org', 'cx');

  expect(added.code).toBe(0);
  expect(added.out).toMatch(/^VALUE\s+DESCRIPTION\s+ADDED\s+BY\s+EXPIRES$/m);
  expect(added.out).toMatch(/^192\.0\.2\.1\/32 .* 2026-06-02 12:00:00Z$/m);
  expect(added.out).toMatch(/^192\.0\.2\.2\/32 .* 2026-06-02 12:00:00Z$/m);
  const stored = (await h.call('GET', '/v1/organizations/cx/ip_allowlist')).body.entries;
  expect(stored.map((e: { expiresAt: string | null }) => e.expiresAt)).toEqual([
    '2026-06-02T12:00:00.000Z',
    '2026-06-02T12:00:00.000Z',
    null,
  ]);

  now = T + 23 * 3600_000;
  const soon = await cli('allowlist', 'show', '--org', 'cx');
  expect(soon.out).toMatch(/^198\.51\.100\.1\/32 .* never$/m);
  expect(soon.out).toMatch(/^warning \(entries_expiring_soon\): 2 entries expire within 24 hours/m);

  now = T + 24 * 3600_000;
  const expired = await cli('allowlist', 'show', '--org', 'cx');
  expect(expired.code).toBe(0);
  expect(expired.out).toMatch(/^192\.0\.2\.1\/32 .* 2026-06-02 12:00:00Z \(expired\)\s+never$/m);
  expect(expired.out).not.toMatch(/^warning/m);
});

test('show prints the warning of an enforced list whose entries have all expired', async () => {
  now = T;
  await cli('allowlist', 'add', '--org', 'cx-all', '192.0.2.1', '--expires-in', '90m');
  await cli('allowlist', 'enable', '--org', 'cx-all');
  now = T + 90 * 60_000;

  const shown = await cli('allowlist', 'show', '--org', 'cx-all');

  expect(shown.out).toMatch(
    /^warning \(all_entries_expired\): Its only entry has expired, so this enforced allowlist blocks every request/m,
  );
});

test('a list without expiring entries is shown as before: no EXPIRES column, no warning', async () => {
  now = T;
  await cli('allowlist', 'add', '--org', 'cx-plain', '192.0.2.1');
  const shown = await cli('allowlist', 'show', '--org', 'cx-plain');
  expect(shown.out).toMatch(/^VALUE\s+DESCRIPTION\s+ADDED\s+BY\s+LAST MATCHED$/m);
  expect(shown.out).not.toMatch(/EXPIRES|warning/);
});
