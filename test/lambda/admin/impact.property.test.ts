import fc from 'fast-check';
import { AuthorizerOutcome, createAuthorizer } from '../../../lambda/authorizer/authorizer';
import type { AllowlistMode } from '../../../lambda/core/model';
import { authorizerEvent } from '../authorizer/fixtures';
import { authorizerStore, Harness, keysPath, makeHarness, recordingLogger } from './fixtures';

/**
 * The check tool, the impact preview and the lockout guard agree with the authorizer: over random organization,
 * project and key lists (keys with and without lists of their own, every mode) and random callers, the real
 * authorizer (createAuthorizer with the DynamoDB store on the same tables) decides every (key, address) before and
 * after the draft is saved, and
 * - the check route's answer on the key's route is the authorizer's decision before;
 * - the preview's wouldBlock / wouldPass / wouldReport are exactly the pairs whose decision the save changes so;
 * - the unforced write of the draft is refused (409) exactly when it blocks a pair whose requests went through,
 *   whatever mode it leaves the list in (a project list turned off or report-only hands its callers to the
 *   organization's list), naming exactly those addresses.
 */

jest.setTimeout(240_000);

let h: Harness;

beforeAll(async () => {
  h = await makeHarness('impact-property');
});

afterAll(() => h.destroy());

const ENTRIES = ['192.0.2.0/25', '192.0.2.128/25', '192.0.2.1/32', '198.51.100.0/24', '10.0.0.0/8', '2001:db8::/64'];
const ADDRESSES = ['192.0.2.1', '192.0.2.200', '198.51.100.7', '10.1.2.3', '2001:db8::5', '203.0.113.9'];
/** The keys of a run: two in p1, one in p2. */
const KEY_PROJECTS = ['p1', 'p1', 'p2'] as const;

type Verdict = 'allowed' | 'would_block' | 'blocked';

const list = fc.record({
  mode: fc.constantFrom<AllowlistMode>('enforce', 'report_only', 'off'),
  entries: fc.subarray(ENTRIES, { minLength: 1 }),
});

const scenario = fc.record({
  organization: list,
  p1: list,
  p2: list,
  keyLists: fc.tuple(fc.option(list), fc.option(list), fc.option(list)),
  pairs: fc.subarray(
    KEY_PROJECTS.flatMap((_, key) => ADDRESSES.map((ip) => ({ key, ip }))),
    { minLength: 1, maxLength: 8 },
  ),
  target: fc.constantFrom('organization', 'p1', 'key0'),
  draft: list,
});

let run = 0;

test('the check tool, the preview and the guard decide every caller as the authorizer does', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      // prepare: the lists and keys of a fresh organization, and a sighting of every pair an hour ago
      const org = `prop-${run++}`;
      const keys: { id: string; key: string; project: string }[] = [];
      for (const project of KEY_PROJECTS) {
        const res = await h.call('POST', keysPath(org, project), { body: { name: 'k' } });
        keys.push({ id: res.body.id, key: res.body.key, project });
      }
      const paths = {
        organization: `/v1/organizations/${org}/ip_allowlist`,
        p1: `/v1/organizations/${org}/projects/p1/ip_allowlist`,
        p2: `/v1/organizations/${org}/projects/p2/ip_allowlist`,
        key: (n: number) => `/v1/organizations/${org}/projects/${keys[n].project}/api_keys/${keys[n].id}/ip_allowlist`,
      };
      const put = (path: string, l: { mode: AllowlistMode; entries: string[] }, force: boolean) =>
        h.call('PUT', path, { body: { entries: l.entries, mode: l.mode, ...(force ? { force: true } : {}) } });
      for (const [path, l] of [
        [paths.organization, s.organization],
        [paths.p1, s.p1],
        [paths.p2, s.p2],
        ...s.keyLists.flatMap((kl, n) => (kl ? [[paths.key(n), kl] as const] : [])),
      ] as const) {
        expect((await put(path, l, true)).status).toBe(200);
      }
      const now = Date.now();
      await h.recordSightings(
        s.pairs.map(({ key, ip }) => ({
          organizationId: org,
          projectId: keys[key].project,
          keyId: keys[key].id,
          sourceIp: ip,
          outcome: 'allowed',
          scope: 'none',
          matched: {},
          count: 1,
          firstSeen: now - 3_600_000,
          lastSeen: now - 3_600_000,
        })),
      );
      const targetPath = s.target === 'organization' ? paths.organization : s.target === 'p1' ? paths.p1 : paths.key(0);
      const inScope = s.pairs.filter(
        ({ key }) => s.target === 'organization' || (s.target === 'p1' ? keys[key].project === 'p1' : key === 0),
      );

      // act
      const before = await authorizerVerdicts(keys, inScope);
      const checks = await Promise.all(
        inScope.map(({ key, ip }) => h.call('POST', `${paths.key(key)}/check`, { body: { ip } })),
      );
      const preview = await h.call('POST', `${targetPath}/preview`, { body: s.draft });
      const guarded = await put(targetPath, s.draft, false);
      if (guarded.status === 409) expect((await put(targetPath, s.draft, true)).status).toBe(200);
      const after = await authorizerVerdicts(keys, inScope);

      // assess
      expect(checks.map((c) => verdictOfCheck(c.body))).toEqual(before);
      const pairs = inScope.map((p, n) => ({ ...p, keyId: keys[p.key].id, today: before[n], draft: after[n] }));
      const passes = (v: Verdict) => v !== 'blocked';
      const expected = (keep: (p: (typeof pairs)[number]) => boolean) =>
        pairs
          .filter(keep)
          .map((p) => `${p.ip} ${p.keyId} ${p.today}->${p.draft}`)
          .sort();
      const got = (addresses: { ip: string; keys: { keyId: string; today: string; draft: string }[] }[]) =>
        addresses.flatMap((a) => a.keys.map((k) => `${a.ip} ${k.keyId} ${k.today}->${k.draft}`)).sort();
      expect(preview.status).toBe(200);
      expect(got(preview.body.wouldBlock)).toEqual(expected((p) => passes(p.today) && !passes(p.draft)));
      expect(got(preview.body.wouldPass)).toEqual(expected((p) => !passes(p.today) && passes(p.draft)));
      expect(got(preview.body.wouldReport)).toEqual(expected((p) => passes(p.today) && p.draft === 'would_block'));
      const cutOff = expected((p) => passes(p.today) && !passes(p.draft));
      expect(guarded.status).toBe(cutOff.length > 0 ? 409 : 200);
      if (guarded.status === 409) expect(got(guarded.body.error.wouldBlock)).toEqual(cutOff);
    }),
    { numRuns: 20 },
  );
});

async function authorizerVerdicts(
  keys: readonly { key: string }[],
  pairs: readonly { key: number; ip: string }[],
): Promise<Verdict[]> {
  const outcomes: AuthorizerOutcome[] = [];
  const authorizer = createAuthorizer({
    store: authorizerStore(h),
    logger: recordingLogger(),
    memoryCacheTtlSeconds: 0,
    metrics: { record: (outcome) => outcomes.push(outcome) },
  });
  const verdicts: Verdict[] = [];
  for (const { key, ip } of pairs) {
    await authorizer.handle(authorizerEvent({ key: keys[key].key, sourceIp: ip }));
    const outcome = outcomes.pop();
    if (outcome === 'allowed') verdicts.push('allowed');
    else if (outcome === 'wouldBlock') verdicts.push('would_block');
    else if (outcome === 'blocked') verdicts.push('blocked');
    else throw new Error(`unexpected authorizer outcome ${String(outcome)}`);
  }
  return verdicts;
}

function verdictOfCheck(body: { allowed: boolean; wouldBlock: unknown }): Verdict {
  if (!body.allowed) return 'blocked';
  return body.wouldBlock === null ? 'allowed' : 'would_block';
}
