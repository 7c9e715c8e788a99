import { AllowlistTarget, StoreUnavailableError } from '../adapters/admin-store';
import { DEFAULT_MAX_SCOPE_ITEMS, ScopeSightings } from '../adapters/traffic-store';
import { CorruptAllowlist, CorruptAllowlistError } from '../adapters/items';
import { normalizeAllowlistEntry } from '../core/allowlist';
import { decideIpWithReportFromSettings } from '../core/decision';
import { allowlistMode, AllowlistSettings, ApiKeyRecord, EMPTY_ALLOWLIST, modeFlags } from '../core/model';
import {
  ChangeContext,
  addEntries,
  draftEntries,
  normalizedOr400,
  refuseWholeFamily,
  removeEntry,
  replaceEntries,
  setMode,
} from './allowlist-ops';
import { auditEvent } from './audit';
import { ResourceRef, resourcePath } from './contract/paths';
import { AuditAction, WarningView } from './contract/schemas';
import { AdminDependencies, AdminRequest, AdminResponse } from './context';
import {
  AdminError,
  allowlistCorrupt,
  apiKeyNotFound,
  apiKeyRevoked,
  apiKeyRevokedForCheck,
  lockoutGuardIncomplete,
  missingParameter,
  trafficUnavailable,
  versionMismatch,
  wouldBlockRecentTraffic,
} from './errors';
import { assessImpact, lockedOut, trafficScopeOf } from './impact';
import { lastMatched } from './last-matched';
import type { RouteDefinition } from './routes';
import { AllowlistLocation, allowlistSnapshot, allowlistView, listedAllowlistView } from './views';
import { clock, propagate, withConflictRetry, worstCaseDelaySeconds } from './writes';

/**
 * The allowlist routes, identical for the three scopes (organization, project, API key). Each write reads the
 * current list, applies a pure change from allowlist-ops.ts and commits it conditioned on the version it read,
 * with its audit record, in one transaction; a lost race re-runs the whole read-change-commit.
 */

type Change = (current: AllowlistSettings, ctx: ChangeContext) => AllowlistSettings;

export function targetOf(req: AdminRequest): AllowlistTarget {
  const { org, project, keyId } = req.params;
  if (keyId !== undefined) return { scope: 'key', organizationId: org!, projectId: project!, keyId };
  if (project !== undefined) return { scope: 'project', organizationId: org!, projectId: project };
  return { scope: 'organization', organizationId: org! };
}

function locationOf(target: AllowlistTarget): AllowlistLocation {
  return {
    scope: target.scope,
    organizationId: target.organizationId,
    projectId: target.scope === 'organization' ? undefined : target.projectId,
    apiKeyId: target.scope === 'key' ? target.keyId : undefined,
  };
}

/** The list as a resource of the API's tree (its audit target and URL path). */
function resourceOf(target: AllowlistTarget): ResourceRef {
  if (target.scope === 'organization') return { org: target.organizationId };
  if (target.scope === 'project') return { org: target.organizationId, project: target.projectId };
  return { org: target.organizationId, project: target.projectId, keyId: target.keyId };
}

export interface LoadedList {
  readonly settings: AllowlistSettings;
  /** The key whose list it is (key scope only). */
  readonly key?: ApiKeyRecord;
  /** Set when the stored list is unreadable; `settings` is then meaningless. */
  readonly corrupt?: CorruptAllowlist;
}

export async function loadList(deps: AdminDependencies, target: AllowlistTarget): Promise<LoadedList> {
  if (target.scope !== 'key') {
    let settings: AllowlistSettings;
    try {
      settings = await deps.store.readScopeList(target);
    } catch (err) {
      if (err instanceof CorruptAllowlistError) return { settings: EMPTY_ALLOWLIST, corrupt: err.corrupt };
      throw err;
    }
    return { settings };
  }
  const key = await deps.store.findApiKey(target.organizationId, target.projectId, target.keyId);
  if (!key) throw apiKeyNotFound(target.keyId);
  if (key.corruptAllowlist) return { settings: EMPTY_ALLOWLIST, key, corrupt: key.corruptAllowlist };
  return { settings: key.allowlist ?? EMPTY_ALLOWLIST, key };
}

/** How the error names a list: `of organization acme`, `of API key key_x (acme/web)`. */
function listName(target: AllowlistTarget): string {
  if (target.scope === 'organization') return `of organization ${target.organizationId}`;
  if (target.scope === 'project') return `of project ${target.organizationId}/${target.projectId}`;
  return `of API key ${target.keyId} (${target.organizationId}/${target.projectId})`;
}

export function corruptError(target: AllowlistTarget, corrupt: CorruptAllowlist): AdminError {
  return allowlistCorrupt(listName(target), corrupt.reason, corrupt.version);
}

function etag(version: number): string {
  return `"${version}"`;
}

function view(deps: AdminDependencies, target: AllowlistTarget, settings: AllowlistSettings) {
  // The worst case without a flush, as the OpenAPI document defines it: the figure an unflushed write reports too.
  const propagationDelaySeconds = worstCaseDelaySeconds(deps.config);
  return allowlistView(
    locationOf(target),
    settings,
    { maxEntries: deps.config.maxEntries, propagationDelaySeconds },
    clock(deps),
  );
}

export async function getAllowlist(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  const target = targetOf(req);
  // Side by side: the traffic read never fails (it answers warnings instead), and waits for nothing of the list.
  const [{ settings, corrupt }, matched] = await Promise.all([
    loadList(deps, target),
    lastMatched(deps, target, req.deadlineMs),
  ]);
  if (corrupt) throw corruptError(target, corrupt);
  return {
    statusCode: 200,
    body: listedAllowlistView(view(deps, target, settings), matched.times, matched.warnings),
    headers: { ETag: etag(settings.version) },
  };
}

/** How far back the lockout guard looks for callers a change would cut off. */
export const LOCKOUT_WINDOW_MS = 24 * 3600 * 1000;

/** How a route says force: in its body, or (routes without one) in the query. */
function forceHint(route: RouteDefinition): string {
  return route.body ? '"force": true' : '?force=true';
}

/**
 * Whether a change can block a caller who passes today, so the lockout guard must look. An enforced list can. A list
 * left not enforced narrows nothing, except a project's: its callers fall to the organization's list, which then
 * decides them (an organization's or key's list turned off or report-only can never block anyone, so turning one off
 * in an emergency never waits on, or fails on, a traffic read).
 */
async function canBlock(deps: AdminDependencies, target: AllowlistTarget, next: AllowlistSettings): Promise<boolean> {
  if (next.enabled) return true;
  if (target.scope !== 'project') return false;
  try {
    return (await deps.store.readScopeList({ scope: 'organization', organizationId: target.organizationId })).enabled;
  } catch (err) {
    // The authorizer fails closed on an unreadable organization list: nobody of the organization passes today.
    if (err instanceof CorruptAllowlistError) return false;
    throw err;
  }
}

/**
 * The lockout guard: a change must not block source addresses whose requests went through in the last 24 hours and
 * that still pass now (impact.ts decides, as the preview does). Reads only those 24 hours' passing traffic, newest
 * first, once per write (`read` keeps it across conflict retries); the lists are those the attempt read. Throws 409
 * listing the addresses, 409 lockout_guard_incomplete when the read was capped before it saw every recent caller
 * (a partial check is no check), or 503 when the traffic cannot be read. So the `count` and `lastSeen` of the
 * addresses a refusal lists are those of the requests that went through in the 24 hours.
 */
async function lockoutGuard(
  deps: AdminDependencies,
  req: AdminRequest,
  drafted: Parameters<typeof assessImpact>[1],
  nowMs: number,
  read: { recent?: ScopeSightings },
): Promise<WarningView[]> {
  if (!deps.traffic) {
    return [
      {
        code: 'lockout_guard_unavailable',
        message:
          'This deployment records no traffic, so the lockout guard could not check whether this change blocks callers. Check addresses with POST .../ip_allowlist/check.',
      },
    ];
  }
  const { target } = drafted;
  const maxItems = deps.config.trafficReadMaxItems ?? DEFAULT_MAX_SCOPE_ITEMS;
  if (!read.recent) {
    try {
      read.recent = await deps.traffic.readRecentPassing(
        trafficScopeOf(target, nowMs - LOCKOUT_WINDOW_MS),
        nowMs,
        maxItems,
      );
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw trafficUnavailable(forceHint(req.route));
      throw err;
    }
  }
  const { sightings, truncated } = read.recent;
  const cut = lockedOut(await assessImpact(deps, drafted, sightings, nowMs));
  if (cut.length > 0) {
    // A list left enforced blocks them itself; a project list turned off hands them to the organization's list.
    const addTo = drafted.draft.enabled ? 'this list' : "the organization's list";
    throw wouldBlockRecentTraffic({ wouldBlock: cut, truncated }, forceHint(req.route), addTo);
  }
  if (truncated) throw lockoutGuardIncomplete(maxItems, forceHint(req.route));
  return [];
}

/**
 * The shared write path of every allowlist change. `repair` is how the change applies to a list that is stored
 * but unreadable; a change without one is refused there (only a replacement of the whole list can repair it).
 * A change that can block someone who passes today passes the lockout guard first, unless `force`.
 */
async function writeAllowlist(
  deps: AdminDependencies,
  req: AdminRequest,
  action: AuditAction,
  change: Change,
  repair?: (corrupt: CorruptAllowlist, ctx: ChangeContext) => AllowlistSettings,
  force = false,
): Promise<AdminResponse> {
  const target = targetOf(req);
  let committedAt = 0;
  let warnings: WarningView[] = [];
  const read = {};
  const written = await withConflictRetry(deps, async () => {
    const { settings: loaded, key, corrupt } = await loadList(deps, target);
    if (key && key.status !== 'active') throw apiKeyRevoked(key.keyId);
    if (corrupt && !repair) throw corruptError(target, corrupt);
    const currentVersion = corrupt ? corrupt.version : loaded.version;
    if (req.ifMatch !== undefined && req.ifMatch !== currentVersion) throw versionMismatch(req.ifMatch, currentVersion);
    const nowMs = clock(deps);
    const now = new Date(nowMs).toISOString();
    const ctx: ChangeContext = { actor: req.actor, now, nowMs, maxEntries: deps.config.maxEntries };
    const next = corrupt ? repair!(corrupt, ctx) : change(loaded, ctx);
    if (!force && (await canBlock(deps, target, next))) {
      const drafted = { target, today: corrupt ? undefined : loaded, draft: next, key };
      warnings = await lockoutGuard(deps, req, drafted, nowMs, read);
    }
    const audit = auditEvent(req, now, {
      organizationId: target.organizationId,
      action,
      scope: target.scope,
      target: resourcePath(resourceOf(target), 'ip_allowlist'),
      // What was there, as far as it can be told: a corrupt list is recorded as such, with why.
      before: corrupt ? { corrupt: corrupt.reason, version: corrupt.version } : allowlistSnapshot(loaded),
      // `force`: the request skipped the lockout guard, which the record says beside the list it left.
      after: force ? { ...allowlistSnapshot(next), force: true } : allowlistSnapshot(next),
    });
    if (target.scope === 'key') await deps.store.commitKeyList(key!, currentVersion, next, audit, corrupt);
    else await deps.store.commitScopeList(target, currentVersion, next, audit, corrupt);
    committedAt = clock(deps);
    return next;
  });
  const propagation = await propagate(deps, committedAt, req.deadlineMs);
  const answer = view(deps, target, written);
  return {
    statusCode: 200,
    // The list's own warnings (as of the answer), then what the change met on its way.
    body: { ...answer, warnings: [...answer.warnings, ...warnings], propagation },
    headers: { ETag: etag(written.version) },
  };
}

export async function replaceAllowlist(
  deps: AdminDependencies,
  req: AdminRequest<'replaceAllowlist'>,
): Promise<AdminResponse> {
  const { entries, mode, force } = req.input.body;
  return writeAllowlist(
    deps,
    req,
    'ip_allowlist.replace',
    (current, ctx) => replaceEntries(current, entries, mode, ctx),
    (corrupt, ctx) => {
      // The replacement of an unreadable list keeps its mode only when that much could be read.
      const flag = corrupt.enabled;
      const kept =
        mode ?? (flag === undefined ? undefined : allowlistMode({ enabled: flag, reportOnly: corrupt.reportOnly }));
      if (kept === undefined) {
        throw missingParameter(
          'enabled',
          `the stored list is corrupt (${corrupt.reason}), so whether it was enabled is unknown: say true or false`,
        );
      }
      return replaceEntries({ ...modeFlags(kept), entries: [], version: corrupt.version }, entries, kept, ctx);
    },
    force,
  );
}

export async function addAllowlistEntries(
  deps: AdminDependencies,
  req: AdminRequest<'addAllowlistEntries'>,
): Promise<AdminResponse> {
  const { entries, paramPrefix, force } = req.input.body;
  return writeAllowlist(
    deps,
    req,
    'ip_allowlist.entries.add',
    (current, ctx) => addEntries(current, entries, ctx, paramPrefix),
    undefined,
    force,
  );
}

function removeAllowlistEntry(
  deps: AdminDependencies,
  req: AdminRequest,
  raw: string,
  force = false,
): Promise<AdminResponse> {
  const value = normalizedOr400(normalizeAllowlistEntry, raw, 'invalid_ip_allowlist_entry', 'value');
  return writeAllowlist(
    deps,
    req,
    'ip_allowlist.entry.delete',
    (current, ctx) => removeEntry(current, value, ctx),
    undefined,
    force,
  );
}

/** DELETE by path (`/entries/{value}`, value URL-encoded): the router only matches it with a value. */
export async function deleteAllowlistEntry(
  deps: AdminDependencies,
  req: AdminRequest<'deleteAllowlistEntry'>,
): Promise<AdminResponse> {
  return removeAllowlistEntry(deps, req, req.params.value ?? '', req.input.query.force);
}

/** DELETE by query (`/entries?value=...`). */
export async function deleteAllowlistEntryByQuery(
  deps: AdminDependencies,
  req: AdminRequest<'deleteAllowlistEntryByQuery'>,
): Promise<AdminResponse> {
  return removeAllowlistEntry(deps, req, req.input.query.value, req.input.query.force);
}

export async function enableAllowlist(
  deps: AdminDependencies,
  req: AdminRequest<'enableAllowlist'>,
): Promise<AdminResponse> {
  const mode = req.input.body.mode ?? 'enforce';
  return writeAllowlist(
    deps,
    req,
    'ip_allowlist.enable',
    (current, ctx) => setMode(current, mode, ctx),
    undefined,
    req.input.body.force === true,
  );
}

export async function disableAllowlist(
  deps: AdminDependencies,
  req: AdminRequest<'disableAllowlist'>,
): Promise<AdminResponse> {
  return writeAllowlist(
    deps,
    req,
    'ip_allowlist.disable',
    (current, ctx) => setMode(current, 'off', ctx),
    undefined,
    req.input.query.force === true,
  );
}

/**
 * The check tool: would the authorizer let `ip` through? It runs the authorizer's own decision function
 * (core/decision.ts) on the stored lists, so it cannot disagree with the authorizer. With `entries`, that draft
 * replaces this scope's list, as if it were saved and enabled.
 */
export async function checkIp(deps: AdminDependencies, req: AdminRequest<'checkIp'>): Promise<AdminResponse> {
  const { ip, entries } = req.input.body;
  // One instant for the draft's expiries and the decision: the authorizer deciding then would answer the same.
  const now = clock(deps);
  let draft: AllowlistSettings | undefined;
  if (entries !== undefined) {
    // A draft that could never be saved is answered as saving it would be.
    refuseWholeFamily(entries);
    draft = {
      enabled: true,
      entries: draftEntries(entries, now),
      version: 0,
    };
  }

  const target = targetOf(req);
  const org = target.organizationId;
  const orgTarget: AllowlistTarget = { scope: 'organization', organizationId: org };
  const projectTarget: AllowlistTarget | undefined =
    target.scope === 'organization'
      ? undefined
      : { scope: 'project', organizationId: org, projectId: target.projectId };
  // Every list the authorizer would read: a corrupt one makes it fail closed, so the check says so, naming it.
  // A draft stands in for its own scope's stored list, which then decides nothing, corrupt or not.
  const readable = async (t: AllowlistTarget): Promise<LoadedList> => {
    const loaded = await loadList(deps, t);
    if (loaded.corrupt && !(draft && t.scope === target.scope)) throw corruptError(t, loaded.corrupt);
    return loaded;
  };
  const [organizationLoad, projectLoad, keyList] = await Promise.all([
    readable(orgTarget),
    projectTarget ? readable(projectTarget) : Promise.resolve({ settings: EMPTY_ALLOWLIST }),
    target.scope === 'key' ? loadList(deps, target) : Promise.resolve(undefined),
  ]);
  const organization = organizationLoad.settings;
  const project = projectLoad.settings;
  if (keyList?.key && keyList.key.status !== 'active') {
    throw apiKeyRevokedForCheck(keyList.key.keyId);
  }
  if (keyList?.corrupt && !draft) throw corruptError(target, keyList.corrupt);

  const lists = {
    organization: target.scope === 'organization' && draft ? draft : organization,
    project: target.scope === 'project' && draft ? draft : project,
    key: target.scope === 'key' ? (draft ?? keyList!.settings) : undefined,
  };
  const own =
    target.scope === 'organization' ? lists.organization : target.scope === 'project' ? lists.project : lists.key!;
  const { decision, wouldBlock } = decideIpWithReportFromSettings(lists, ip, now);
  const body200: Record<string, unknown> = {
    object: 'ip_allowlist_check',
    allowed: decision.allowed,
    ip,
    scope: decision.scope,
    matchedEntry: decision.allowed ? (decision.matchedEntry ?? null) : null,
    enabled: own.enabled,
    mode: allowlistMode(own),
    wouldBlock: wouldBlock === undefined ? null : { scope: wouldBlock.scope },
    draft: draft !== undefined,
  };
  if (target.scope === 'key') body200.keyMatchedEntry = decision.allowed ? (decision.keyMatchedEntry ?? null) : null;
  return { statusCode: 200, body: body200 };
}
