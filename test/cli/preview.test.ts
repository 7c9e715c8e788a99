import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT, runCli } from '../../cli/main';
import type { SightingUpdate } from '../../lambda/core/traffic';
import { Harness, keysPath, makeHarness } from '../lambda/admin/fixtures';
import { AdminServer, serveAdminHarness } from './support/admin-server';

/*
 * `allowlist preview` and `--force` of the writes, in-process against the real admin handler on DynamoDB Local,
 * with sightings recorded as the authorizer records them.
 */

let h: Harness;
let server: AdminServer;
let tmp: string;

beforeAll(async () => {
  h = await makeHarness('cli-preview');
  server = await serveAdminHarness(h);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-preview-'));
});

afterAll(async () => {
  await server.close();
  h.destroy();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...args, '--endpoint', server.endpoint], {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    cwd: os.tmpdir(),
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** An organization with a key in project web, its list holding 192.0.2.0/24 (off), and two callers an hour ago. */
async function seeded(org: string): Promise<string> {
  const key = await h.call('POST', keysPath(org, 'web'), { body: { name: 'backend' } });
  await h.call('PUT', `/v1/organizations/${org}/ip_allowlist`, { body: { entries: ['192.0.2.0/24'] } });
  const seen = Date.now() - 3_600_000;
  const sighting = (sourceIp: string, count: number): SightingUpdate => ({
    organizationId: org,
    projectId: 'web',
    keyId: key.body.id as string,
    sourceIp,
    outcome: 'allowed',
    scope: 'none',
    matched: {},
    count,
    firstSeen: seen,
    lastSeen: seen,
  });
  await h.recordSightings([sighting('192.0.2.7', 2), sighting('198.51.100.9', 5)]);
  return key.body.id as string;
}

test('preview --mode enforce prints who would be blocked, per key; --json is the API object', async () => {
  const keyId = await seeded('cli-pv');

  const text = await cli('allowlist', 'preview', '--org', 'cli-pv', '--mode', 'enforce');
  const json = await cli('allowlist', 'preview', '--org', 'cli-pv', '--mode', 'enforce', '--days', '2', '--json');

  expect(text.code).toBe(EXIT.ok);
  expect(text.stdout).toMatch(
    /^Preview of organization cli-pv: a draft \(enforce, 1 entries\), on the traffic of the last 7 days \(2 sightings read\)$/m,
  );
  expect(text.stdout).toContain('Would be BLOCKED (pass today): 1\nADDRESS');
  expect(text.stdout).toMatch(
    new RegExp(`^198\\.51\\.100\\.9\\s+${keyId}\\s+web\\s+allowed\\s+blocked\\s+\\S+ \\S+Z\\s+5$`, 'm'),
  );
  expect(text.stdout).toContain('Would PASS (blocked today): none');
  expect(json.code).toBe(EXIT.ok);
  expect(JSON.parse(json.stdout)).toMatchObject({
    object: 'ip_allowlist_preview',
    window: { days: 2 },
    wouldBlock: [{ ip: '198.51.100.9' }],
  });
});

test('preview --entry and --entries-file make the draft', async () => {
  await seeded('cli-pv-draft');
  const file = path.join(tmp, 'draft.txt');
  fs.writeFileSync(file, '# the backend\n198.51.100.0/24 backend\n');

  const res = await cli(
    'allowlist',
    'preview',
    '--org',
    'cli-pv-draft',
    '--mode',
    'enforce',
    '--entry',
    '203.0.113.1',
    '--entries-file',
    file,
    '--json',
  );

  const body = JSON.parse(res.stdout);
  expect(body.draft).toEqual({ mode: 'enforce', entryCount: 2, stored: false });
  expect(body.wouldBlock.map((a: { ip: string }) => a.ip)).toEqual(['192.0.2.7']);
});

test('enable refused by the lockout guard: exit 1, the addresses and keys, the hint; --force enforces', async () => {
  const keyId = await seeded('cli-guard');

  const refused = await cli('allowlist', 'enable', '--org', 'cli-guard');
  const shown = await cli('allowlist', 'show', '--org', 'cli-guard', '--json');
  const forced = await cli('allowlist', 'enable', '--org', 'cli-guard', '--force');

  expect(refused.code).toBe(EXIT.error);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toMatch(
    /^error: This change would block 1 source address .*\(would_block_recent_traffic, HTTP 409\)\n/,
  );
  expect(refused.stderr).toMatch(/^ADDRESS\s+KEY\s+PROJECT\s+TODAY\s+DRAFT\s+LAST SEEN\s+DECISIONS$/m);
  expect(refused.stderr).toMatch(new RegExp(`^198\\.51\\.100\\.9\\s+${keyId}\\s+web\\s+allowed\\s+blocked`, 'm'));
  expect(refused.stderr).toContain(
    'hint: add these addresses to the list the error names (allowlist add), or repeat the command with --force',
  );
  expect(JSON.parse(shown.stdout)).toMatchObject({ mode: 'off', version: 1 });
  expect(forced.code).toBe(EXIT.ok);
  expect(forced.stdout).toContain('ENABLED');
});

test('remove, replace and add take --force', async () => {
  await seeded('cli-force');
  await cli('allowlist', 'add', '--org', 'cli-force', '198.51.100.9');
  expect((await cli('allowlist', 'enable', '--org', 'cli-force')).code).toBe(EXIT.ok);

  const removeRefused = await cli('allowlist', 'remove', '--org', 'cli-force', '198.51.100.9');
  const removeForced = await cli('allowlist', 'remove', '--org', 'cli-force', '198.51.100.9', '--force');
  const replaceRefused = await cli('allowlist', 'replace', '--org', 'cli-force', '10.0.0.0/8');
  const replaceForced = await cli('allowlist', 'replace', '--org', 'cli-force', '10.0.0.0/8', '--force', '--json');
  const addForced = await cli('allowlist', 'add', '--org', 'cli-force', '192.0.2.0/24', '--force');

  expect(removeRefused.code).toBe(EXIT.error);
  expect(removeRefused.stderr).toContain('would_block_recent_traffic');
  expect(removeForced.code).toBe(EXIT.ok);
  expect(replaceRefused.code).toBe(EXIT.error);
  expect(replaceForced.code).toBe(EXIT.ok);
  expect(JSON.parse(replaceForced.stdout).entries.map((e: { value: string }) => e.value)).toEqual(['10.0.0.0/8']);
  expect(addForced.code).toBe(EXIT.ok);
  const actions = (await h.auditRecords('cli-force')).map((r) => [r.action, (r.after as { force?: true }).force]);
  expect(actions.slice(0, 3)).toEqual([
    ['ip_allowlist.entries.add', true],
    ['ip_allowlist.replace', true],
    ['ip_allowlist.entry.delete', true],
  ]);
});

test("disable of a project list whose callers the organization's enforced list would block: refused; --force disables", async () => {
  await seeded('cli-disable');
  const project = ['--org', 'cli-disable', '--project', 'web'];
  await h.call('PUT', '/v1/organizations/cli-disable/ip_allowlist', {
    body: { entries: ['192.0.2.0/24'], mode: 'enforce', force: true },
  });
  expect((await cli('allowlist', 'replace', ...project, '192.0.2.0/24', '198.51.100.9', '--enable')).code).toBe(
    EXIT.ok,
  );

  const refused = await cli('allowlist', 'disable', ...project);
  const forced = await cli('allowlist', 'disable', ...project, '--force', '--json');

  expect(refused.code).toBe(EXIT.error);
  expect(refused.stderr).toMatch(/^error: This change would block 1 source address .*198\.51\.100\.9/);
  expect(refused.stderr).toContain('would_block_recent_traffic');
  expect(forced.code).toBe(EXIT.ok);
  expect(JSON.parse(forced.stdout)).toMatchObject({ mode: 'off' });
  const [record] = await h.auditRecords('cli-disable');
  expect(record).toMatchObject({ action: 'ip_allowlist.disable', after: { force: true } });
});

test('a deployment without traffic: the write is made and the CLI prints the warning that the guard could not check', async () => {
  const none = await makeHarness('cli-no-traffic', { trafficTable: null });
  const noneServer = await serveAdminHarness(none);
  try {
    await none.call('PUT', '/v1/organizations/cli-none/ip_allowlist', { body: { entries: ['192.0.2.0/24'] } });
    const out: string[] = [];
    const code = await runCli(['allowlist', 'enable', '--org', 'cli-none', '--endpoint', noneServer.endpoint], {
      stdout: (t) => out.push(t),
      stderr: (t) => out.push(t),
      env: {},
      cwd: os.tmpdir(),
    });

    expect(code).toBe(EXIT.ok);
    expect(out.join('')).toMatch(/^warning \(lockout_guard_unavailable\): This deployment records no traffic/m);
  } finally {
    await noneServer.close();
    none.destroy();
  }
});

test.each([
  [['--days', '0'], /--days must be a positive whole number, got "0"/],
  [['--mode', 'shadow'], /--mode Allowed choices are enforce, report_only, off/],
])('preview %j is a usage error', async (args, message) => {
  const res = await cli('allowlist', 'preview', '--org', 'o', ...args);

  expect(res.code).toBe(EXIT.usage);
  expect(res.stderr).toMatch(message);
});
