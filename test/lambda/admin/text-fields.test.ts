import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { findUnsafeCharacter } from '../../../lambda/core/text';
import { expectError, Harness, makeHarness } from './fixtures';

/**
 * Text that reaches a terminal: every stored text field (an entry's description, a key's name) refuses terminal
 * controls and bidirectional formatting with a 400 naming the field, and nothing is written. The real handler and
 * store against DynamoDB Local.
 */

let h: Harness;

beforeAll(async () => {
  h = await makeHarness('admin-text-fields');
});

afterAll(() => h.destroy());

const UNSAFE: readonly [string, string, string][] = [
  ['ESC (a terminal escape: erase the lines above)', 'office\u001b[2A\u001b[2Kok', 'U+001B'],
  ['an OSC 52 clipboard write', 'nat \u001b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u0007', 'U+001B'],
  ['BEL', 'ring\u0007', 'U+0007'],
  ['a newline inside', 'line one\nline two', 'U+000A'],
  ['a tab', 'a\tb', 'U+0009'],
  ['DEL', 'x\u007f', 'U+007F'],
  ['C1 CSI', 'x\u009b2J', 'U+009B'],
  ['right-to-left override', 'admin\u202efdp.exe', 'U+202E'],
  ['a bidirectional isolate', 'a\u2066b\u2069', 'U+2066'],
  ['a right-to-left mark', 'a\u200fb', 'U+200F'],
  ['the Arabic letter mark', 'a\u061cb', 'U+061C'],
  ['a line separator', 'a\u2028b', 'U+2028'],
  ['an unpaired surrogate', 'a\ud800b', 'U+D800'],
];

const ACCEPTED = ['Büro München', '東京オフィス', 'مكتب دبي', '👨‍👩‍👧 family VPN', 'a-b_c.d (e) #1'];

async function versionOf(path: string): Promise<number> {
  return (await h.call('GET', path)).body.version;
}

describe('entry descriptions', () => {
  const base = '/v1/organizations/textorg/ip_allowlist';

  test.each(UNSAFE)(
    'one entry with %s: 400 invalid_characters naming description; nothing written',
    async (_what, description, codePoint) => {
      // prepare
      const before = await versionOf(base);

      // act
      const res = await h.call('POST', `${base}/entries`, { body: { value: '192.0.2.1', description } });

      // assess
      const error = expectError(res, 400, 'invalid_characters');
      expect(error.param).toBe('description');
      expect(error.message).toContain(`Description: it contains`);
      expect(error.message).toContain(`(${codePoint})`);
      expect(await versionOf(base)).toBe(before);
    },
  );

  test('bulk add and PUT name the entry whose description is refused, and store nothing', async () => {
    // prepare
    const before = await versionOf(base);
    const entries = [
      { value: '192.0.2.1', description: 'fine' },
      { value: '192.0.2.2', description: 'evil\u001b]52;c;eA==\u0007' },
    ];

    // act
    const added = await h.call('POST', `${base}/entries`, { body: { entries } });
    const replaced = await h.call('PUT', base, { body: { entries } });

    // assess
    for (const res of [added, replaced]) {
      const error = expectError(res, 400, 'invalid_entries');
      expect(error.param).toBe('entries');
      expect(error.message).toContain(
        'entries[1]: entries[1].description: it contains a control character (U+001B) at character 5',
      );
      expect(error.rejected).toEqual([expect.objectContaining({ index: 1, code: 'invalid_characters' })]);
    }
    expect(await versionOf(base)).toBe(before);
    expect(await h.auditRecords('textorg')).toHaveLength(0);
  });

  test('the check tool refuses such a description in a draft too', async () => {
    // act
    const res = await h.call('POST', `${base}/check`, {
      body: { ip: '192.0.2.1', entries: [{ value: '192.0.2.1', description: 'x\u202e' }] },
    });

    // assess
    expectError(res, 400, 'invalid_entries');
  });

  test.each(ACCEPTED)('ordinary text of any script is accepted and stored as sent: %s', async (description) => {
    // act
    const res = await h.call('PUT', base, { body: { entries: [{ value: '198.51.100.0/24', description }] } });

    // assess
    expect(res.status).toBe(200);
    expect(res.body.entries[0].description).toBe(description);
  });
});

describe('key names', () => {
  const keys = '/v1/organizations/textorg/projects/web/api_keys';

  test.each(UNSAFE)(
    'a name with %s: 400 invalid_characters naming name; no key created',
    async (_what, name, codePoint) => {
      // act
      const res = await h.call('POST', keys, { body: { name } });

      // assess
      const error = expectError(res, 400, 'invalid_characters');
      expect(error.param).toBe('name');
      expect(error.message).toMatch(
        new RegExp(`^Invalid name: it contains .* \\(${codePoint.replace('+', '\\+')}\\) at character \\d+;`),
      );
      const stored = await h.ddb.send(new ScanCommand({ TableName: h.names.apiKeys }));
      expect(stored.Items ?? []).toHaveLength(0);
    },
  );

  test.each(ACCEPTED)('ordinary text of any script is accepted: %s', async (name) => {
    // act
    const res = await h.call('POST', keys, { body: { name } });

    // assess
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(name);
  });
});

describe('findUnsafeCharacter', () => {
  test('counts the position in characters (code points), so an emoji before it counts once', () => {
    expect(findUnsafeCharacter('😀😀\u001b')).toEqual({
      position: 3,
      codePoint: 'U+001B',
      kind: 'a control character',
    });
    expect(findUnsafeCharacter('\ud83d\ude00')).toBeUndefined();
    expect(findUnsafeCharacter('\ude00')).toEqual({ position: 1, codePoint: 'U+DE00', kind: 'an unpaired surrogate' });
  });
});
