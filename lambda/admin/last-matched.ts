import type { AllowlistTarget } from '../adapters/admin-store';
import { StoreUnavailableError } from '../adapters/admin-store';
import type { MatchedEntries } from '../core/traffic';
import type { WarningView } from './contract/schemas';
import { AdminDependencies } from './context';
import { trafficRetentionMs } from './traffic-handlers';
import { clock } from './writes';

/**
 * `lastMatchedAt` of a list's entries: the latest `lastSeen` of the sightings, within the traffic retention, whose
 * matched entry for the list's scope is the entry. The list is what a GET is for, so the traffic never stands in
 * its way: when it cannot be read (no Traffic table, a failed read) every time is null and a warning says why, and
 * when only part of it could be read a warning says the times may be too old or missing.
 */

export interface LastMatched {
  /** Entry value -> ISO time. */
  readonly times: ReadonlyMap<string, string>;
  readonly warnings: readonly WarningView[];
}

const MATCHED_BY_SCOPE: Readonly<Record<AllowlistTarget['scope'], keyof MatchedEntries>> = {
  organization: 'organization',
  project: 'project',
  key: 'key',
};

/**
 * `deadlineMs` (on the deps clock): when the answer must be on its way; a traffic read still running then is
 * given up (it goes on in the background, its result unused) and the list is answered with a warning.
 */
export async function lastMatched(
  deps: AdminDependencies,
  target: AllowlistTarget,
  deadlineMs?: number,
): Promise<LastMatched> {
  if (!deps.traffic) {
    return {
      times: new Map(),
      warnings: [
        {
          code: 'traffic_not_recorded',
          message:
            'This deployment records no traffic (its tables have no Traffic table), so lastMatchedAt is null for every entry: it does not mean the entries are unused.',
        },
      ],
    };
  }
  const now = clock(deps);
  const reading = deps.traffic.readScope(
    {
      organizationId: target.organizationId,
      projectId: target.scope === 'organization' ? undefined : target.projectId,
      keyId: target.scope === 'key' ? target.keyId : undefined,
      since: now - trafficRetentionMs(deps),
    },
    now,
  );
  let read: Awaited<typeof reading> | 'late';
  let timer: NodeJS.Timeout | undefined;
  try {
    read = await (deadlineMs === undefined
      ? reading
      : Promise.race([
          reading,
          new Promise<'late'>((resolve) => {
            timer = setTimeout(() => resolve('late'), Math.max(0, deadlineMs - now));
          }),
        ]));
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    deps.logger.warn('traffic unreadable for lastMatchedAt', {
      organizationId: target.organizationId,
      error: err.message,
    });
    return unavailable('could not be read');
  } finally {
    clearTimeout(timer);
  }
  if (read === 'late') {
    // Its rejection, if it comes, has no one left to hear it.
    reading.catch(() => undefined);
    deps.logger.warn('traffic read too slow for lastMatchedAt', { organizationId: target.organizationId });
    return unavailable('could not be read in time');
  }
  const field = MATCHED_BY_SCOPE[target.scope];
  const times = new Map<string, string>();
  for (const s of read.sightings) {
    const entry = s.matched[field];
    if (entry === undefined) continue;
    const seen = times.get(entry);
    if (seen === undefined || Date.parse(s.lastSeen) > Date.parse(seen)) times.set(entry, s.lastSeen);
  }
  const gaps: string[] = [];
  if (read.truncated) gaps.push(`only the first ${read.sightings.length} sightings of this scope were read`);
  if (read.unreadable > 0) gaps.push(`${read.unreadable} traffic item(s) could not be read`);
  const warnings: WarningView[] =
    gaps.length === 0
      ? []
      : [
          {
            code: 'traffic_incomplete',
            message: `lastMatchedAt may be missing or too old for some entries: ${gaps.join(' and ')}.`,
          },
        ];
  return { times, warnings };
}

function unavailable(why: string): LastMatched {
  return {
    times: new Map(),
    warnings: [
      {
        code: 'traffic_unavailable',
        message: `The traffic ${why} for this answer, so lastMatchedAt is null for every entry: it does not mean the entries are unused. Retry to see them.`,
      },
    ],
  };
}
