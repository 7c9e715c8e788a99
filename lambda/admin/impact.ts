import { AllowlistTarget } from '../adapters/admin-store';
import { TrafficScope } from '../adapters/traffic-store';
import { CorruptAllowlistError, StoredApiKey } from '../adapters/items';
import { CompiledScopeList, compileScopeList, decideIpWithReport, DecisionLists } from '../core/decision';
import { AllowlistSettings, EMPTY_ALLOWLIST } from '../core/model';
import { PASSING_OUTCOMES, Sighting } from '../core/traffic';
import { AdminDependencies } from './context';

/**
 * What a change to one list would do to real callers: the evaluation shared by the impact preview
 * (`POST {list}/preview`) and the lockout guard of the writes.
 *
 * Both sides are decided NOW, by the authorizer's own decision function (`verdictOf` is the one call of it), on the
 * stored lists a caller's requests are decided on (its organization's, its project's and its key's own list):
 * "today" as they are stored, "draft" with the previewed list replaced by the draft. The sightings only say WHO
 * called (key and source address) and when; what they were told at the time (their recorded outcome) is not the
 * verdict, because the lists may have changed since. The guard alone also reads the recorded outcome: it protects
 * callers whose requests went through recently.
 *
 * A caller whose key is unknown or revoked, or one of whose lists is stored unreadable (the authorizer fails closed
 * on it), does not pass, today or under the draft, unless the draft replaces that list.
 */

/** What the authorizer would do with a request: let it through, let it through recorded as would_block, refuse it. */
export type Verdict = 'allowed' | 'would_block' | 'blocked';

export function passes(verdict: Verdict): boolean {
  return verdict !== 'blocked';
}

/**
 * THE evaluation of one caller's address, for the preview and the guard alike: the authorizer's decision with its
 * report-only shadow (core/decision.ts), on lists compiled as the authorizer compiles them (`decideIpWithReport` is
 * what the check tool's `decideIpWithReportFromSettings` runs after compiling). `undefined` lists: the caller cannot
 * pass whatever its address.
 */
export function verdictOf(lists: DecisionLists<CompiledScopeList> | undefined, ip: string): Verdict {
  if (lists === undefined) return 'blocked';
  const { decision, wouldBlock } = decideIpWithReport(lists, ip);
  if (!decision.allowed) return 'blocked';
  return wouldBlock === undefined ? 'allowed' : 'would_block';
}

/**
 * Compiles each stored list once for a whole assessment: an organization's list decides every caller of the
 * organization, and compiling it per caller made a 10,000-sighting preview take seconds.
 */
function listCompiler(now: number): (settings: AllowlistSettings) => CompiledScopeList {
  const compiled = new Map<AllowlistSettings, CompiledScopeList>();
  return (settings) => {
    let list = compiled.get(settings);
    if (!list) compiled.set(settings, (list = compileScopeList(settings, now)));
    return list;
  };
}

/** One key's requests from one address within the window, and what the authorizer would do with them. */
export interface KeyImpact {
  readonly projectId: string;
  readonly keyId: string;
  readonly today: Verdict;
  readonly draft: Verdict;
  /** The latest decision recorded for this key and address within the window (any outcome). */
  readonly lastSeen: string;
  /** Decisions recorded for this key and address, over every outcome last seen within the window. */
  readonly count: number;
  /** The latest decision recorded as passing (allowed or would_block) within the window; undefined if none. */
  readonly lastPassedAt?: string;
}

/** A key's requests from one address: the unit both sides are decided for. */
export interface ImpactRow extends KeyImpact {
  readonly ip: string;
}

/** One source address and the keys it was seen with. */
export interface AddressImpact {
  readonly ip: string;
  readonly lastSeen: string;
  readonly count: number;
  readonly keys: KeyImpact[];
}

export interface Impact {
  /** Passing today, blocked under the draft. */
  readonly wouldBlock: readonly AddressImpact[];
  /** Blocked today, passing under the draft. */
  readonly wouldPass: readonly AddressImpact[];
  /** Passing today and under the draft, but recorded as would_block under the draft (a report-only list would block). */
  readonly wouldReport: readonly AddressImpact[];
}

/** A list as a decision reads it; `unusable`: stored unreadable, so the authorizer fails closed on it. */
type Usable = AllowlistSettings | 'unusable';

interface SideLists {
  readonly today: Usable;
  readonly draft: Usable;
}

/** At most this many list reads at once: a large organization's preview should not burst its table. */
const READ_CONCURRENCY = 8;

/** The previewed list: where it is, and what it is today and under the draft (undefined today: stored unreadable). */
export interface DraftedList {
  readonly target: AllowlistTarget;
  readonly today: AllowlistSettings | undefined;
  readonly draft: AllowlistSettings;
  /** Key scope: the key whose list it is, as the caller already read it. */
  readonly key?: StoredApiKey;
}

/**
 * Every (key, address) of the sightings, decided today and under the draft. Reads the lists the decisions need:
 * the organization's, each project's and each key's (at most READ_CONCURRENCY at a time).
 *
 * @throws StoreUnavailableError when a list cannot be read
 */
export async function assessImpact(
  deps: AdminDependencies,
  drafted: DraftedList,
  sightings: readonly Sighting[],
  /** Epoch ms: the instant both sides are decided at (an entry expired by then matches nothing, as in the authorizer). */
  now: number,
): Promise<ImpactRow[]> {
  if (sightings.length === 0) return [];
  const { target } = drafted;
  const own: SideLists = { today: drafted.today ?? 'unusable', draft: drafted.draft };
  const org = target.organizationId;

  const rows = new Map<string, { ip: string; projectId: string; keyId: string; sightings: Sighting[] }>();
  for (const s of sightings) {
    const id = `${s.projectId}#${s.keyId}#${s.sourceIp}`;
    let row = rows.get(id);
    if (!row) rows.set(id, (row = { ip: s.sourceIp, projectId: s.projectId, keyId: s.keyId, sightings: [] }));
    row.sightings.push(s);
  }
  const projectIds = [...new Set([...rows.values()].map((r) => r.projectId))];
  const keyRefs = [...new Map([...rows.values()].map((r) => [`${r.projectId}#${r.keyId}`, r])).values()];

  const organization: SideLists =
    target.scope === 'organization' ? own : same(await scopeList(deps, { scope: 'organization', organizationId: org }));
  const projects = new Map<string, SideLists>(
    await mapLimit(projectIds, async (projectId) => {
      if (target.scope === 'project' && target.projectId === projectId) return [projectId, own] as const;
      return [projectId, same(await scopeList(deps, { scope: 'project', organizationId: org, projectId }))] as const;
    }),
  );
  const keys = new Map<string, SideLists | undefined>(
    await mapLimit(keyRefs, async ({ projectId, keyId }) => {
      const id = `${projectId}#${keyId}`;
      if (target.scope === 'key' && target.projectId === projectId && target.keyId === keyId) {
        return [id, drafted.key?.status === 'active' ? own : undefined] as const;
      }
      return [id, keyLists(await deps.store.findApiKey(org, projectId, keyId))] as const;
    }),
  );

  const compile = listCompiler(now);
  return [...rows.values()].map((row) => {
    const key = keys.get(`${row.projectId}#${row.keyId}`);
    const project = projects.get(row.projectId)!;
    const lists = (side: keyof SideLists): DecisionLists<CompiledScopeList> | undefined => {
      if (key === undefined) return undefined;
      const o = organization[side];
      const p = project[side];
      const k = key[side];
      if (o === 'unusable' || p === 'unusable' || k === 'unusable') return undefined;
      return { organization: compile(o), project: compile(p), key: compile(k) };
    };
    let lastSeen = '';
    let lastPassedAt: string | undefined;
    let count = 0;
    for (const s of row.sightings) {
      count += s.count;
      if (s.lastSeen > lastSeen) lastSeen = s.lastSeen;
      if (PASSING_OUTCOMES.includes(s.outcome) && (lastPassedAt === undefined || s.lastSeen > lastPassedAt))
        lastPassedAt = s.lastSeen;
    }
    return {
      projectId: row.projectId,
      keyId: row.keyId,
      ip: row.ip,
      today: verdictOf(lists('today'), row.ip),
      draft: verdictOf(lists('draft'), row.ip),
      lastSeen,
      count,
      ...(lastPassedAt === undefined ? {} : { lastPassedAt }),
    };
  });
}

/** The sets a preview answers, addresses newest first. */
export function classify(rows: readonly ImpactRow[]): Impact {
  return {
    wouldBlock: byAddress(rows.filter((r) => passes(r.today) && !passes(r.draft))),
    wouldPass: byAddress(rows.filter((r) => !passes(r.today) && passes(r.draft))),
    wouldReport: byAddress(rows.filter((r) => passes(r.today) && r.draft === 'would_block')),
  };
}

/**
 * What the lockout guard refuses: keys and addresses whose requests went through within the window (a sighting
 * recorded allowed or would_block), that pass now and would be blocked under the draft.
 */
export function lockedOut(rows: readonly ImpactRow[]): AddressImpact[] {
  return byAddress(rows.filter((r) => r.lastPassedAt !== undefined && passes(r.today) && !passes(r.draft)));
}

function byAddress(rows: readonly ImpactRow[]): AddressImpact[] {
  const addresses = new Map<string, KeyImpact[]>();
  for (const { ip, ...key } of rows) {
    const keys = addresses.get(ip);
    if (keys) keys.push(key);
    else addresses.set(ip, [key]);
  }
  const newestFirst = (a: { lastSeen: string }, b: { lastSeen: string }) =>
    a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0;
  return [...addresses.entries()]
    .map(([ip, keys]) => ({
      ip,
      lastSeen: keys.reduce((latest, k) => (k.lastSeen > latest ? k.lastSeen : latest), ''),
      count: keys.reduce((sum, k) => sum + k.count, 0),
      keys: [...keys].sort(newestFirst),
    }))
    .sort((a, b) => newestFirst(a, b) || (a.ip < b.ip ? -1 : 1));
}

/** The traffic of the list's scope: every caller whose requests the list can decide. */
export function trafficScopeOf(target: AllowlistTarget, since: number): TrafficScope {
  return {
    organizationId: target.organizationId,
    projectId: target.scope === 'organization' ? undefined : target.projectId,
    keyId: target.scope === 'key' ? target.keyId : undefined,
    since,
  };
}

function same(list: Usable): SideLists {
  return { today: list, draft: list };
}

async function scopeList(deps: AdminDependencies, target: AllowlistTarget & { scope: 'organization' | 'project' }) {
  try {
    return await deps.store.readScopeList(target);
  } catch (err) {
    if (err instanceof CorruptAllowlistError) return 'unusable' as const;
    throw err;
  }
}

/** A key's own list on both sides; undefined for a key that is unknown or revoked (rejected whatever the address). */
function keyLists(key: StoredApiKey | undefined): SideLists | undefined {
  if (!key || key.status !== 'active') return undefined;
  const list: Usable = key.corruptAllowlist ? 'unusable' : (key.allowlist ?? EMPTY_ALLOWLIST);
  return same(list);
}

async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const n = next++;
      results[n] = await fn(items[n]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, items.length) }, worker));
  return results;
}
