import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliIo, EXIT, resolveEndpoint, runCli } from '../../cli/main';

/* The CLI's argument handling in-process: help everywhere, usage errors, endpoint resolution. */

function io(overrides: Partial<CliIo> = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: os.tmpdir(), out, err, ...overrides };
}

const COMMANDS = [
  [],
  ['allowlist'],
  ['allowlist', 'show'],
  ['allowlist', 'add'],
  ['allowlist', 'remove'],
  ['allowlist', 'replace'],
  ['allowlist', 'enable'],
  ['allowlist', 'disable'],
  ['allowlist', 'check'],
  ['allowlist', 'preview'],
  ['keys'],
  ['keys', 'create'],
  ['keys', 'list'],
  ['keys', 'revoke'],
  ['audit'],
  ['traffic'],
];

test.each(COMMANDS.map((c) => [c.join(' ') || '(none)', c]))(
  '--help on %s prints its usage and exits 0',
  async (_name, words) => {
    for (const flag of ['--help', '-h']) {
      const x = io();
      const code = await runCli([...words, flag], x);
      expect(code).toBe(EXIT.ok);
      expect(x.out.join('')).toMatch(new RegExp(`^Usage: cdk-ip-allowlist ${words.join(' ')}`));
    }
  },
);

test.each([
  [['nope'], /unknown command "nope"/],
  [['allowlist'], /'allowlist' needs a subcommand/],
  [['keys', 'rotate'], /unknown subcommand "rotate"/],
  [['allowlist', 'show', '--org', 'o', '--colour'], /Unknown option '--colour'/],
  [['allowlist', 'show', '--org', 'o', '--key', 'key_1'], /--key needs --project/],
  [['allowlist', 'add', '--org', 'o'], /give one or more entries/],
  [['allowlist', 'check', '--org', 'o'], /exactly one IP/],
  [['allowlist', 'replace', '--org', 'o', '--enable', '--disable'], /exclude each other/],
  [['allowlist', 'replace', '--org', 'o', '--file', '/nonexistent/entries.txt'], /cannot read/],
  [['allowlist', 'enable', '--org', 'o', '--if-match', 'latest'], /--if-match must be a version number/],
  [['keys', 'create', '--org', 'o', '--project', 'p'], /--name is required/],
  [['keys', 'list', '--org', 'o'], /--project is required/],
  [['keys', 'list', '--org', 'o', '--project', 'p', '--limit', '0'], /--limit must be a positive/],
  [['audit'], /--org is required/],
  [['traffic'], /--org is required/],
  [['traffic', '--org', 'o', '--limit', '0'], /--limit must be a positive/],
  // The positional KEY_ID is the one documented way: the undocumented --id alias is gone.
  [['keys', 'revoke', '--org', 'o', '--project', 'p', '--id', 'key_1'], /Unknown option '--id'/],
  [
    ['keys', 'list', '--org', 'o', '--project', 'p', '--limit', 'ten'],
    /--limit must be a positive whole number, got "ten"/,
  ],
  [['allowlist', 'show', '--org', 'o', 'extra'], /unexpected argument "extra"/],
  [['allowlist', 'remove', '--org', 'o', '10.0.0.1', '10.0.0.2'], /give exactly one entry to remove/],
  [
    ['allowlist', 'add', '--org', 'o', '10.0.0.1', '--expires-in', '24w'],
    /--expires-in must be a whole number with a unit s, m, h or d/,
  ],
  [
    ['allowlist', 'add', '--org', 'o', '10.0.0.1', '--expires-in', '24'],
    /--expires-in must be a whole number with a unit/,
  ],
  [
    ['allowlist', 'add', '--org', 'o', '10.0.0.1', '--expires-in', '1.5h'],
    /--expires-in must be a whole number with a unit/,
  ],
  [['allowlist', 'add', '--org', 'o', '10.0.0.1', '--expires-in', '91d'], /--expires-in must be from 1s to 90d/],
  [['allowlist', 'add', '--org', 'o', '10.0.0.1', '--expires-in', '0s'], /--expires-in must be from 1s to 90d/],
])('%j is a usage error (exit 2) that names the problem', async (args, message) => {
  // An endpoint nobody listens on: a usage error must be found before any request.
  const x = io({ env: { CDK_IP_ALLOWLIST_ENDPOINT: 'http://127.0.0.1:1' } });

  const code = await runCli(args, x);

  expect(code).toBe(EXIT.usage);
  expect(x.err.join('')).toMatch(message);
  expect(x.err.join('')).toContain('--help');
});

describe('endpoint resolution', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-endpoint-'));
    fs.writeFileSync(path.join(dir, 'package.json'), '{}');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('--endpoint wins, then CDK_IP_ALLOWLIST_ENDPOINT', () => {
    expect(
      resolveEndpoint('https://x.example/prod', { env: { CDK_IP_ALLOWLIST_ENDPOINT: 'http://e' }, cwd: dir }),
    ).toBe('https://x.example/prod');
    expect(resolveEndpoint(undefined, { env: { CDK_IP_ALLOWLIST_ENDPOINT: 'http://e' }, cwd: dir })).toBe('http://e');
  });

  test('then the admin URL of the local mode running for this project (from any subfolder)', () => {
    fs.mkdirSync(path.join(dir, '.local'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(
      path.join(dir, '.local', 'state.json'),
      JSON.stringify({
        pid: process.pid,
        url: 'http://127.0.0.1:1111',
        adminUrl: 'http://127.0.0.1:2222',
        dynamoDbEndpoint: 'x',
        startedAt: '',
      }),
    );

    expect(resolveEndpoint(undefined, { env: {}, cwd: path.join(dir, 'sub') })).toBe('http://127.0.0.1:2222');
  });

  const writeState = (stateDir: string, adminUrl: string, pid = process.pid) => {
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'state.json'), JSON.stringify({ pid, adminUrl }));
  };

  test("--data-dir (or CDK_IP_ALLOWLIST_DATA_DIR) is the local mode running on that directory, not the project's", () => {
    writeState(path.join(dir, '.local'), 'http://127.0.0.1:2222');
    writeState(path.join(dir, 'other'), 'http://127.0.0.1:3333');

    expect(resolveEndpoint(undefined, { env: {}, cwd: dir }, 'other')).toBe('http://127.0.0.1:3333');
    expect(resolveEndpoint(undefined, { env: { CDK_IP_ALLOWLIST_DATA_DIR: path.join(dir, 'other') }, cwd: dir })).toBe(
      'http://127.0.0.1:3333',
    );
    // The flag beats the environment's endpoint, which beats the environment's data dir.
    expect(resolveEndpoint(undefined, { env: { CDK_IP_ALLOWLIST_ENDPOINT: 'http://e' }, cwd: dir }, 'other')).toBe(
      'http://127.0.0.1:3333',
    );
    expect(
      resolveEndpoint(undefined, {
        env: { CDK_IP_ALLOWLIST_ENDPOINT: 'http://e', CDK_IP_ALLOWLIST_DATA_DIR: path.join(dir, 'other') },
        cwd: dir,
      }),
    ).toBe('http://e');
  });

  test('--data-dir with no local mode running there exits 1 naming the directory, and calls nothing', async () => {
    writeState(path.join(dir, '.local'), 'http://127.0.0.1:2222');
    writeState(path.join(dir, 'gone'), 'http://127.0.0.1:3333', 2 ** 22 + 12345);
    const x = io({ cwd: dir });

    const code = await runCli(['allowlist', 'show', '--org', 'o', '--data-dir', 'gone'], x);

    expect(code).toBe(EXIT.error);
    expect(x.err.join('')).toBe(
      `error: no local mode with an admin API is running on ${path.join(dir, 'gone')} (from --data-dir): ` +
        `start it with npm start -- --data-dir ${path.join(dir, 'gone')} (local_mode_not_running)\n`,
    );
  });

  test('a state file left by a process that is gone is ignored: the default port is used', () => {
    fs.mkdirSync(path.join(dir, '.local'));
    fs.writeFileSync(
      path.join(dir, '.local', 'state.json'),
      JSON.stringify({ pid: 2 ** 22 + 12345, adminUrl: 'http://127.0.0.1:2222' }),
    );

    expect(resolveEndpoint(undefined, { env: {}, cwd: dir })).toBe('http://127.0.0.1:8081');
  });
});
