import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AuthorizerOutcome, createAuthorizer } from '../../../lambda/authorizer/authorizer';
import { MAX_EXPIRY_SECONDS } from '../../../lambda/core/expiry';
import { authorizerEvent } from '../authorizer/fixtures';
import { authorizerStore, expectError, Harness, makeHarness, recordingLogger } from './fixtures';

/**
 * Expiring entries through the real admin handler and the real authorizer, both on DynamoDB Local, each on a clock
 * the test moves: how an expiry is requested, refused, stored, shown, pruned and warned about, and that the
 * authorizer and the check tool agree at every instant around an expiry.
 */

let h: Harness;
/** The admin API's clock (epoch ms); the authorizers below take their own. */
let now = Date.parse('2026-06-01T12:00:00.000Z');

beforeAll(async () => {
  h = await makeHarness('expiry', { now: () => now });
});

afterAll(() => h.destroy());

const orgList = (org: string) => `/v1/organizations/${org}/ip_allowlist`;
const iso = (ms: number) => new Date(ms).toISOString();
const DAY_S = 24 * 60 * 60;

async function createKey(org: string, project: string): Promise<{ id: string; key: string }> {
  const res = await h.call('POST', `/v1/organizations/${org}/projects/${project}/api_keys`, { body: { name: 'k' } });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

/** What a refused write must leave: the list, its version and its audit trail as they were. */
async function expectNothingWritten(org: string, refuse: () => Promise<void>): Promise<void> {
  const before = await h.ddb.send(
    new GetItemCommand({ TableName: h.names.allowlists, Key: { pk: { S: `ORG#${org}` } } }),
  );
  const audited = (await h.auditRecords(org)).length;
  await refuse();
  const after = await h.ddb.send(
    new GetItemCommand({ TableName: h.names.allowlists, Key: { pk: { S: `ORG#${org}` } } }),
  );
  expect(after.Item).toEqual(before.Item);
  expect(await h.auditRecords(org)).toHaveLength(audited);
}

describe('requesting an expiry', () => {
  test('expiresIn on add: stored as the UTC time of the change plus the seconds, shown with expired false', async () => {
    const res = await h.call('POST', `${orgList('ex-add')}/entries`, {
      body: { value: '192.0.2.1', description: 'contractor', expiresIn: 3600 },
    });

    expect(res.status).toBe(200);
    expect(res.body.entries).toEqual([
      expect.objectContaining({ value: '192.0.2.1/32', expiresAt: iso(now + 3600_000), expired: false }),
    ]);
    const item = await h.ddb.send(
      new GetItemCommand({ TableName: h.names.allowlists, Key: { pk: { S: 'ORG#ex-add' } } }),
    );
    expect(item.Item?.entries.L?.[0].M?.expiresAt).toEqual({ S: iso(now + 3600_000) });
    const [record] = await h.auditRecords('ex-add');
    expect(record.after).toMatchObject({ entries: [{ value: '192.0.2.1/32', expiresAt: iso(now + 3600_000) }] });
  });

  test('expiresAt with an offset is stored in UTC; bulk add and PUT take it per entry', async () => {
    const at = '2026-06-02T14:00:00+02:00';
    const add = await h.call('POST', `${orgList('ex-bulk')}/entries`, {
      body: { entries: [{ value: '192.0.2.1', expiresAt: at }, '192.0.2.2'] },
    });
    expect(add.status).toBe(200);
    expect(add.body.entries.map((e: { expiresAt: string | null }) => e.expiresAt)).toEqual([
      '2026-06-02T12:00:00.000Z',
      null,
    ]);

    const put = await h.call('PUT', orgList('ex-bulk'), {
      body: { entries: ['192.0.2.1', { value: '192.0.2.3', expiresIn: 60 }] },
    });
    // PUT states the whole list: an entry sent without an expiry no longer expires.
    expect(put.body.entries.map((e: { value: string; expiresAt: string | null }) => [e.value, e.expiresAt])).toEqual([
      ['192.0.2.1/32', null],
      ['192.0.2.3/32', iso(now + 60_000)],
    ]);
  });

  test('the window is inclusive of 90 days and exclusive of now', async () => {
    const ok = await h.call('POST', `${orgList('ex-window')}/entries`, {
      body: {
        entries: [
          { value: '192.0.2.1', expiresIn: MAX_EXPIRY_SECONDS },
          { value: '192.0.2.2', expiresAt: iso(now + MAX_EXPIRY_SECONDS * 1000) },
          { value: '192.0.2.3', expiresIn: 1 },
          { value: '192.0.2.4', expiresAt: iso(now + 1) },
        ],
      },
    });
    expect(ok.status).toBe(200);
  });

  test.each([
    [
      'both fields',
      { value: '192.0.2.1', expiresAt: '2026-06-02T00:00:00Z', expiresIn: 60 },
      'expiresIn',
      'conflicting_expiry',
    ],
    ['expiresAt not a date-time', { value: '192.0.2.1', expiresAt: 'tomorrow' }, 'expiresAt', 'invalid_expires_at'],
    [
      'expiresAt without a time zone',
      { value: '192.0.2.1', expiresAt: '2026-06-02T00:00:00' },
      'expiresAt',
      'invalid_expires_at',
    ],
    [
      'expiresAt an impossible date',
      { value: '192.0.2.1', expiresAt: '2026-02-30T00:00:00Z' },
      'expiresAt',
      'invalid_expires_at',
    ],
    ['expiresAt a number', { value: '192.0.2.1', expiresAt: 1780000000 }, 'expiresAt', 'invalid_expires_at'],
    ['expiresIn a string', { value: '192.0.2.1', expiresIn: '24h' }, 'expiresIn', 'invalid_expires_in'],
    ['expiresIn a fraction', { value: '192.0.2.1', expiresIn: 1.5 }, 'expiresIn', 'invalid_expires_in'],
  ])('malformed (%s): 400 naming the field, nothing written', async (_name, body, param, code) => {
    const org = 'ex-bad';
    await h.call('POST', `${orgList(org)}/entries`, { body: { value: '198.51.100.1' } });
    await expectNothingWritten(org, async () => {
      const error = expectError(await h.call('POST', `${orgList(org)}/entries`, { body }), 400, code);
      expect(error.param).toBe(param);
      expect(error.message).toContain(param);
    });
  });

  test('malformed in a bulk request: every bad entry is listed by its field, nothing written', async () => {
    const org = 'ex-bad-bulk';
    await h.call('POST', `${orgList(org)}/entries`, { body: { value: '198.51.100.1' } });
    await expectNothingWritten(org, async () => {
      const error = expectError(
        await h.call('PUT', orgList(org), {
          body: {
            entries: [
              { value: '192.0.2.1', expiresAt: 'soon' },
              '192.0.2.2',
              { value: '192.0.2.3', expiresIn: 60, expiresAt: '2026-06-02T00:00:00Z' },
            ],
          },
        }),
        400,
        'invalid_entries',
      );
      expect(error.message).toContain('entries[0].expiresAt');
      expect(error.message).toContain('entries[2].expiresIn');
      expect(error.rejected).toEqual([
        expect.objectContaining({ index: 0, code: 'invalid_expires_at' }),
        expect.objectContaining({ index: 2, code: 'conflicting_expiry' }),
      ]);
    });
  });

  test.each([
    ['expiresAt in the past', { expiresAt: '2026-06-01T11:59:59Z' }, 'expiresAt', /not in the future/],
    ['expiresAt now', { expiresAt: '2026-06-01T12:00:00Z' }, 'expiresAt', /not in the future/],
    ['expiresAt beyond 90 days', { expiresAt: '2026-08-30T12:00:01Z' }, 'expiresAt', /more than 90 days ahead/],
    ['expiresIn 0', { expiresIn: 0 }, 'expiresIn', /from 1 to 7776000/],
    ['expiresIn beyond 90 days', { expiresIn: MAX_EXPIRY_SECONDS + 1 }, 'expiresIn', /from 1 to 7776000/],
  ])(
    'out of the window (%s): 422 naming the field and what to give, nothing written',
    async (_n, expiry, param, fix) => {
      const org = 'ex-window-bad';
      await h.call('POST', `${orgList(org)}/entries`, { body: { value: '198.51.100.1' } });
      for (const [method, path, body] of [
        ['POST', `${orgList(org)}/entries`, { value: '192.0.2.1', ...expiry }],
        ['POST', `${orgList(org)}/entries`, { entries: ['192.0.2.2', { value: '192.0.2.1', ...expiry }] }],
        ['PUT', orgList(org), { entries: [{ value: '192.0.2.1', ...expiry }] }],
      ] as const) {
        await expectNothingWritten(org, async () => {
          const error = expectError(await h.call(method, path, { body }), 422, 'expiry_out_of_range');
          expect(error.param).toMatch(new RegExp(`(^|\\.)${param}$`));
          expect(error.message).toMatch(fix);
        });
      }
    },
  );
});

describe('expired entries', () => {
  test('are shown as expired, never match, and are pruned by the next write (the audit record shows them gone)', async () => {
    const org = 'ex-prune';
    await h.call('PUT', orgList(org), {
      body: { entries: ['198.51.100.0/24', { value: '192.0.2.1', expiresIn: 60 }], enabled: true },
    });
    const check = () => h.call('POST', `${orgList(org)}/check`, { body: { ip: '192.0.2.1' } });
    expect((await check()).body.allowed).toBe(true);

    now += 60_000;
    const shown = await h.call('GET', orgList(org));
    expect(shown.body.entries).toEqual([
      expect.objectContaining({ value: '198.51.100.0/24', expiresAt: null, expired: false }),
      expect.objectContaining({ value: '192.0.2.1/32', expiresAt: iso(now), expired: true }),
    ]);
    expect((await check()).body).toMatchObject({ allowed: false, scope: 'organization' });

    const write = await h.call('POST', `${orgList(org)}/entries`, { body: { value: '203.0.113.9' } });
    expect(write.body.entries.map((e: { value: string }) => e.value)).toEqual(['198.51.100.0/24', '203.0.113.9/32']);
    const [record] = await h.auditRecords(org);
    expect(record.before).toMatchObject({ entries: [{ value: '198.51.100.0/24' }, { value: '192.0.2.1/32' }] });
    expect((record.after as { entries: { value: string }[] }).entries.map((e) => e.value)).toEqual([
      '198.51.100.0/24',
      '203.0.113.9/32',
    ]);
  });

  test('an expired range may be added again (it is not a duplicate) and the limit counts live entries only', async () => {
    const small = await makeHarness('expiry-limit', { now: () => now, maxEntries: 1 });
    try {
      const list = orgList('ex-readd');
      expect(
        (await small.call('POST', `${list}/entries`, { body: { value: '192.0.2.1', expiresIn: 10 } })).status,
      ).toBe(200);
      expectError(
        await small.call('POST', `${list}/entries`, { body: { value: '192.0.2.2' } }),
        422,
        'allowlist_limit_exceeded',
      );
      now += 10_000;
      const again = await small.call('POST', `${list}/entries`, { body: { value: '192.0.2.1' } });
      expect(again.status).toBe(200);
      expect(again.body.entries).toEqual([expect.objectContaining({ value: '192.0.2.1/32', expiresAt: null })]);
    } finally {
      small.destroy();
    }
  });

  test('an enforced list whose entries have all expired: GET warns that it blocks everything', async () => {
    const org = 'ex-warn';
    await h.call('PUT', orgList(org), {
      body: { entries: [{ value: '192.0.2.1', expiresIn: 2 * DAY_S }], enabled: true },
    });
    expect((await h.call('GET', orgList(org))).body.warnings).toEqual([]);

    now += DAY_S * 1000 + 1;
    const soon = (await h.call('GET', orgList(org))).body.warnings;
    expect(soon).toEqual([{ code: 'entries_expiring_soon', message: expect.stringMatching(/blocks every request/) }]);

    now += DAY_S * 1000;
    const res = await h.call('GET', orgList(org));
    expect(res.body.warnings).toEqual([
      {
        code: 'all_entries_expired',
        message: expect.stringMatching(/^Its only entry has expired, so this enforced allowlist blocks every request/),
      },
    ]);
    expect((await h.call('POST', `${orgList(org)}/check`, { body: { ip: '192.0.2.1' } })).body.allowed).toBe(false);
  });

  test('a report-only list whose entries have all expired warns that it reports everything', async () => {
    const org = 'ex-warn-ro';
    await h.call('PUT', orgList(org), {
      body: { entries: [{ value: '192.0.2.1', expiresIn: 5 }], mode: 'report_only' },
    });
    now += 5_000;
    expect((await h.call('GET', orgList(org))).body.warnings).toEqual([
      { code: 'all_entries_expired', message: expect.stringMatching(/report-only allowlist reports every request/) },
    ]);
  });

  test('enforcing a list whose entries have all expired is refused as enforcing an empty list is; report-only is not', async () => {
    const org = 'ex-enable';
    await h.call('POST', `${orgList(org)}/entries`, { body: { value: '192.0.2.1', expiresIn: 5 } });
    now += 5_000;
    await expectNothingWritten(org, async () => {
      const error = expectError(await h.call('POST', `${orgList(org)}/enable`), 400, 'empty_allowlist');
      expect(error.message).toMatch(/entries have all expired/);
    });
    expect((await h.call('POST', `${orgList(org)}/enable`, { body: { mode: 'report_only' } })).status).toBe(200);
  });

  test('previewing such a list enforced is refused as enforcing it is (400 empty_allowlist); report-only previews', async () => {
    const org = 'ex-preview';
    await h.call('POST', `${orgList(org)}/entries`, { body: { value: '192.0.2.1', expiresIn: 5 } });
    now += 5_000;
    const enable = expectError(await h.call('POST', `${orgList(org)}/enable`), 400, 'empty_allowlist');

    const preview = expectError(
      await h.call('POST', `${orgList(org)}/preview`, { body: { mode: 'enforce' } }),
      400,
      'empty_allowlist',
    );

    expect(preview).toEqual(enable);
    expect((await h.call('POST', `${orgList(org)}/preview`, { body: { mode: 'report_only' } })).status).toBe(200);
  });

  test('removing the last live entry of an enforced list is refused even when expired ones remain', async () => {
    const org = 'ex-remove';
    await h.call('PUT', orgList(org), {
      body: { entries: ['198.51.100.1', { value: '192.0.2.1', expiresIn: 5 }], enabled: true },
    });
    now += 5_000;
    await expectNothingWritten(org, async () => {
      const error = expectError(await h.call('DELETE', `${orgList(org)}/entries/198.51.100.1`), 400, 'empty_allowlist');
      expect(error.message).toMatch(/the others have expired/);
    });
  });

  test('disabling prunes too', async () => {
    const org = 'ex-disable';
    await h.call('PUT', orgList(org), { body: { entries: ['198.51.100.1', { value: '192.0.2.1', expiresIn: 5 }] } });
    now += 5_000;
    expect((await h.call('POST', `${orgList(org)}/disable`)).body.entries).toEqual([
      expect.objectContaining({ value: '198.51.100.1/32' }),
    ]);
  });
});

describe("the check tool's draft", () => {
  test('takes expiries as a write would: a live one matches, one outside the window is refused (422)', async () => {
    const list = orgList('ex-draft');
    const live = await h.call('POST', `${list}/check`, {
      body: { ip: '192.0.2.1', entries: [{ value: '192.0.2.1', expiresIn: 1 }] },
    });
    expect(live.body).toMatchObject({ allowed: true, draft: true, matchedEntry: '192.0.2.1/32' });

    const refused = await h.call('POST', `${list}/check`, {
      body: { ip: '192.0.2.1', entries: [{ value: '192.0.2.1', expiresAt: iso(now - 1000) }] },
    });
    expect(expectError(refused, 422, 'expiry_out_of_range').param).toBe('entries[0].expiresAt');
  });
});

describe('stored expiresAt', () => {
  const entry = (expiresAt: Record<string, unknown>) => ({
    M: { value: { S: '192.0.2.1/32' }, description: { S: '' }, expiresAt },
  });

  async function putRaw(org: string, entries: unknown[]): Promise<void> {
    await h.ddb.send(
      new PutItemCommand({
        TableName: h.names.allowlists,
        Item: {
          pk: { S: `ORG#${org}` },
          enabled: { BOOL: true },
          mode: { S: 'enforce' },
          entries: { L: entries },
          version: { N: '4' },
        } as never,
      }),
    );
  }

  test.each([
    ['not a string', { N: '1780000000' }],
    ['not canonical UTC', { S: '2026-06-02T00:00:00+02:00' }],
    ['no milliseconds', { S: '2026-06-02T00:00:00Z' }],
    ['an impossible date', { S: '2026-02-30T00:00:00.000Z' }],
  ])('malformed (%s): the list is corrupt (409) and the authorizer fails closed', async (_name, value) => {
    const org = `ex-corrupt-${_name.replace(/\W+/g, '-')}`;
    const key = await createKey(org, 'p');
    await putRaw(org, [entry(value)]);

    const error = expectError(await h.call('GET', orgList(org)), 409, 'allowlist_corrupt');
    expect(error.message).toMatch(/expiresAt/);
    const authorizer = createAuthorizer({
      store: authorizerStore(h),
      logger: recordingLogger(),
      memoryCacheTtlSeconds: 0,
      clock: () => now,
    });
    await expect(authorizer.handle(authorizerEvent({ key: key.key, sourceIp: '192.0.2.1' }))).rejects.toThrow();
  });

  test('lists stored before expiry existed (no expiresAt) read as entries that never expire', async () => {
    const org = 'ex-old';
    await putRaw(org, [{ M: { value: { S: '192.0.2.1/32' }, description: { S: 'old' } } }]);
    const res = await h.call('GET', orgList(org));
    expect(res.body.entries).toEqual([
      expect.objectContaining({ value: '192.0.2.1/32', expiresAt: null, expired: false }),
    ]);
    expect(res.body.warnings).toEqual([]);
  });
});

describe('the authorizer and the check tool agree around an expiry instant', () => {
  /** An authorizer on the harness's tables with its own clock; every decision's outcome and store reads. */
  function authorizerAt(clock: () => number, memoryCacheTtlSeconds: number) {
    const outcomes: { outcome: AuthorizerOutcome; storeReads: number }[] = [];
    const authorizer = createAuthorizer({
      store: authorizerStore(h),
      logger: recordingLogger(),
      memoryCacheTtlSeconds,
      maxDecisionAgeSeconds: 4,
      clock,
      metrics: { record: (outcome, storeReads) => outcomes.push({ outcome, storeReads }) },
    });
    return { authorizer, outcomes };
  }

  test.each(['organization', 'project', 'key'] as const)(
    'a %s list entry: allowed by both before expiresAt, refused by both from it on',
    async (scope) => {
      const org = `ex-agree-${scope}`;
      const key = await createKey(org, 'p');
      const list =
        scope === 'organization'
          ? orgList(org)
          : scope === 'project'
            ? `/v1/organizations/${org}/projects/p/ip_allowlist`
            : `/v1/organizations/${org}/projects/p/api_keys/${key.id}/ip_allowlist`;
      const start = now;
      await h.call('PUT', list, {
        body: { entries: ['198.51.100.0/24', { value: '192.0.2.0/24', expiresIn: 10 }], enabled: true },
      });
      const expiresAt = start + 10_000;
      let t = start;
      // No memory cache: each decision reads the table, so each one shows the decision at exactly its instant.
      const { authorizer } = authorizerAt(() => t, 0);

      for (const offset of [-10_000, -1001, -1, 0, 1, 999, 5000]) {
        for (const ip of ['192.0.2.7', '198.51.100.7', '203.0.113.7']) {
          t = expiresAt + offset;
          now = t;
          const result = await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: ip }));
          const check = await h.call('POST', `${list}/check`, { body: { ip } });
          const allowedByAuthorizer = result.policyDocument.Statement[0].Effect === 'Allow';
          expect({ offset, ip, allowed: check.body.allowed }).toEqual({ offset, ip, allowed: allowedByAuthorizer });
          const expected = ip === '198.51.100.7' || (ip === '192.0.2.7' && offset < 0);
          expect({ offset, ip, allowed: allowedByAuthorizer }).toEqual({ offset, ip, allowed: expected });
        }
      }
    },
  );

  test('a list held in memory is read again at its earliest expiry, within the memory TTL', async () => {
    const org = 'ex-memory';
    const key = await createKey(org, 'p');
    const start = now;
    await h.call('PUT', orgList(org), {
      body: { entries: ['198.51.100.0/24', { value: '192.0.2.0/24', expiresIn: 1 }], enabled: true },
    });
    let t = start + 200;
    const { authorizer, outcomes } = authorizerAt(() => t, 2);
    const decide = async (ip: string) =>
      (await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: ip }))).policyDocument.Statement[0].Effect;

    expect(await decide('192.0.2.7')).toBe('Allow');
    t = start + 999;
    expect(await decide('192.0.2.7')).toBe('Allow');
    // At the expiry, 800 ms into a 2 s memory TTL: the compiled list is not used again.
    t = start + 1000;
    expect(await decide('192.0.2.7')).toBe('Deny');
    expect(await decide('198.51.100.7')).toBe('Allow');
    expect(outcomes.map((o) => o.storeReads)).toEqual([1, 0, 1, 0]);
  });

  test("a key's own list held in memory is read again at its earliest expiry", async () => {
    const org = 'ex-memory-key';
    const key = await createKey(org, 'p');
    const start = now;
    await h.call('PUT', `/v1/organizations/${org}/projects/p/api_keys/${key.id}/ip_allowlist`, {
      body: { entries: ['198.51.100.0/24', { value: '192.0.2.0/24', expiresIn: 1 }], enabled: true },
    });
    let t = start + 200;
    const { authorizer, outcomes } = authorizerAt(() => t, 2);
    const decide = async (ip: string) =>
      (await authorizer.handle(authorizerEvent({ key: key.key, sourceIp: ip }))).policyDocument.Statement[0].Effect;

    expect(await decide('192.0.2.7')).toBe('Allow');
    t = start + 1000;
    expect(await decide('192.0.2.7')).toBe('Deny');
    expect(outcomes.map((o) => o.storeReads)).toEqual([1, 1]);
  });
});
