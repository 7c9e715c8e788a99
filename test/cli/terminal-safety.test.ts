import * as os from 'node:os';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { allowlistToAttributes } from '../../lambda/adapters/items';
import { organizationAllowlistPk } from '../../lambda/adapters/schema';
import { printable, printableOutput } from '../../cli/format';
import { CliIo, EXIT, runCli } from '../../cli/main';
import { Harness, makeHarness } from '../lambda/admin/fixtures';
import { AdminServer, serveAdminHarness } from './support/admin-server';

/*
 * Text that reaches a terminal: data stored before the admin API refused control characters (or written to the
 * tables by other means) must not act on the operator's terminal. The CLI runs in-process against the real admin
 * handler (behind a small HTTP server) on DynamoDB Local, with such data written straight to the tables.
 */

/** What a terminal would act on: C0/C1 controls but the CLI's own newlines, DEL, bidi formatting, separators. */
// eslint-disable-next-line no-control-regex -- the test looks for exactly the control characters the CLI must escape
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const OSC52 = 'x\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007';
const ERASE = 'office\u001b[2A\u001b[2K';
const BIDI = 'admin\u202efdp.exe';
const C1 = 'csi\u009b2J';
const NEWLINE = 'one\ntwo';

let h: Harness;
let server: AdminServer;
let endpoint: string;
let keyId: string;

beforeAll(async () => {
  h = await makeHarness('cli-terminal');
  server = await serveAdminHarness(h);
  endpoint = server.endpoint;

  // Old data, as a version without the rule (or a hand edit) could have stored it.
  await h.ddb.send(
    new PutItemCommand({
      TableName: h.names.allowlists,
      Item: {
        pk: { S: organizationAllowlistPk('termorg') },
        ...allowlistToAttributes({
          enabled: true,
          entries: [
            { value: '192.0.2.1/32', description: OSC52, createdAt: '2026-01-01T00:00:00.000Z', createdBy: BIDI },
            { value: '192.0.2.2/32', description: ERASE, createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'arn:x' },
            { value: '192.0.2.3/32', description: C1, createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'arn:x' },
            { value: '192.0.2.4/32', description: NEWLINE, createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'arn:x' },
          ],
          version: 1,
        }),
      },
    }),
  );
  const created = await h.call('POST', '/v1/organizations/termorg/projects/web/api_keys', { body: { name: 'plain' } });
  keyId = created.body.id;
  await h.ddb.send(
    new UpdateItemCommand({
      TableName: h.names.apiKeys,
      Key: { keyHash: { S: (await h.store.findApiKey('termorg', 'web', keyId))!.keyHash } },
      UpdateExpression: 'SET #n = :n',
      ExpressionAttributeNames: { '#n': 'name' },
      ExpressionAttributeValues: { ':n': { S: OSC52 } },
    }),
  );
});

afterAll(async () => {
  await server.close();
  h.destroy();
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: os.tmpdir() };
  const code = await runCli([...args, '--endpoint', endpoint], io);
  return { code, out: out.join(''), err: err.join('') };
}

test('allowlist show prints stored control and bidi characters escaped, one table row per entry', async () => {
  // act
  const { code, out } = await cli('allowlist', 'show', '--org', 'termorg');

  // assess
  expect(code).toBe(EXIT.ok);
  expect(out).not.toMatch(RAW_UNSAFE);
  expect(out).toContain('x\\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\u0007');
  expect(out).toContain('office\\u001b[2A\\u001b[2K');
  expect(out).toContain('admin\\u202efdp.exe');
  expect(out).toContain('csi\\u009b2J');
  expect(out).toContain('one\\u000atwo');
  // A newline inside a description does not start a line of its own.
  expect(out.split('\n').filter((line) => /^192\.0\.2\.\d\/32 /.test(line))).toHaveLength(4);
});

test('keys list and keys revoke print a stored key name escaped', async () => {
  // act
  const list = await cli('keys', 'list', '--org', 'termorg', '--project', 'web');
  const revoke = await cli('keys', 'revoke', '--org', 'termorg', '--project', 'web', keyId);

  // assess
  for (const { code, out } of [list, revoke]) {
    expect(code).toBe(EXIT.ok);
    expect(out).not.toMatch(RAW_UNSAFE);
    expect(out).toContain('x\\u001b]52;c;');
  }
});

test('--json output is escaped too and still parses to the stored text', async () => {
  // act
  const { code, out } = await cli('allowlist', 'show', '--org', 'termorg', '--json');

  // assess
  expect(code).toBe(EXIT.ok);
  expect(out).not.toMatch(RAW_UNSAFE);
  const parsed = JSON.parse(out);
  expect(parsed.entries.map((e: { description: string }) => e.description)).toEqual([OSC52, ERASE, C1, NEWLINE]);
  expect(parsed.entries[0].createdBy).toBe(BIDI);
});

test('an error message quoting what was sent is escaped (the API quotes entries with JSON.stringify, which leaves bidi raw)', async () => {
  // act
  const refused = await cli('allowlist', 'add', '--org', 'termorg', '192.0.2.9', '--description', OSC52);
  const quoted = await cli('allowlist', 'add', '--org', 'termorg', '192.0.2.9\u202e');

  // assess
  expect(refused.code).toBe(EXIT.error);
  expect(refused.err).toMatch(
    /entries\[0\]\.description: it contains a control character \(U\+001B\) at character 2;.*\(invalid_entries, HTTP 400\)\n$/,
  );
  expect(quoted.code).toBe(EXIT.error);
  expect(quoted.err).toContain('"192.0.2.9\\u202e" is not a valid allowlist entry');
  for (const { err } of [refused, quoted]) expect(err).not.toMatch(RAW_UNSAFE);
});

test('allowlist check and keys list say when a stored list is corrupt', async () => {
  // prepare: a key whose own list is {NULL: true}
  const created = await h.call('POST', '/v1/organizations/termorg/projects/api/api_keys', {
    body: { name: 'narrowed' },
  });
  await h.ddb.send(
    new UpdateItemCommand({
      TableName: h.names.apiKeys,
      Key: { keyHash: { S: (await h.store.findApiKey('termorg', 'api', created.body.id))!.keyHash } },
      UpdateExpression: 'SET #al = :al',
      ExpressionAttributeNames: { '#al': 'allowlist' },
      ExpressionAttributeValues: { ':al': { NULL: true } },
    }),
  );

  // act
  const check = await cli(
    'allowlist',
    'check',
    '--org',
    'termorg',
    '--project',
    'api',
    '--key',
    created.body.id,
    '203.0.113.9',
  );
  const list = await cli('keys', 'list', '--org', 'termorg', '--project', 'api');

  // assess
  expect(check.code).toBe(EXIT.error);
  expect(check.err).toMatch(
    new RegExp(
      `^error: The stored allowlist of API key ${created.body.id} \\(termorg/api\\) is corrupt \\(allowlist is NULL, not a map\\)\\. .*\\(allowlist_corrupt, HTTP 409\\)\\n$`,
    ),
  );
  expect(list.out).toMatch(
    new RegExp(`${created.body.id} +narrowed .* active .* CORRUPT: every request refused; replace it`),
  );
});

test('printable escapes every unprintable character, printableOutput keeps only the line breaks', () => {
  expect(printable('a\u001bb\nc\td\u202e\ud800')).toBe('a\\u001bb\\u000ac\\u0009d\\u202e\\ud800');
  expect(printableOutput('a\u001bb\nc\td\u202e')).toBe('a\\u001bb\nc\\u0009d\\u202e');
  expect(printable('Büro 東京 مكتب 👨‍👩‍👧')).toBe('Büro 東京 مكتب 👨‍👩‍👧');
});
