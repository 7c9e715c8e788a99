import { AllowlistTarget, AuditEvent, newEventId } from '../adapters/admin-store';
import { CorruptAllowlist, CorruptAllowlistError } from '../adapters/items';
import { AllowlistEntryError, normalizeAllowlistEntry, normalizeIpAddress } from '../core/allowlist';
import { decideIpFromSettings } from '../core/decision';
import { AllowlistSettings, ApiKeyRecord, EMPTY_ALLOWLIST } from '../core/model';
import {
  ChangeContext,
  EntryInput,
  ValidEntry,
  addEntries,
  refuseWholeFamily,
  removeEntry,
  replaceEntries,
  setEnabled,
  validateEntries,
} from './allowlist-ops';
import { AdminDependencies, AdminRequest, AdminResponse } from './context';
import {
  ADMIN_ERROR_TYPES,
  AdminError,
  allowlistCorrupt,
  apiKeyNotFound,
  apiKeyRevoked,
  badRequest,
  invalidType,
  missingParameter,
  versionMismatch,
} from './errors';
import { expectObject, optionalBoolean, requiredString } from './request';
import { AllowlistLocation, allowlistSnapshot, allowlistView } from './views';
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

/** The changed resource as recorded in the audit log. */
export function targetPath(target: AllowlistTarget): string {
  const org = `organizations/${target.organizationId}`;
  if (target.scope === 'organization') return `${org}/ip_allowlist`;
  if (target.scope === 'project') return `${org}/projects/${target.projectId}/ip_allowlist`;
  return `${org}/projects/${target.projectId}/api_keys/${target.keyId}/ip_allowlist`;
}

interface LoadedList {
  readonly settings: AllowlistSettings;
  /** The key whose list it is (key scope only). */
  readonly key?: ApiKeyRecord;
  /** Set when the stored list is unreadable; `settings` is then meaningless. */
  readonly corrupt?: CorruptAllowlist;
}

async function loadList(deps: AdminDependencies, target: AllowlistTarget): Promise<LoadedList> {
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

function corruptError(target: AllowlistTarget, corrupt: CorruptAllowlist): AdminError {
  return allowlistCorrupt(listName(target), corrupt.reason, corrupt.version);
}

function etag(version: number): string {
  return `"${version}"`;
}

function view(deps: AdminDependencies, target: AllowlistTarget, settings: AllowlistSettings) {
  // The worst case without a flush, as the OpenAPI document defines it: the figure an unflushed write reports too.
  const propagationDelaySeconds = worstCaseDelaySeconds(deps.config);
  return allowlistView(locationOf(target), settings, { maxEntries: deps.config.maxEntries, propagationDelaySeconds });
}

export async function getAllowlist(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  const target = targetOf(req);
  const { settings, corrupt } = await loadList(deps, target);
  if (corrupt) throw corruptError(target, corrupt);
  return { statusCode: 200, body: view(deps, target, settings), headers: { ETag: etag(settings.version) } };
}

/**
 * The shared write path of every allowlist change. `repair` is how the change applies to a list that is stored
 * but unreadable; a change without one is refused there (only a replacement of the whole list can repair it).
 */
async function writeAllowlist(
  deps: AdminDependencies,
  req: AdminRequest,
  action: string,
  change: Change,
  repair?: (corrupt: CorruptAllowlist, ctx: ChangeContext) => AllowlistSettings,
): Promise<AdminResponse> {
  const target = targetOf(req);
  let committedAt = 0;
  const written = await withConflictRetry(deps, async () => {
    const { settings: loaded, key, corrupt } = await loadList(deps, target);
    if (key && key.status !== 'active') throw apiKeyRevoked(key.keyId);
    if (corrupt && !repair) throw corruptError(target, corrupt);
    const currentVersion = corrupt ? corrupt.version : loaded.version;
    if (req.ifMatch !== undefined && req.ifMatch !== currentVersion) throw versionMismatch(req.ifMatch, currentVersion);
    const nowMs = clock(deps);
    const now = new Date(nowMs).toISOString();
    const ctx: ChangeContext = { actor: req.actor, now, maxEntries: deps.config.maxEntries };
    const next = corrupt ? repair!(corrupt, ctx) : change(loaded, ctx);
    const audit: AuditEvent = {
      organizationId: target.organizationId,
      eventId: newEventId(now),
      at: now,
      actor: req.actor,
      action,
      scope: target.scope,
      target: targetPath(target),
      // What was there, as far as it can be told: a corrupt list is recorded as such, with why.
      before: corrupt ? { corrupt: corrupt.reason, version: corrupt.version } : allowlistSnapshot(loaded),
      after: allowlistSnapshot(next),
      requestId: req.requestId,
    };
    if (target.scope === 'key') await deps.store.commitKeyList(key!, currentVersion, next, audit, corrupt);
    else await deps.store.commitScopeList(target, currentVersion, next, audit, corrupt);
    committedAt = clock(deps);
    return next;
  });
  const propagation = await propagate(deps, committedAt, req.deadlineMs);
  return {
    statusCode: 200,
    body: { ...view(deps, target, written), propagation },
    headers: { ETag: etag(written.version) },
  };
}

/** Entries as sent: `["10.0.0.0/8", {"value": "...", "description": "..."}]`. */
function entryInputs(value: unknown, param: string): EntryInput[] {
  if (!Array.isArray(value)) throw invalidType(param, 'an array of entries', value);
  return value.map((item, index) => {
    if (typeof item === 'string') return { value: item };
    const obj = expectObject(item, `${param}[${index}]`, ['value', 'description']);
    if (obj.value === undefined) throw missingParameter(`${param}[${index}].value`, 'the IP address or CIDR range');
    return { value: obj.value, description: obj.description };
  });
}

export async function replaceAllowlist(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  const body = expectObject(req.body, '', ['entries', 'enabled']);
  if (body.entries === undefined) throw missingParameter('entries', 'the complete new list; [] empties it');
  const entries = validateEntries(entryInputs(body.entries, 'entries'), 'entries');
  const enabled = optionalBoolean(body, 'enabled');
  return writeAllowlist(
    deps,
    req,
    'ip_allowlist.replace',
    (current, ctx) => replaceEntries(current, entries, enabled, ctx),
    (corrupt, ctx) => {
      // The replacement of an unreadable list keeps its flag only when that much could be read.
      const flag = enabled ?? corrupt.enabled;
      if (flag === undefined) {
        throw missingParameter(
          'enabled',
          `the stored list is corrupt (${corrupt.reason}), so whether it was enabled is unknown: say true or false`,
        );
      }
      return replaceEntries({ enabled: flag, entries: [], version: corrupt.version }, entries, flag, ctx);
    },
  );
}

export async function addAllowlistEntries(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  const body = expectObject(req.body, '', ['entries', 'value', 'description']);
  let entries: ValidEntry[];
  let paramPrefix: string;
  if (body.entries !== undefined) {
    if (body.value !== undefined || body.description !== undefined) {
      throw badRequest(
        'conflicting_parameters',
        'Send either "entries" (an array) or one "value" with an optional "description", not both.',
      );
    }
    const inputs = entryInputs(body.entries, 'entries');
    if (inputs.length === 0)
      throw badRequest('invalid_value', '"entries" is empty: add at least one entry.', 'entries');
    paramPrefix = 'entries';
    entries = validateEntries(inputs, paramPrefix);
  } else {
    if (body.value === undefined)
      throw missingParameter('value', 'the IP address or CIDR range to add (or "entries" for many)');
    paramPrefix = '';
    entries = validateEntries([{ value: body.value, description: body.description }], paramPrefix);
  }
  return writeAllowlist(deps, req, 'ip_allowlist.entries.add', (current, ctx) =>
    addEntries(current, entries, ctx, paramPrefix),
  );
}

/** The core parser's canonical form of `text`; its message, as a 400 with `code`, when it refuses the text. */
function normalizedOr400(normalize: (text: string) => string, text: string, code: string, param: string): string {
  try {
    return normalize(text);
  } catch (err) {
    if (!(err instanceof AllowlistEntryError)) throw err;
    throw badRequest(code, err.message, param);
  }
}

/** DELETE by path (`/entries/{value}`, value URL-encoded) or by query (`/entries?value=...`). */
export async function deleteAllowlistEntry(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  const raw = req.params.value ?? req.query.value;
  if (raw === undefined) throw missingParameter('value', 'the entry to remove, in any form that normalizes to it');
  const value = normalizedOr400(normalizeAllowlistEntry, raw, 'invalid_ip_allowlist_entry', 'value');
  return writeAllowlist(deps, req, 'ip_allowlist.entry.delete', (current, ctx) => removeEntry(current, value, ctx));
}

export async function enableAllowlist(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  return writeAllowlist(deps, req, 'ip_allowlist.enable', (current, ctx) => setEnabled(current, true, ctx));
}

export async function disableAllowlist(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  return writeAllowlist(deps, req, 'ip_allowlist.disable', (current, ctx) => setEnabled(current, false, ctx));
}

/**
 * The check tool: would the authorizer let `ip` through? It runs the authorizer's own decision function
 * (core/decision.ts) on the stored lists, so it cannot disagree with the authorizer. With `entries`, that draft
 * replaces this scope's list, as if it were saved and enabled.
 */
export async function checkIp(deps: AdminDependencies, req: AdminRequest): Promise<AdminResponse> {
  const body = expectObject(req.body, '', ['ip', 'entries']);
  const ip = normalizedOr400(
    normalizeIpAddress,
    requiredString(body, 'ip', 'the IP address to check'),
    'invalid_ip_address',
    'ip',
  );
  let draft: AllowlistSettings | undefined;
  if (body.entries !== undefined) {
    const entries = validateEntries(entryInputs(body.entries, 'entries'), 'entries');
    // A draft that could never be saved is answered as saving it would be.
    refuseWholeFamily(entries);
    draft = {
      enabled: true,
      entries: entries.map((e) => ({ value: e.value, description: e.description, createdAt: '', createdBy: '' })),
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
    throw new AdminError(
      409,
      'api_key_revoked',
      `API key ${keyList.key.keyId} is revoked: the authorizer rejects it whatever the IP.`,
      'keyId',
      ADMIN_ERROR_TYPES.conflict,
    );
  }
  if (keyList?.corrupt && !draft) throw corruptError(target, keyList.corrupt);

  const lists = {
    organization: target.scope === 'organization' && draft ? draft : organization,
    project: target.scope === 'project' && draft ? draft : project,
    key: target.scope === 'key' ? (draft ?? keyList!.settings) : undefined,
  };
  const own =
    target.scope === 'organization' ? lists.organization : target.scope === 'project' ? lists.project : lists.key!;
  const decision = decideIpFromSettings(lists, ip);
  const body200: Record<string, unknown> = {
    object: 'ip_allowlist_check',
    allowed: decision.allowed,
    ip,
    scope: decision.scope,
    matchedEntry: decision.allowed ? (decision.matchedEntry ?? null) : null,
    enabled: own.enabled,
    draft: draft !== undefined,
  };
  if (target.scope === 'key') body200.keyMatchedEntry = decision.allowed ? (decision.keyMatchedEntry ?? null) : null;
  return { statusCode: 200, body: body200 };
}
