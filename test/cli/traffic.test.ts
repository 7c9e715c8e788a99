import * as os from 'node:os';
import { CliIo, EXIT, runCli } from '../../cli/main';
import type { SightingUpdate } from '../../lambda/core/traffic';
import { Harness, makeHarness } from '../lambda/admin/fixtures';
import { AdminServer, serveAdminHarness } from './support/admin-server';

/*
 * `traffic` and the LAST MATCHED column of `allowlist show`: the CLI in-process against the real admin handler
 * (behind a small HTTP server) on DynamoDB Local, with sightings recorded as the authorizer records them.
 */

// eslint-disable-next-line no-control-regex -- the test looks for exactly the control characters the CLI must escape
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const MINUTE = 60_000;
const now = Date.now();
const at = (minutesAgo: number) => now - minutesAgo * MINUTE;
/** How the CLI prints a time: `2026-11-30 11:58:00Z`. */
const short = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');

function sighting(minutesAgo: number, overrides: Partial<SightingUpdate> = {}): SightingUpdate {
  return {
    organizationId: 'clitraffic',
    projectId: 'web',
    keyId: 'key_a',
    sourceIp: '127.0.0.2',
    outcome: 'allowed',
    scope: 'organization',
    matched: {},
    count: 1,
    firstSeen: at(minutesAgo + 5),
    lastSeen: at(minutesAgo),
    ...overrides,
  };
}

let h: Harness;
let server: AdminServer;

beforeAll(async () => {
  h = await makeHarness('cli-traffic');
  server = await serveAdminHarness(h);
  await h.call('PUT', '/v1/organizations/clitraffic/ip_allowlist', {
    body: { entries: ['127.0.0.1', '127.0.0.2', '10.0.0.0/8'], mode: 'report_only' },
  });
  await h.recordSightings([
    sighting(3, { sourceIp: '127.0.0.2', count: 4, matched: { organization: '127.0.0.2/32' } }),
    sighting(1, { sourceIp: '127.0.0.3', outcome: 'would_block', scope: 'organization' }),
    sighting(2, { sourceIp: '127.0.0.1', keyId: 'key_b', matched: { organization: '127.0.0.1/32' } }),
    // An address as no gateway reports it, written by something else: printed escaped.
    sighting(10, { sourceIp: 'x\u001b]52;c;ZXZpbA==\u0007', projectId: 'api', outcome: 'blocked' }),
  ]);
});

afterAll(async () => {
  await server.close();
  h.destroy();
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: os.tmpdir() };
  const code = await runCli([...args, '--endpoint', server.endpoint], io);
  return { code, out: out.join(''), err: err.join('') };
}

const rows = (out: string) => out.split('\n').slice(1).filter(Boolean);

test('traffic prints a table, newest first, with outcome, key, address, count, times, scope and matches', async () => {
  const { code, out } = await cli('traffic', '--org', 'clitraffic');

  expect(code).toBe(EXIT.ok);
  expect(out.split('\n')[0].split(/\s{2,}/)).toEqual([
    'LAST SEEN',
    'OUTCOME',
    'PROJECT',
    'KEY',
    'SOURCE IP',
    'COUNT',
    'FIRST SEEN',
    'SCOPE',
    'MATCHED',
  ]);
  expect(rows(out).map((r) => r.split(/\s{2,}/))).toEqual([
    [short(at(1)), 'would_block', 'web', 'key_a', '127.0.0.3', '1', short(at(6)), 'organization', '-'],
    [short(at(2)), 'allowed', 'web', 'key_b', '127.0.0.1', '1', short(at(7)), 'organization', 'org=127.0.0.1/32'],
    [short(at(3)), 'allowed', 'web', 'key_a', '127.0.0.2', '4', short(at(8)), 'organization', 'org=127.0.0.2/32'],
    [
      short(at(10)),
      'blocked',
      'api',
      'key_a',
      'x\\u001b]52;c;ZXZpbA==\\u0007',
      '1',
      short(at(15)),
      'organization',
      '-',
    ],
  ]);
  expect(out).not.toMatch(RAW_UNSAFE);
});

test('traffic --outcome, --project, --key and --since filter; --json prints the API page', async () => {
  const blocked = await cli('traffic', '--org', 'clitraffic', '--outcome', 'blocked');
  expect(rows(blocked.out)).toHaveLength(1);
  expect(blocked.out).toContain('blocked');

  const key = await cli('traffic', '--org', 'clitraffic', '--project', 'web', '--key', 'key_b');
  expect(rows(key.out).map((r) => r.split(/\s{2,}/)[4])).toEqual(['127.0.0.1']);

  const since = await cli('traffic', '--org', 'clitraffic', '--since', new Date(at(2.5)).toISOString(), '--json');
  expect(since.code).toBe(EXIT.ok);
  const page = JSON.parse(since.out);
  expect(page).toMatchObject({ object: 'list', next_cursor: null, unreadable: 0 });
  expect(page.data.map((s: { sourceIp: string }) => s.sourceIp)).toEqual(['127.0.0.3', '127.0.0.1']);

  const none = await cli('traffic', '--org', 'clitraffic', '--outcome', 'blocked', '--project', 'web');
  expect(none.out).toMatch(
    /^No traffic recorded for clitraffic since \d{4}-\d{2}-\d{2} [\d:]+Z with these filters\.\n$/,
  );
});

test('traffic --limit pages with a "More: --cursor" line that --cursor follows', async () => {
  const first = await cli('traffic', '--org', 'clitraffic', '--limit', '3');
  expect(rows(first.out).filter((r) => !r.startsWith('More:'))).toHaveLength(3);
  const cursor = /More: --cursor (\S+)/.exec(first.out)?.[1];
  expect(cursor).toEqual(expect.any(String));
  const second = await cli('traffic', '--org', 'clitraffic', '--limit', '3', '--cursor', cursor!);
  expect(second.code).toBe(EXIT.ok);
  expect(rows(second.out)).toHaveLength(1);
  expect(second.out).toContain('blocked');
  expect(second.out).not.toContain('More:');
});

test('bad filters: an unknown --outcome is a usage error; a malformed --since is the API refusal naming since', async () => {
  const outcome = await cli('traffic', '--org', 'clitraffic', '--outcome', 'denied');
  expect(outcome.code).toBe(EXIT.usage);
  expect(outcome.err).toContain('--outcome Allowed choices are blocked, would_block, allowed.');

  const since = await cli('traffic', '--org', 'clitraffic', '--since', 'yesterday');
  expect(since.code).toBe(EXIT.error);
  expect(since.err).toContain('since must be an ISO-8601 date-time with a time zone');
  expect(since.out).toBe('');
});

test('allowlist show prints when each entry last matched, and never for the unused ones', async () => {
  const { code, out } = await cli('allowlist', 'show', '--org', 'clitraffic');

  expect(code).toBe(EXIT.ok);
  const table = out.split('\n').filter((l) => /^(VALUE|\d)/.test(l));
  expect(table[0].split(/\s{2,}/)).toEqual(['VALUE', 'DESCRIPTION', 'ADDED', 'BY', 'LAST MATCHED']);
  const lastMatched = Object.fromEntries(table.slice(1).map((r) => [r.split(/\s+/)[0], r.split(/\s{2,}/).at(-1)]));
  expect(lastMatched).toEqual({ '127.0.0.1/32': short(at(2)), '127.0.0.2/32': short(at(3)), '10.0.0.0/8': 'never' });
  expect(out).not.toContain('warning');
});

test('allowlist show without recorded traffic says the times are unknown, and why', async () => {
  const none = await makeHarness('cli-traffic-none', { traffic: 'none' });
  const noneServer = await serveAdminHarness(none);
  try {
    await none.call('PUT', '/v1/organizations/clitraffic/ip_allowlist', { body: { entries: ['127.0.0.1'] } });
    const out: string[] = [];
    const io: CliIo = { stdout: (t) => out.push(t), stderr: () => undefined, env: {}, cwd: os.tmpdir() };
    const code = await runCli(['allowlist', 'show', '--org', 'clitraffic', '--endpoint', noneServer.endpoint], io);
    expect(code).toBe(EXIT.ok);
    const text = out.join('');
    expect(text).toMatch(/^127\.0\.0\.1\/32 .*unknown$/m);
    expect(text).toContain('warning (traffic_not_recorded): This deployment records no traffic');
    const traffic: string[] = [];
    const trafficCode = await runCli(['traffic', '--org', 'clitraffic', '--endpoint', noneServer.endpoint], {
      ...io,
      stderr: (t) => traffic.push(t),
    });
    expect(trafficCode).toBe(EXIT.error);
    expect(traffic.join('')).toContain('records no traffic');
  } finally {
    await noneServer.close();
    none.destroy();
  }
});

test("a write's answer has no LAST MATCHED column: only a read tells", async () => {
  const { code, out } = await cli('allowlist', 'add', '--org', 'clitraffic', '192.0.2.1');

  expect(code).toBe(EXIT.ok);
  expect(out).toMatch(/^VALUE\s+DESCRIPTION\s+ADDED\s+BY$/m);
  expect(out).not.toContain('LAST MATCHED');
});
