import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunningLocalMode } from '../../local/local-mode';
import { bearer, call } from '../local/support/http';
import { CliRun, runBin } from '../support/cli-bin';
import { E2eLocalMode, startE2eLocalMode } from '../e2e/support/local-mode';

/*
 * The `cdk-ip-allowlist` command as a user runs it: the package's bin shim spawned as a child process against
 * the admin API of a running local mode, checked by its output, its exit code and the protected API's answers.
 */

// Each CLI run is a fresh node with ts-node (seconds on a loaded machine), and the walkthrough makes seven of them.
jest.setTimeout(180_000);

let e2e: E2eLocalMode;
let local: RunningLocalMode;
let tmp: string;

beforeAll(async () => {
  e2e = await startE2eLocalMode('cli', { propagationDelaySeconds: 5, seed: false, localUser: 'cli-tester' });
  local = e2e.local;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
});

afterAll(async () => {
  await e2e?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

type Run = CliRun;

/** Runs the CLI; the endpoint comes from CDK_IP_ALLOWLIST_ENDPOINT unless the args give one. */
function cli(...args: string[]): Promise<Run> {
  return runBin(args, local.adminUrl!);
}

const api = (key: string, localAddress?: string) => call(`${local.url}/hello`, { headers: bearer(key), localAddress });

test('the README walkthrough: create a key, call, enable a list (the guard refuses, --force), see the 401, check, add, call again', async () => {
  const created = await cli('keys', 'create', '--org', 'walk', '--project', 'app', '--name', 'backend', '--json');
  expect(created.code).toBe(0);
  const { key, id } = JSON.parse(created.stdout);
  expect(key).toMatch(/^sk-/);
  expect(id).toMatch(/^key_/);
  expect((await api(key, '127.0.0.2')).status).toBe(200);

  const added = await cli('allowlist', 'add', '--org', 'walk', '127.0.0.1', '--description', 'my laptop');
  // 127.0.0.2 called a moment ago: the lockout guard refuses until --force says it is meant (as the README's step 3).
  const refused = await cli('allowlist', 'enable', '--org', 'walk');
  const enabled = await cli('allowlist', 'enable', '--org', 'walk', '--force');
  const blocked = await api(key, '127.0.0.2');
  const check = await cli('allowlist', 'check', '--org', 'walk', '127.0.0.2');
  const addSecond = await cli('allowlist', 'add', '--org', 'walk', '127.0.0.2');
  const allowedAgain = await api(key, '127.0.0.2');
  const checkAgain = await cli('allowlist', 'check', '--org', 'walk', '127.0.0.2');

  expect(added.code).toBe(0);
  expect(added.stdout).toMatch(/127\.0\.0\.1\/32\s+my laptop/);
  // The last flush follows the decision age bound (2 s for a 5 s delay): after it, the change is in force.
  expect(added.stdout).toContain('Applies within 0 s (the authorizer cache was flushed).');
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toContain('would_block_recent_traffic');
  expect(refused.stderr).toContain('127.0.0.2');
  expect(enabled.code).toBe(0);
  expect(enabled.stdout).toContain('ENABLED');
  expect(blocked.status).toBe(401);
  expect(blocked.json.error.code).toBe('ip_not_authorized');
  expect(check.code).toBe(3);
  expect(check.stdout).toMatch(/^blocked: 127\.0\.0\.2/);
  expect(addSecond.code).toBe(0);
  expect(allowedAgain.status).toBe(200);
  expect(checkAgain.code).toBe(0);
  expect(checkAgain.stdout).toMatch(/^allowed: 127\.0\.0\.2 matches 127\.0\.0\.2\/32 in the organization list/);
});

test('check says what a dual-stack API means for the address it checked; --json stays the API object', async () => {
  const [v4, v6, json] = await Promise.all([
    cli('allowlist', 'check', '--org', 'family', '192.0.2.10'),
    cli('allowlist', 'check', '--org', 'family', '2001:db8::10'),
    cli('allowlist', 'check', '--org', 'family', '192.0.2.10', '--json'),
  ]);

  expect(v4.stdout.split('\n')[1]).toBe(
    'note: if the API is dual-stack (ipAddressType DUAL_STACK), a client that has IPv6 connects over IPv6 and is ' +
      'checked by its IPv6 address, not this one: allowlist (and check) that address too',
  );
  expect(v6.stdout.split('\n')[1]).toMatch(
    /^note: an IPv6 client reaches the API over IPv6 only when the API is dual-stack/,
  );
  expect(JSON.parse(json.stdout)).toMatchObject({ object: 'ip_allowlist_check', ip: '192.0.2.10' });
});

test('show prints a table, or the API object with --json', async () => {
  await cli(
    'allowlist',
    'replace',
    '--org',
    'show-org',
    '--project',
    'p',
    '198.51.100.0/24',
    '2001:db8::/48',
    '--description',
    'office',
  );

  const [text, json] = await Promise.all([
    cli('allowlist', 'show', '--org', 'show-org', '--project', 'p'),
    cli('allowlist', 'show', '--org', 'show-org', '--project', 'p', '--json'),
  ]);

  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^Allowlist of project show-org\/p: disabled \(version 1/);
  expect(text.stdout).toMatch(/^VALUE\s+DESCRIPTION\s+ADDED\s+BY\s+LAST MATCHED$/m);
  // No traffic from these ranges: never matched (unknown while local mode records no traffic, with a warning).
  expect(text.stdout).toMatch(/^2001:db8::\/48\s+office\s+\S+ \S+\s+local:cli-tester\s+(never|unknown)$/m);
  expect(JSON.parse(json.stdout)).toMatchObject({
    scope: 'project',
    enabled: false,
    version: 1,
    entries: [{ value: '198.51.100.0/24' }, { value: '2001:db8::/48' }],
  });
});

test('replace --file, remove and disable change the list as asked', async () => {
  const file = path.join(tmp, 'entries.txt');
  fs.writeFileSync(file, '# office and VPN\n203.0.113.0/24 office\n\n192.0.2.7   vpn exit  # the one\n');

  const replaced = await cli('allowlist', 'replace', '--org', 'file-org', '--file', file, '--enable', '--json');
  const removed = await cli('allowlist', 'remove', '--org', 'file-org', '192.0.2.7/32', '--json');
  const disabled = await cli('allowlist', 'disable', '--org', 'file-org', '--json');

  expect(replaced.code).toBe(0);
  expect(JSON.parse(replaced.stdout)).toMatchObject({
    enabled: true,
    entries: [
      { value: '203.0.113.0/24', description: 'office' },
      { value: '192.0.2.7/32', description: 'vpn exit' },
    ],
  });
  expect(JSON.parse(removed.stdout).entries.map((e: { value: string }) => e.value)).toEqual(['203.0.113.0/24']);
  expect(JSON.parse(disabled.stdout)).toMatchObject({ enabled: false, propagation: { flushed: true } });
});

test('--if-match: the current version writes, a stale one is refused with HTTP 412 and changes nothing', async () => {
  const first = await cli('allowlist', 'add', '--org', 'match-org', '10.9.0.0/16', '--json');
  const version = JSON.parse(first.stdout).version;

  const current = await cli('allowlist', 'add', '--org', 'match-org', '10.8.0.0/16', '--if-match', String(version));
  const stale = await cli('allowlist', 'add', '--org', 'match-org', '10.7.0.0/16', '--if-match', String(version));
  const shown = JSON.parse((await cli('allowlist', 'show', '--org', 'match-org', '--json')).stdout);

  expect(current.code).toBe(0);
  expect(stale.code).toBe(1);
  expect(stale.stderr).toMatch(/HTTP 412\)\n$/);
  expect(shown.version).toBe(version + 1);
  expect(shown.entries.map((e: { value: string }) => e.value)).toEqual(['10.9.0.0/16', '10.8.0.0/16']);
});

test('check --entries tests a draft list without saving it', async () => {
  const [inDraft, outsideDraft, shown] = await Promise.all([
    cli('allowlist', 'check', '--org', 'draft-org', '203.0.113.9', '--entries', '198.51.100.0/24,203.0.113.0/24'),
    cli('allowlist', 'check', '--org', 'draft-org', '192.0.2.1', '--entries', '198.51.100.0/24,203.0.113.0/24'),
    cli('allowlist', 'show', '--org', 'draft-org', '--json'),
  ]);

  expect(inDraft.code).toBe(0);
  expect(inDraft.stdout).toContain('203.0.113.0/24');
  expect(outsideDraft.code).toBe(3);
  expect(JSON.parse(shown.stdout)).toMatchObject({ enabled: false, entries: [], version: 0 });
});

test('keys list never shows a secret; keys revoke stops the key', async () => {
  const created = JSON.parse(
    (await cli('keys', 'create', '--org', 'keys-org', '--project', 'p', '--name', 'ci', '--json')).stdout,
  );

  const list = await cli('keys', 'list', '--org', 'keys-org', '--project', 'p');
  const revoke = await cli('keys', 'revoke', '--org', 'keys-org', '--project', 'p', created.id);
  const after = await api(created.key);

  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(new RegExp(`^${created.id}\\s+ci\\s+sk-\\.\\.\\.\\S{4}\\s+active`, 'm'));
  expect(list.stdout).not.toContain(created.key.slice(-20));
  expect(revoke.code).toBe(0);
  expect(revoke.stdout).toContain(`Revoked API key ${created.id}`);
  expect(after.status).toBe(401);
  expect(after.json.error.code).toBe('invalid_api_key');
});

test('audit lists the changes newest first with the local caller', async () => {
  await cli('allowlist', 'add', '--org', 'audit-cli', '10.1.0.0/16');
  await cli('allowlist', 'enable', '--org', 'audit-cli');

  const audit = await cli('audit', '--org', 'audit-cli');

  expect(audit.code).toBe(0);
  const rows = audit.stdout.trim().split('\n');
  expect(rows[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+TARGET$/);
  expect(rows[1]).toMatch(/local:cli-tester\s+ip_allowlist\.enable/);
  expect(rows[2]).toMatch(/local:cli-tester\s+ip_allowlist\.entries\.add/);
});

test("a refused change exits 1 with the API's message, and nothing else is printed to stdout", async () => {
  const res = await cli('allowlist', 'enable', '--org', 'empty-org');

  expect(res.code).toBe(1);
  expect(res.stdout).toBe('');
  expect(res.stderr).toMatch(/^error: .*no entries.*\(empty_allowlist, HTTP 400\)\n$/s);
});

test('bad usage exits 2 without calling the API; an unreachable endpoint exits 1 with a hint', async () => {
  const [noOrg, unknown, unreachable] = await Promise.all([
    cli('allowlist', 'show'),
    cli('allowlist', 'frobnicate', '--org', 'x'),
    cli('allowlist', 'show', '--org', 'x', '--endpoint', 'http://127.0.0.1:1'),
  ]);

  expect(noOrg.code).toBe(2);
  expect(noOrg.stderr).toContain('--org is required');
  expect(unknown.code).toBe(2);
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toContain('npm start');
});

test("the help's example URL is an admin API stage URL: the stage the example app synthesizes", async () => {
  const help = await cli('--help');

  const stage = /https:\/\/\w+\.execute-api\.[a-z0-9-]+\.amazonaws\.com\/(\S+)/.exec(help.stdout)?.[1];
  expect(help.code).toBe(0);
  expect(stage).toBe(local.adminGateway?.api.stageName);
});
