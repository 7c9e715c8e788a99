import { createHash, randomInt } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  AUDIT_RECORD_BUDGET_BYTES,
  ItemTooLargeError,
  auditEventToItem,
  estimateItemSize,
} from '../../../lambda/adapters/admin-store';
import { MAX_DESCRIPTION_LENGTH, MAX_MAX_ENTRIES } from '../../../lambda/admin/allowlist-ops';
import { AUDIT_PAGE_BUDGET_BYTES } from '../../../lambda/admin/audit-handlers';
import { findUnsafeCharacter } from '../../../lambda/core/text';
import type { AllowlistEntryView, AllowlistView, AuditEventView } from '../../../lambda/admin/contract/schemas';
import { expectError, Harness, makeHarness, Reply } from './fixtures';

/** A side of an audit record: the list's full snapshot, or the bounded one (`truncated`). */
interface RecordedSide {
  readonly truncated?: boolean;
  readonly version: number;
  readonly entries: readonly { readonly value: string; readonly description?: string }[];
}
type AuditRecord = Omit<AuditEventView, 'before' | 'after'> & { before: RecordedSide | null; after: RecordedSide };

/**
 * Audit records stay within DynamoDB's 400 KB item limit at the real limits: maxEntries = 1000, descriptions of
 * 140 characters that take 3 bytes each in UTF-8 (CJK) and do not compress (random), the longest IPv6 entries.
 * A list can itself take a whole item, so its before AND after cannot always be stored whole: every change that
 * could be stored is still audited (bounded when needed), and no size error is ever a 503.
 */

const ORG = 'big';
const KEYS = `/v1/organizations/${ORG}/projects/keys/api_keys`;
const ACTOR = 'arn:aws:sts::123456789012:assumed-role/Ops/carol';

let h: Harness;

beforeAll(async () => {
  h = await makeHarness('audit-size', { maxEntries: MAX_MAX_ENTRIES });
});

afterAll(() => h.destroy());

/** 140 random CJK ideographs (the case): 420 bytes of UTF-8 that gzip shrinks only to about 60 %. */
function cjkDescription(): string {
  return Array.from({ length: MAX_DESCRIPTION_LENGTH }, () => String.fromCodePoint(0x4e00 + randomInt(0x5200))).join(
    '',
  );
}

/**
 * 140 random letters of the 2-byte UTF-8 range (Latin to Syriac): the least compressible valid description. The
 * range holds one character a description may not contain (U+061C, a bidirectional mark): it is drawn again.
 */
function twoByteDescription(): string {
  const letter = (): string => {
    const c = String.fromCodePoint(0xc0 + randomInt(0x700 - 0xc0));
    return findUnsafeCharacter(c) === undefined ? c : letter();
  };
  return Array.from({ length: MAX_DESCRIPTION_LENGTH }, letter).join('');
}

type Describe = () => string;

/** Distinct entries: IPv4 /32 (short values leave the most room for descriptions) or the longest IPv6 form. */
function entries(
  n: number,
  salt: number,
  description: Describe,
  family: 4 | 6 = 4,
): { value: string; description: string }[] {
  return Array.from({ length: n }, (_, i) => {
    if (family === 4) return { value: `10.${salt % 256}.${i >> 8}.${i & 255}`, description: description() };
    const g = (x: number) => (0x8000 + (x & 0x7fff)).toString(16);
    return { value: `2001:db8:${g(salt)}:${g(i)}:ffff:eeee:dddd:cccc/128`, description: description() };
  });
}

const put = (path: string, list: unknown[], enabled?: boolean) =>
  h.call('PUT', path, { body: { entries: list, ...(enabled === undefined ? {} : { enabled }) } });

/** Every record of the organization, through the API and its cursor (the way operators read them). */
async function allRecords(): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  let cursor: string | undefined;
  do {
    const res = await h.call('GET', `/v1/organizations/${ORG}/audit_log`, {
      query: { limit: '100', ...(cursor ? { cursor } : {}) },
    });
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(res.body))).toBeLessThanOrEqual(AUDIT_PAGE_BUDGET_BYTES + 1024 * 1024);
    out.push(...res.body.data);
    cursor = res.body.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

async function newestRecord(): Promise<AuditRecord> {
  const res = await h.call('GET', `/v1/organizations/${ORG}/audit_log`, { query: { limit: '1' } });
  expect(res.status).toBe(200);
  return res.body.data[0];
}

/** The list as a full audit snapshot holds it, from the list as GET returns it. */
function fullSnapshot(list: AllowlistView) {
  return {
    enabled: list.enabled,
    mode: list.mode,
    entries: list.entries.map((e) => ({
      value: e.value,
      description: e.description,
      createdAt: e.createdAt,
      createdBy: e.createdBy,
    })),
    version: list.version,
    updatedAt: list.updatedAt ?? null,
    updatedBy: list.updatedBy ?? null,
  };
}

/** A recorded side is the full snapshot, or the bounded one: every value, the count, the full snapshot's hash. */
function expectFaithful(recorded: RecordedSide | null, list: AllowlistView): 'full' | 'bounded' {
  const full = fullSnapshot(list);
  if (!recorded?.truncated) {
    expect(recorded).toEqual(full);
    return 'full';
  }
  expect(recorded).toEqual({
    ...full,
    entries: full.entries.map((e: Pick<AllowlistEntryView, 'value'>) => ({ value: e.value })),
    truncated: true,
    entryCount: full.entries.length,
    sha256: createHash('sha256').update(JSON.stringify(full), 'utf8').digest('hex'),
  });
  return 'bounded';
}

/** The largest entry count the API stores in one list, found by real PUTs (each one audited). */
async function largestStorable(path: string, make: (n: number) => unknown[]): Promise<number> {
  let lo = 0;
  let hi = MAX_MAX_ENTRIES + 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const res = await put(path, make(mid), true);
    if (res.status === 200) lo = mid;
    else {
      expectError(res, 422, 'allowlist_too_large');
      hi = mid;
    }
  }
  return lo;
}

test('1000 entries with the longest descriptions do not fit in an item: 422, nothing written', async () => {
  const path = `/v1/organizations/${ORG}/projects/refused/ip_allowlist`;
  const res = await put(path, entries(MAX_MAX_ENTRIES, 1, cjkDescription, 6), true);
  const error = expectError(res, 422, 'allowlist_too_large');
  expect(error.message).toMatch(/400 KB/);
  expect((await h.call('GET', path)).body.version).toBe(0);
  expect((await h.auditRecords(ORG)).filter((r) => r.target.includes('/refused/'))).toEqual([]);
});

describe.each([
  ['140 CJK characters (the issue: every later disable answered 503)', 'cjk', cjkDescription],
  ['140 two-byte letters (least compressible)', 'twobyte', twoByteDescription],
] as [string, string, Describe][])(
  'a project list at the item limit, descriptions of %s',
  (_name, project, description) => {
    const path = `/v1/organizations/${ORG}/projects/${project}/ip_allowlist`;
    const forms: string[] = [];

    test('the largest list that fits is stored', async () => {
      const max = await largestStorable(path, (n) => entries(n, n, description));
      expect(max).toBeGreaterThan(500);
      expect((await h.call('GET', path)).body.entries).toHaveLength(max);
    });

    const changes: [string, (current: AllowlistView) => Promise<Reply>][] = [
      ['disable', () => h.call('POST', `${path}/disable`)],
      ['enable', () => h.call('POST', `${path}/enable`)],
      [
        'remove an entry',
        (current) => h.call('DELETE', `${path}/entries/${encodeURIComponent(current.entries[0].value)}`),
      ],
      ['add an entry', () => h.call('POST', `${path}/entries`, { body: { value: '192.0.2.1' } })],
      [
        'replace every entry and description',
        (current) => put(path, entries(current.entries.length, 200, description)),
      ],
    ];

    for (const [name, change] of changes) {
      test(`${name}: succeeds, and its record is the full or the bounded before and after`, async () => {
        const before = (await h.call('GET', path)).body;
        const res = await change(before);
        expect(res.status === 200 ? 200 : res.body).toBe(200);
        const after = (await h.call('GET', path)).body;
        const record = await newestRecord();
        expect(record.target).toBe(`organizations/${ORG}/projects/${project}/ip_allowlist`);
        forms.push(expectFaithful(record.before, before), expectFaithful(record.after, after));
      });
    }

    test('every successful write of the list has its record', async () => {
      const version = (await h.call('GET', path)).body.version;
      const records = (await allRecords()).filter(
        (r) => r.target === `organizations/${ORG}/projects/${project}/ip_allowlist`,
      );
      expect(records.map((r) => r.after.version)).toEqual(Array.from({ length: version }, (_, i) => version - i));
      if (project === 'twobyte') expect(forms).toContain('bounded');
    });
  },
);

test('stored records are within the budget, measured as DynamoDB counts them', async () => {
  const records = await h.auditRecords(ORG);
  expect(records.length).toBeGreaterThan(0);
  for (const r of records) expect(estimateItemSize(auditEventToItem(r))).toBeLessThanOrEqual(AUDIT_RECORD_BUDGET_BYTES);
});

test('a page of records of large lists stops early with a cursor, within the response budget', async () => {
  // Compressible lists: each record is stored gzip-compressed and is ~4x larger once read.
  const path = `/v1/organizations/pages/ip_allowlist`;
  const same = 'x'.repeat(MAX_DESCRIPTION_LENGTH);
  for (let i = 0; i < 12; i++) {
    expect(
      (
        await put(
          path,
          entries(700, i, () => same, 6),
        )
      ).status,
    ).toBe(200);
  }
  const first = await h.call('GET', '/v1/organizations/pages/audit_log', { query: { limit: '12' } });
  expect(first.status).toBe(200);
  expect(Buffer.byteLength(JSON.stringify(first.body))).toBeLessThanOrEqual(AUDIT_PAGE_BUDGET_BYTES);
  expect(first.body.data.length).toBeLessThan(12);
  expect(first.body.next_cursor).not.toBeNull();
  const rest = await h.call('GET', '/v1/organizations/pages/audit_log', {
    query: { limit: '12', cursor: first.body.next_cursor },
  });
  expect([...first.body.data, ...rest.body.data].map((r: AuditRecord) => r.after.version)).toEqual(
    Array.from({ length: 12 }, (_, i) => 12 - i).slice(0, first.body.data.length + rest.body.data.length),
  );
  expect(rest.body.data[0].after.version).toBe(12 - first.body.data.length);
});

test("a key's own list at the item limit: changes to it and the key's revocation are audited", async () => {
  const key = await h.call('POST', KEYS, { body: { name: 'k' } });
  expect(key.status).toBe(201);
  const keyList = `${KEYS}/${key.body.id}/ip_allowlist`;
  const max = await largestStorable(keyList, (n) => entries(n, n, twoByteDescription));
  expect(max).toBeGreaterThan(500);
  const before = (await h.call('GET', keyList)).body;
  const disabled = await h.call('POST', `${keyList}/disable`);
  expect(disabled.status).toBe(200);
  const record = await newestRecord();
  expect(record).toMatchObject({ action: 'ip_allowlist.disable', scope: 'key' });
  expectFaithful(record.before, before);
  expectFaithful(record.after, (await h.call('GET', keyList)).body);
  expect((await h.call('DELETE', `${KEYS}/${key.body.id}`)).status).toBe(200);
  expect((await newestRecord()).action).toBe('api_key.revoke');
});

test('the bounded form fits at the extreme: 1000 longest entries a side, incompressible descriptions, a long actor', async () => {
  // Beyond what an item can hold (the API refuses such a list): the bound holds with room to spare anyway.
  const longActor = `arn:aws:iam::123456789012:user/${'p/'.repeat(250)}${'u'.repeat(64)}`;
  const side = (salt: number) => ({
    enabled: true,
    entries: entries(MAX_MAX_ENTRIES, salt, twoByteDescription, 6).map((e) => ({
      ...e,
      createdAt: new Date().toISOString(),
      createdBy: longActor,
    })),
    version: salt,
    updatedAt: new Date().toISOString(),
    updatedBy: longActor,
  });
  const event = {
    organizationId: ORG,
    eventId: `${new Date().toISOString()}#extreme`,
    at: new Date().toISOString(),
    actor: longActor,
    action: 'ip_allowlist.replace' as const,
    scope: 'project' as const,
    target: `organizations/${ORG}/projects/extreme/ip_allowlist`,
    before: side(1),
    after: side(2),
    requestId: 'req-extreme',
  };
  const item = auditEventToItem(event);
  expect(estimateItemSize(item)).toBeLessThanOrEqual(AUDIT_RECORD_BUDGET_BYTES);
  expect(JSON.parse(item.after.S!)).toMatchObject({ truncated: true, entryCount: MAX_MAX_ENTRIES });
  // DynamoDB Local accepts it as one item.
  await h.ddb.send(
    new PutItemCommand({
      TableName: h.names.auditLog,
      Item: item,
      ConditionExpression: 'attribute_not_exists(eventId)',
    }),
  );
  const stored = (await h.auditRecords(ORG)).find((r) => r.eventId === event.eventId)!;
  expect((stored.after as { entries: unknown[] }).entries).toHaveLength(MAX_MAX_ENTRIES);
});

test('small changes keep the full before and after (no truncation)', async () => {
  const path = `/v1/organizations/${ORG}/ip_allowlist`;
  expect(
    (await h.call('POST', `${path}/entries`, { body: { value: '192.0.2.1', description: cjkDescription() } })).status,
  ).toBe(200);
  const record = await newestRecord();
  expect(record.after.truncated).toBeUndefined();
  expect(record.after.entries[0].description).toHaveLength(MAX_DESCRIPTION_LENGTH);
});

test('DynamoDB refusing an item for its size is a 422 for the caller, never a 503 to retry', async () => {
  // No API route can build such an item (the store checks list sizes first); the store is driven directly with
  // a key whose name is far over the limit, so DynamoDB Local itself refuses it. The audit record compresses.
  const record = {
    keyHash: 'f'.repeat(64),
    keyId: 'key_huge',
    organizationId: ORG,
    projectId: 'web',
    name: 'n'.repeat(450 * 1024),
    status: 'active' as const,
    redactedValue: 'sk-…',
    createdAt: new Date().toISOString(),
    createdBy: ACTOR,
  };
  const audit = {
    organizationId: ORG,
    eventId: `${record.createdAt}#huge`,
    at: record.createdAt,
    actor: ACTOR,
    action: 'api_key.create' as const,
    scope: 'key' as const,
    target: 'x',
    before: null,
    after: { name: record.name },
  };
  await expect(h.store.createApiKey(record, audit)).rejects.toBeInstanceOf(ItemTooLargeError);
  expect((await h.auditRecords(ORG)).map((r) => r.eventId)).not.toContain(audit.eventId);
});
