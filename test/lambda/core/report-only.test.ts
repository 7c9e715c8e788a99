import {
  compileScopeList as compileAt,
  decideIp,
  decideIpWithReport,
  decideIpWithReportFromSettings as decideAt,
  DecisionLists,
} from '../../../lambda/core/decision';
import {
  AllowlistMode,
  AllowlistSettings,
  allowlistMode,
  EMPTY_ALLOWLIST,
  modeFlags,
} from '../../../lambda/core/model';

// None of these lists has an expiring entry: any instant decides them the same (expiry.test.ts covers time).
const NOW = Date.parse('2026-06-01T00:00:00.000Z');
const compileScopeList = (settings: AllowlistSettings) => compileAt(settings, NOW);
const decideIpWithReportFromSettings = (lists: DecisionLists<AllowlistSettings>, ip: string) =>
  decideAt(lists, ip, NOW);

/**
 * Report-only lists, as a shadow rule: every combination of organization, project and key modes (plus a list that
 * is not there at all), for callers inside and outside each list, against an oracle that states the rule in the
 * plainest terms (sets and ifs) rather than through the compiled lists.
 */

type Mode = AllowlistMode | 'absent';
const MODES: readonly Mode[] = ['enforce', 'report_only', 'off', 'absent'];

const ENTRIES = {
  organization: ['10.1.0.0/16'],
  project: ['10.1.2.0/24', '10.2.0.0/16'],
  key: ['10.1.2.3/32', '10.2.0.0/24'],
} as const;

/** Callers chosen so that each list admits some and refuses others. */
const CALLERS = ['10.1.2.3', '10.1.9.9', '10.2.0.5', '10.2.5.5', '10.9.9.9'] as const;

function settings(mode: AllowlistMode, values: readonly string[]): AllowlistSettings {
  return {
    ...modeFlags(mode),
    entries: values.map((value) => ({ value, description: '', createdAt: '2026-01-01T00:00:00Z', createdBy: 'test' })),
    version: 1,
  };
}

function lists(org: Mode, project: Mode, key: Mode): DecisionLists<AllowlistSettings> {
  return {
    organization: org === 'absent' ? EMPTY_ALLOWLIST : settings(org, ENTRIES.organization),
    project: project === 'absent' ? EMPTY_ALLOWLIST : settings(project, ENTRIES.project),
    key: key === 'absent' ? undefined : settings(key, ENTRIES.key),
  };
}

/** Exact membership over the few /16, /24 and /32 ranges above: the first two or three octets, or all four. */
function contains(ranges: readonly string[], ip: string): boolean {
  return ranges.some((range) => {
    const [network, prefix] = range.split('/');
    const octets = Number(prefix) / 8;
    return network.split('.').slice(0, octets).join('.') === ip.split('.').slice(0, octets).join('.');
  });
}

/** The rule: the project's list if it counts, else the organization's; then the key's list, which only narrows. */
function oracle(counts: (mode: Mode) => boolean, modes: [Mode, Mode, Mode], ip: string): string {
  const [org, project, key] = modes;
  const governing = counts(project) ? 'project' : counts(org) ? 'organization' : undefined;
  if (governing !== undefined && !contains(ENTRIES[governing], ip)) return `deny:${governing}`;
  if (counts(key) && !contains(ENTRIES.key, ip)) return 'deny:key';
  return 'allow';
}

const enforcedOnly = (mode: Mode) => mode === 'enforce';
const enforcedOrReported = (mode: Mode) => mode === 'enforce' || mode === 'report_only';

const COMBINATIONS = MODES.flatMap((org) =>
  MODES.flatMap((project) => MODES.map((key) => [org, project, key] as [Mode, Mode, Mode])),
);

describe('report-only: every combination of organization, project and key modes', () => {
  test.each(COMBINATIONS)('org %s, project %s, key %s', (org, project, key) => {
    const stored = lists(org, project, key);
    for (const ip of CALLERS) {
      const real = oracle(enforcedOnly, [org, project, key], ip);
      const shadow = oracle(enforcedOrReported, [org, project, key], ip);
      const { decision, wouldBlock } = decideIpWithReportFromSettings(stored, ip);

      // The decision is exactly today's, from the enforced lists only.
      expect([ip, decision.allowed ? 'allow' : `deny:${decision.scope}`]).toEqual([ip, real]);
      const compiled = {
        organization: compileScopeList(stored.organization),
        project: compileScopeList(stored.project),
        key: stored.key === undefined ? undefined : compileScopeList(stored.key),
      };
      expect(decideIp(compiled, ip)).toEqual(decision);
      // would_block exactly when the shadow decision denies what the real one allows, naming the list that would.
      const expected = real === 'allow' && shadow !== 'allow' ? shadow.slice('deny:'.length) : undefined;
      expect([ip, wouldBlock?.scope]).toEqual([ip, expected]);
      expect(decideIpWithReport(compiled, ip)).toEqual({ decision, wouldBlock });
    }
  });

  test('the table covers 4 x 4 x 4 combinations and reaches every outcome', () => {
    const outcomes = new Set<string>();
    for (const [org, project, key] of COMBINATIONS) {
      for (const ip of CALLERS) {
        const { decision, wouldBlock } = decideIpWithReportFromSettings(lists(org, project, key), ip);
        outcomes.add(decision.allowed ? (wouldBlock ? `would_block:${wouldBlock.scope}` : 'allow') : 'deny');
      }
    }
    expect(COMBINATIONS).toHaveLength(64);
    expect([...outcomes].sort()).toEqual([
      'allow',
      'deny',
      'would_block:key',
      'would_block:organization',
      'would_block:project',
    ]);
  });
});

describe('report-only: the cases the README states', () => {
  test('a report-only project list does not override an enforced organization list', () => {
    // 10.1.9.9 is in the org list, not the project's: enforced org allows it; the shadow project list would block.
    const r = decideIpWithReportFromSettings(lists('enforce', 'report_only', 'absent'), '10.1.9.9');
    expect(r.decision).toMatchObject({ allowed: true, scope: 'organization', matchedEntry: '10.1.0.0/16' });
    expect(r.wouldBlock).toEqual({ scope: 'project', effectiveScope: 'project' });
    // 10.2.5.5 is in the project list only: the enforced org list still blocks it (no override).
    const denied = decideIpWithReportFromSettings(lists('enforce', 'report_only', 'absent'), '10.2.5.5');
    expect(denied.decision).toMatchObject({ allowed: false, scope: 'organization' });
    expect(denied.wouldBlock).toBeUndefined();
  });

  test('a blocked request is never also would_block', () => {
    const r = decideIpWithReportFromSettings(lists('enforce', 'off', 'report_only'), '10.9.9.9');
    expect(r.decision.allowed).toBe(false);
    expect(r.wouldBlock).toBeUndefined();
  });

  test('without a report-only list the shadow decision is not made: the same lists, no would_block', () => {
    const compiled = {
      organization: compileScopeList(settings('enforce', ENTRIES.organization)),
      project: compileScopeList(EMPTY_ALLOWLIST),
    };
    expect(compiled.organization.shadow).toBe(compiled.organization);
    expect(compiled.project.shadow).toBe(compiled.project);
    expect(decideIpWithReport(compiled, '10.1.2.3').wouldBlock).toBeUndefined();
  });

  test("a report-only list's shadow shares its compiled entries, enforced", () => {
    const reported = compileScopeList(settings('report_only', ENTRIES.project));
    expect(reported).toMatchObject({ enabled: false, reportOnly: true });
    expect(reported.shadow).toMatchObject({ enabled: true, reportOnly: false });
    expect(reported.shadow.allowlist).toBe(reported.allowlist);
  });

  test('modes read from and written as the stored flags (a list without reportOnly is enforce or off)', () => {
    expect(allowlistMode({ enabled: true })).toBe('enforce');
    expect(allowlistMode({ enabled: false })).toBe('off');
    expect(allowlistMode({ enabled: false, reportOnly: true })).toBe('report_only');
    for (const mode of ['enforce', 'report_only', 'off'] as const) expect(allowlistMode(modeFlags(mode))).toBe(mode);
  });

  test('an invalid entry of a report-only list is refused when compiled, as for an enforced one', () => {
    expect(() => compileScopeList(settings('report_only', ['garbage']))).toThrow(/garbage/);
    expect(compileScopeList(settings('off', ['garbage'])).reportOnly).toBe(false);
  });
});
