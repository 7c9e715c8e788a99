import {
  compileScopeList as compileAt,
  decideIp,
  decideIpFromSettings as decideAt,
  effectiveScope,
  ipNotAuthorizedError,
} from '../../../lambda/core/decision';
import { ERRORS } from '../../../lambda/core/errors';
import { AllowlistSettings, EMPTY_ALLOWLIST } from '../../../lambda/core/model';

// None of these lists has an expiring entry: any instant decides them the same (expiry.test.ts covers time).
const NOW = Date.parse('2026-06-01T00:00:00.000Z');
const compileScopeList = (settings: AllowlistSettings) => compileAt(settings, NOW);
const decideIpFromSettings = (lists: Parameters<typeof decideAt>[0], ip: string) => decideAt(lists, ip, NOW);

function list(enabled: boolean, ...values: string[]): AllowlistSettings {
  return {
    enabled,
    entries: values.map((value) => ({ value, description: '', createdAt: '2026-01-01T00:00:00Z', createdBy: 'test' })),
    version: 1,
  };
}

const ORG = list(true, '198.51.100.0/24', '2001:db8:1::/48');
const PROJECT = list(true, '203.0.113.0/24');

describe('effective list: project wins over organization, never merged', () => {
  test.each([
    [false, false, 'none'],
    [true, false, 'organization'],
    [false, true, 'project'],
    [true, true, 'project'],
  ] as const)('org enabled %s, project enabled %s -> %s', (org, project, scope) => {
    expect(effectiveScope(org, project)).toBe(scope);
  });

  test('both lists disabled: any IP is allowed, nothing matched', () => {
    const d = decideIpFromSettings({ organization: list(false, '10.0.0.0/8'), project: EMPTY_ALLOWLIST }, '192.0.2.1');
    expect(d).toEqual({ allowed: true, scope: 'none', matchedEntry: undefined, keyMatchedEntry: undefined });
  });

  test('only the org list enabled: its entries decide', () => {
    const lists = { organization: ORG, project: list(false, '203.0.113.0/24') };
    expect(decideIpFromSettings(lists, '198.51.100.7')).toMatchObject({
      allowed: true,
      scope: 'organization',
      matchedEntry: '198.51.100.0/24',
    });
    // The disabled project list's entries do not count.
    expect(decideIpFromSettings(lists, '203.0.113.5')).toEqual({
      allowed: false,
      scope: 'organization',
      reason: 'ip_not_authorized',
      effectiveScope: 'organization',
    });
  });

  test('the enabled project list replaces the org list: an org-listed IP is denied', () => {
    const d = decideIpFromSettings({ organization: ORG, project: PROJECT }, '198.51.100.7');
    expect(d).toEqual({ allowed: false, scope: 'project', reason: 'ip_not_authorized', effectiveScope: 'project' });
  });

  test('the enabled project list replaces the org list: a project-listed IP is allowed though not org-listed', () => {
    const d = decideIpFromSettings({ organization: ORG, project: PROJECT }, '203.0.113.99');
    expect(d).toEqual({ allowed: true, scope: 'project', matchedEntry: '203.0.113.0/24', keyMatchedEntry: undefined });
  });

  test('an enabled list with no entries blocks everyone', () => {
    expect(decideIpFromSettings({ organization: list(true), project: EMPTY_ALLOWLIST }, '192.0.2.1')).toMatchObject({
      allowed: false,
      scope: 'organization',
    });
  });
});

describe('per-key list narrows', () => {
  test('IP in the effective list but not in the key list: denied by the key', () => {
    const d = decideIpFromSettings(
      { organization: ORG, project: EMPTY_ALLOWLIST, key: list(true, '198.51.100.7/32') },
      '198.51.100.8',
    );
    expect(d).toEqual({ allowed: false, scope: 'key', reason: 'ip_not_authorized', effectiveScope: 'organization' });
  });

  test('IP in both: allowed, both matches reported', () => {
    const d = decideIpFromSettings(
      { organization: ORG, project: EMPTY_ALLOWLIST, key: list(true, '198.51.100.7/32') },
      '198.51.100.7',
    );
    expect(d).toEqual({
      allowed: true,
      scope: 'organization',
      matchedEntry: '198.51.100.0/24',
      keyMatchedEntry: '198.51.100.7/32',
    });
  });

  test('a key list cannot widen: an IP only in the key list is still denied by the project list', () => {
    const d = decideIpFromSettings(
      { organization: EMPTY_ALLOWLIST, project: PROJECT, key: list(true, '192.0.2.0/24') },
      '192.0.2.1',
    );
    expect(d).toMatchObject({ allowed: false, scope: 'project' });
  });

  test('a key list applies even when neither org nor project restricts', () => {
    const lists = { organization: EMPTY_ALLOWLIST, project: EMPTY_ALLOWLIST, key: list(true, '192.0.2.0/24') };
    expect(decideIpFromSettings(lists, '192.0.2.1')).toEqual({
      allowed: true,
      scope: 'none',
      matchedEntry: undefined,
      keyMatchedEntry: '192.0.2.0/24',
    });
    expect(decideIpFromSettings(lists, '192.0.3.1')).toEqual({
      allowed: false,
      scope: 'key',
      reason: 'ip_not_authorized',
      effectiveScope: 'none',
    });
  });

  test('a disabled key list restricts nothing', () => {
    const d = decideIpFromSettings(
      { organization: ORG, project: EMPTY_ALLOWLIST, key: list(false, '192.0.2.0/24') },
      '198.51.100.1',
    );
    expect(d).toMatchObject({ allowed: true, keyMatchedEntry: undefined });
  });
});

describe('caller addresses as API Gateway reports them', () => {
  test('IPv6 caller matches an IPv6 entry', () => {
    expect(decideIpFromSettings({ organization: ORG, project: EMPTY_ALLOWLIST }, '2001:db8:1:2::5')).toMatchObject({
      allowed: true,
      matchedEntry: '2001:db8:1::/48',
    });
  });

  test('IPv4-mapped IPv6 caller matches the IPv4 entry', () => {
    expect(
      decideIpFromSettings({ organization: EMPTY_ALLOWLIST, project: PROJECT }, '::ffff:203.0.113.10'),
    ).toMatchObject({
      allowed: true,
      scope: 'project',
      matchedEntry: '203.0.113.0/24',
    });
  });

  test('an unparseable or empty source IP matches no list (denied when a list applies, allowed when none does)', () => {
    for (const ip of ['', 'not-an-ip', '203.0.113.10, 198.51.100.1', '127.1']) {
      expect(decideIpFromSettings({ organization: EMPTY_ALLOWLIST, project: PROJECT }, ip)).toMatchObject({
        allowed: false,
      });
      expect(decideIpFromSettings({ organization: EMPTY_ALLOWLIST, project: EMPTY_ALLOWLIST }, ip)).toMatchObject({
        allowed: true,
      });
    }
  });

  test('the most specific entry is the one reported', () => {
    const d = decideIpFromSettings(
      { organization: list(true, '10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24'), project: EMPTY_ALLOWLIST },
      '10.1.2.3',
    );
    expect(d).toMatchObject({ matchedEntry: '10.1.2.0/24' });
  });
});

describe('compiled form', () => {
  test('decideIp on compiled lists agrees with decideIpFromSettings', () => {
    const compiled = {
      organization: compileScopeList(ORG),
      project: compileScopeList(PROJECT),
      key: compileScopeList(list(true, '203.0.113.0/25')),
    };
    for (const ip of ['203.0.113.1', '203.0.113.200', '198.51.100.1', '2001:db8:1::1']) {
      expect(decideIp(compiled, ip)).toEqual(
        decideIpFromSettings({ organization: ORG, project: PROJECT, key: list(true, '203.0.113.0/25') }, ip),
      );
    }
  });

  test('a disabled list is not compiled, so entries that no longer parse cannot break decisions', () => {
    expect(compileScopeList(list(false, 'garbage')).enabled).toBe(false);
    expect(() => compileScopeList(list(true, 'garbage'))).toThrow(/garbage/);
  });
});

test('each deny scope maps to its error body', () => {
  expect(ipNotAuthorizedError('organization')).toBe(ERRORS.ipNotAuthorizedOrganization);
  expect(ipNotAuthorizedError('project')).toBe(ERRORS.ipNotAuthorizedProject);
  expect(ipNotAuthorizedError('key')).toBe(ERRORS.ipNotAuthorizedKey);
});
