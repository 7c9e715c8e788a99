import * as fc from 'fast-check';
import { compileScopeList, decideIp, decideIpFromSettings } from '../../../lambda/core/decision';
import { isExpired, liveEntries, parseIsoInstant, parseStoredExpiresAt } from '../../../lambda/core/expiry';
import { AllowlistEntry, AllowlistSettings, EMPTY_ALLOWLIST } from '../../../lambda/core/model';

/** Expiring entries in the pure core: the time is always an argument, and an entry is live while now < expiresAt. */

const T = Date.parse('2026-06-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function entry(value: string, expiresAt?: number): AllowlistEntry {
  return {
    value,
    description: '',
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'test',
    ...(expiresAt === undefined ? {} : { expiresAt: iso(expiresAt) }),
  };
}

const enforced = (...entries: AllowlistEntry[]): AllowlistSettings => ({ enabled: true, entries, version: 1 });

describe('parseIsoInstant (what a request may send)', () => {
  test.each([
    ['2026-06-01T12:00:00Z', T],
    ['2026-06-01T12:00:00.000Z', T],
    ['2026-06-01T14:00:00+02:00', T],
    ['2026-06-01T07:30:00-04:30', T],
    ['2026-06-01t12:00:00z', T],
    ['2026-06-01T12:00:00.123456789Z', T + 123],
    ['2028-02-29T00:00:00Z', Date.UTC(2028, 1, 29)],
  ])('%s', (text, ms) => {
    expect(parseIsoInstant(text)).toBe(ms);
  });

  test.each([
    '2026-06-01',
    '2026-06-01T12:00Z',
    '2026-06-01T12:00:00',
    '2026-06-01 12:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-06-01T24:00:00Z',
    '2026-06-01T12:60:00Z',
    '2026-06-01T12:00:60Z',
    '2026-06-01T12:00:00+19:00',
    '2026-06-01T12:00:00+0200',
    ' 2026-06-01T12:00:00Z',
    'tomorrow',
    '',
  ])('refuses %j', (text) => {
    expect(parseIsoInstant(text)).toBeUndefined();
  });
});

describe('parseStoredExpiresAt (what the table may hold)', () => {
  test('only the canonical toISOString form', () => {
    expect(parseStoredExpiresAt('2026-06-01T12:00:00.000Z')).toBe(T);
    for (const text of ['2026-06-01T12:00:00Z', '2026-06-01T14:00:00.000+02:00', '2026-02-30T00:00:00.000Z', ''])
      expect(parseStoredExpiresAt(text)).toBeUndefined();
  });

  test('round-trips every instant toISOString can write in four-digit years', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31) }), (ms) => {
        expect(parseStoredExpiresAt(iso(ms))).toBe(ms);
        expect(parseIsoInstant(iso(ms))).toBe(ms);
      }),
    );
  });
});

describe('an entry is live while now < expiresAt', () => {
  test('expired exactly at expiresAt, not a millisecond before; never without one', () => {
    expect(isExpired(entry('192.0.2.1', T), T - 1)).toBe(false);
    expect(isExpired(entry('192.0.2.1', T), T)).toBe(true);
    expect(isExpired(entry('192.0.2.1'), Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(liveEntries([entry('a', T), entry('b'), entry('c', T + 1)], T).map((e) => e.value)).toEqual(['b', 'c']);
  });

  test('an expiresAt that is not canonical is an error, never an entry that lives forever', () => {
    const bad = { ...entry('192.0.2.1'), expiresAt: 'soon' };
    expect(() => isExpired(bad, T)).toThrow(/expiresAt/);
    expect(() => compileScopeList(enforced(bad), T)).toThrow(/expiresAt/);
  });
});

describe('compileScopeList(settings, now)', () => {
  test('leaves out entries expired at now and is valid until the earliest remaining expiry', () => {
    const list = compileScopeList(
      enforced(entry('192.0.2.0/24', T), entry('198.51.100.0/24', T + 5000), entry('203.0.113.0/24')),
      T,
    );
    expect(list.allowlist.size).toBe(2);
    expect(list.allowlist.match('192.0.2.1')).toBeUndefined();
    expect(list.allowlist.match('198.51.100.1')).toBe('198.51.100.0/24');
    expect(list.validUntil).toBe(T + 5000);
  });

  test('a list without expiring entries, and an off list, are valid forever', () => {
    expect(compileScopeList(enforced(entry('192.0.2.0/24')), T).validUntil).toBe(Infinity);
    expect(compileScopeList({ ...enforced(entry('192.0.2.0/24', T + 1)), enabled: false }, T).validUntil).toBe(
      Infinity,
    );
  });

  test('a report-only list and its shadow leave out the same expired entries', () => {
    const list = compileScopeList(
      { enabled: false, reportOnly: true, entries: [entry('192.0.2.0/24', T), entry('198.51.100.0/24')], version: 1 },
      T,
    );
    expect(list.shadow.allowlist.match('192.0.2.1')).toBeUndefined();
    expect(list.shadow.allowlist.match('198.51.100.1')).toBe('198.51.100.0/24');
  });

  test('an enforced list whose entries have all expired blocks every IP', () => {
    const lists = { organization: enforced(entry('192.0.2.0/24', T)), project: EMPTY_ALLOWLIST };
    expect(decideIpFromSettings(lists, '192.0.2.1', T - 1).allowed).toBe(true);
    expect(decideIpFromSettings(lists, '192.0.2.1', T)).toMatchObject({ allowed: false, scope: 'organization' });
  });
});

describe('deciding on stored settings at t agrees with deciding on a list compiled at c <= t while t < validUntil', () => {
  // The authorizer compiles at load time and uses the compiled list until its validUntil; the check tool compiles
  // at request time. For every pair of instants the authorizer may use a compiled list at, they agree.
  test('property', () => {
    const entries = fc.array(
      fc.record({
        value: fc.constantFrom('192.0.2.0/24', '192.0.2.128/25', '198.51.100.0/24', '2001:db8::/32'),
        expiresIn: fc.option(fc.integer({ min: -2000, max: 2000 }), { nil: undefined }),
      }),
      { maxLength: 5 },
    );
    fc.assert(
      fc.property(
        entries,
        fc.integer({ min: 0, max: 3000 }),
        fc.constantFrom('192.0.2.1', '192.0.2.200', '198.51.100.9', '2001:db8::1', '203.0.113.1'),
        (raw, later, ip) => {
          const seen = new Set<string>();
          const list = enforced(
            ...raw
              .filter((e) => !seen.has(e.value) && seen.add(e.value))
              .map((e) => entry(e.value, e.expiresIn === undefined ? undefined : T + e.expiresIn)),
          );
          const compiled = compileScopeList(list, T);
          const t = T + later;
          const fromSettings = decideIpFromSettings({ organization: list, project: EMPTY_ALLOWLIST }, ip, t);
          if (t < compiled.validUntil) {
            const fromCompiled = decideIp(
              { organization: compiled, project: compileScopeList(EMPTY_ALLOWLIST, T) },
              ip,
            );
            expect(fromCompiled).toEqual(fromSettings);
          }
          // Never allowed through an entry expired at t.
          if (fromSettings.allowed && fromSettings.matchedEntry !== undefined) {
            const matched = list.entries.filter((e) => e.value === fromSettings.matchedEntry);
            expect(matched.some((e) => !isExpired(e, t))).toBe(true);
          }
        },
      ),
    );
  });
});
