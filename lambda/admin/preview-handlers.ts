import { StoreUnavailableError } from '../adapters/admin-store';
import { allowlistMode, AllowlistSettings, modeFlags } from '../core/model';
import { DEFAULT_TRAFFIC_RETENTION_DAYS } from '../../lib/contract';
import { corruptError, loadList, targetOf } from './allowlist-handlers';
import { draftEntries, refuseWholeFamily } from './allowlist-ops';
import { liveEntries } from '../core/expiry';
import { DEFAULT_PREVIEW_DAYS } from './contract/schemas';
import { AdminDependencies, AdminRequest, AdminResponse } from './context';
import {
  apiKeyRevokedForCheck,
  daysOutOfRange,
  emptyAllowlist,
  trafficNotRecorded,
  trafficUnavailable,
} from './errors';
import { assessImpact, classify, trafficScopeOf } from './impact';
import { clock } from './writes';

/**
 * The impact preview: which of the callers seen in the last `days` a draft of this list would block, and which it
 * would let through, decided now exactly as the lockout guard decides a write (impact.ts). Reads only.
 */

const DAY_MS = 86_400_000;

/** The longest window a preview may ask for: the whole days the deployment keeps a sighting (at least 1). */
export function retentionDays(deps: AdminDependencies): number {
  const seconds = deps.config.trafficRetentionSeconds ?? DEFAULT_TRAFFIC_RETENTION_DAYS * 86_400;
  return Math.max(1, Math.floor(seconds / 86_400));
}

export async function previewAllowlist(
  deps: AdminDependencies,
  req: AdminRequest<'previewAllowlist'>,
): Promise<AdminResponse> {
  const { entries, mode, days = DEFAULT_PREVIEW_DAYS } = req.input.body;
  const maxDays = retentionDays(deps);
  if (days > maxDays) throw daysOutOfRange(days, maxDays);
  // A draft that could never be saved is answered as saving it would be (as the check tool does).
  if (entries !== undefined) refuseWholeFamily(entries);

  const target = targetOf(req);
  const loaded = await loadList(deps, target);
  if (loaded.key && loaded.key.status !== 'active') throw apiKeyRevokedForCheck(loaded.key.keyId);
  // An unreadable stored list can be previewed only against a whole draft: it has no entries or mode to default to.
  if (loaded.corrupt && (entries === undefined || mode === undefined)) throw corruptError(target, loaded.corrupt);
  if (!deps.traffic) throw trafficNotRecorded();

  const stored = loaded.corrupt ? undefined : loaded.settings;
  // One instant for the draft's expiries and both sides' decisions, as in the check tool.
  const now = clock(deps);
  const draft: AllowlistSettings = {
    ...modeFlags(mode ?? allowlistMode(stored!)),
    entries: entries === undefined ? stored!.entries : draftEntries(entries, now),
    version: 0,
  };
  // An enforced draft with no live entry could not be saved (400 empty_allowlist on the write): answered the same.
  if (draft.enabled && liveEntries(draft.entries, now).length === 0) {
    if (draft.entries.length > 0) throw emptyAllowlist('enable an allowlist whose entries have all expired');
    throw emptyAllowlist(
      mode === undefined && entries !== undefined
        ? 'remove every entry of an enabled allowlist'
        : 'enable an allowlist with no entries',
    );
  }
  const since = now - days * DAY_MS;
  let read;
  try {
    read = await deps.traffic.readScope(trafficScopeOf(target, since), now, deps.config.trafficReadMaxItems);
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw trafficUnavailable();
    throw err;
  }
  const rows = await assessImpact(deps, { target, today: stored, draft, key: loaded.key }, read.sightings, now);
  return {
    statusCode: 200,
    body: {
      object: 'ip_allowlist_preview',
      scope: target.scope,
      organizationId: target.organizationId,
      projectId: target.scope === 'organization' ? null : target.projectId,
      apiKeyId: target.scope === 'key' ? target.keyId : null,
      draft: {
        mode: allowlistMode(draft),
        entryCount: draft.entries.length,
        stored: entries === undefined && mode === undefined,
      },
      window: { days, since: new Date(since).toISOString(), until: new Date(now).toISOString() },
      sightingsRead: read.sightings.length,
      unreadable: read.unreadable,
      truncated: read.truncated,
      ...classify(rows),
    },
  };
}
