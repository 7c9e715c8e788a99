import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { AllowlistEntryError, normalizeAllowlistEntry } from '../core/allowlist';
import { parseStoredExpiresAt } from '../core/expiry';
import {
  ALLOWLIST_MODES,
  AllowlistEntry,
  allowlistMode,
  AllowlistSettings,
  ApiKeyRecord,
  EMPTY_ALLOWLIST,
} from '../core/model';

/**
 * DynamoDB item <-> core record mapping, shared by the authorizer (reads) and the admin API (writes), so both
 * sides agree on one item shape (documented in schema.ts). Hand-written because the items are small and fixed,
 * and the authorizer bundle then needs nothing beyond the client that the Lambda runtime provides.
 */

export type Item = Record<string, AttributeValue>;

export class CorruptItemError extends Error {
  constructor(what: string, item: unknown) {
    super(`corrupt DynamoDB item: ${what} (${JSON.stringify(item)?.slice(0, 200)})`);
    this.name = 'CorruptItemError';
  }
}

/**
 * What a write must find unchanged to replace exactly the stored list it read, whatever state that list is in:
 * - `version`: the list's version attribute is a number (`raw` as stored); every readable list is in this state;
 * - `noVersion`: the list is there but has no version attribute;
 * - `versionType`: the version attribute is there but is not a number (`type`: its DynamoDB type, e.g. `S`);
 * - `containerType`: a key's `allowlist` attribute is not a map at all (`type`: `NULL`, `S`, `L`, ...).
 * A corrupt list cannot be written over with the usual `version = :expected` or `attribute_not_exists`
 * conditions (they never hold on it), and must not be written over blindly either (two repairs would race).
 */
export type StoredListGuard =
  | { readonly kind: 'version'; readonly raw: string }
  | { readonly kind: 'noVersion' }
  | { readonly kind: 'versionType'; readonly type: string }
  | { readonly kind: 'containerType'; readonly type: string };

/** A stored list that cannot be read as one. Nothing may be decided on it; an admin may replace it whole. */
export interface CorruptAllowlist {
  /** What is wrong, e.g. `allowlist is NULL, not a map`. */
  readonly reason: string;
  /** The version it claims when that is a whole number, else 0: what an If-Match is compared with. */
  readonly version: number;
  /** Its `enabled` flag when that is still a boolean: what a replacement that does not say keeps. */
  readonly enabled?: boolean;
  /** True when its `mode` still reads `report_only`. */
  readonly reportOnly?: boolean;
  readonly guard: StoredListGuard;
}

/** An allowlist (organization, project or key list) that is there but unreadable. */
export class CorruptAllowlistError extends CorruptItemError {
  public readonly corrupt: CorruptAllowlist;
  /** For a key's list: the key itself, which is readable (without its list). */
  public readonly key?: ApiKeyRecord;

  constructor(corrupt: CorruptAllowlist, item: unknown, key?: ApiKeyRecord) {
    super(corrupt.reason, item);
    this.name = 'CorruptAllowlistError';
    this.corrupt = corrupt;
    this.key = key;
  }
}

/** `NULL`, `S`, `L`, ...: the DynamoDB type of an attribute value. */
function typeOf(v: AttributeValue): string {
  return Object.entries(v as object).find(([k, x]) => x !== undefined && k !== '$unknown')?.[0] ?? 'unknown';
}

function corruptList(container: Item, reason: string): CorruptAllowlist {
  const v = container.version;
  let guard: StoredListGuard;
  if (v === undefined) guard = { kind: 'noVersion' };
  else if (v.N !== undefined) guard = { kind: 'version', raw: v.N };
  else guard = { kind: 'versionType', type: typeOf(v) };
  const claimed = v?.N === undefined ? NaN : Number(v.N);
  return {
    reason,
    version: Number.isInteger(claimed) && claimed >= 0 ? claimed : 0,
    enabled: container.enabled?.BOOL,
    ...(container.mode?.S === 'report_only' && container.enabled?.BOOL === false ? { reportOnly: true } : {}),
    guard,
  };
}

function str(item: Item, name: string, required = true): string | undefined {
  const v = item[name];
  if (v === undefined) {
    if (required) throw new CorruptItemError(`missing string ${name}`, item);
    return undefined;
  }
  if (v.S === undefined) throw new CorruptItemError(`${name} is not a string`, item);
  return v.S;
}

export function allowlistToAttributes(settings: AllowlistSettings): Item {
  const item: Item = {
    // `enabled` stays what it always meant (enforced), so a reader that predates `mode` treats a report-only list
    // as off: during a rolling deploy it never blocks what it should only report.
    enabled: { BOOL: settings.enabled },
    mode: { S: allowlistMode(settings) },
    entries: {
      L: settings.entries.map((e) => ({
        M: {
          value: { S: e.value },
          description: { S: e.description },
          createdAt: { S: e.createdAt },
          createdBy: { S: e.createdBy },
          // Only when set: an entry that never expires is stored as before expiry existed.
          ...(e.expiresAt === undefined ? {} : { expiresAt: { S: e.expiresAt } }),
        },
      })),
    },
    version: { N: String(settings.version) },
  };
  if (settings.updatedAt !== undefined) item.updatedAt = { S: settings.updatedAt };
  if (settings.updatedBy !== undefined) item.updatedBy = { S: settings.updatedBy };
  return item;
}

/**
 * An Allowlists item (or the `allowlist` map of an ApiKeys item); undefined (no item) is the empty, disabled list.
 *
 * @throws CorruptAllowlistError when the list is there but unreadable
 */
export function allowlistFromAttributes(item: Item | undefined): AllowlistSettings {
  if (!item) return EMPTY_ALLOWLIST;
  const fail = (reason: string): never => {
    throw new CorruptAllowlistError(corruptList(item, reason), item);
  };
  const enabled = item.enabled?.BOOL;
  if (enabled === undefined) return fail('enabled is not a boolean');
  // Lists written before modes existed have no `mode`: their flag says enforce or off.
  let reportOnly = false;
  if (item.mode !== undefined) {
    const mode = item.mode.S;
    if (mode === undefined || !ALLOWLIST_MODES.some((m) => m === mode))
      return fail(`mode is not one of ${ALLOWLIST_MODES.join(', ')}`);
    if ((mode === 'enforce') !== enabled) return fail(`mode ${mode} contradicts enabled ${enabled}`);
    reportOnly = mode === 'report_only';
  }
  const list = item.entries?.L;
  if (!list) return fail('entries is not a list');
  const entries: AllowlistEntry[] = list.map((av) => {
    const m = av.M;
    if (!m) return fail('entry is not a map');
    const value = m.value?.S;
    if (value === undefined) return fail('an entry has no string value');
    const optional = (name: string): string => {
      const v = m[name];
      if (v !== undefined && v.S === undefined) fail(`an entry's ${name} is not a string`);
      return v?.S ?? '';
    };
    const entry: AllowlistEntry = {
      value,
      description: optional('description'),
      createdAt: optional('createdAt'),
      createdBy: optional('createdBy'),
    };
    // Absent in items written before expiry existed: such an entry never expires. Present but unreadable, it cannot
    // be told whether the entry still matches, so the list is corrupt (the authorizer fails closed on it).
    const expiresAt = m.expiresAt;
    if (expiresAt === undefined) return entry;
    if (expiresAt.S === undefined) return fail("an entry's expiresAt is not a string");
    if (parseStoredExpiresAt(expiresAt.S) === undefined)
      return fail(`an entry's expiresAt ${JSON.stringify(expiresAt.S.slice(0, 40))} is not an ISO-8601 UTC time`);
    return { ...entry, expiresAt: expiresAt.S };
  });
  const version = Number(item.version?.N);
  if (!Number.isInteger(version) || version < 0) return fail('version is not a whole number');
  return {
    enabled,
    ...(reportOnly ? { reportOnly } : {}),
    entries,
    version,
    updatedAt: str(item, 'updatedAt', false),
    updatedBy: str(item, 'updatedBy', false),
  };
}

/**
 * A key's own list: absent is no list; anything but a readable map (`{NULL:true}`, a string, a list, a broken
 * map) is corrupt. Never "no list": that would let a key through that its owner had narrowed.
 *
 * @throws CorruptAllowlistError
 */
function keyAllowlistFromAttribute(attribute: AttributeValue | undefined): AllowlistSettings | undefined {
  if (attribute === undefined) return undefined;
  if (attribute.M === undefined) {
    const type = typeOf(attribute);
    throw new CorruptAllowlistError(
      { reason: `allowlist is ${type}, not a map`, version: 0, guard: { kind: 'containerType', type } },
      attribute,
    );
  }
  return allowlistFromAttributes(attribute.M);
}

export function apiKeyToItem(record: ApiKeyRecord, projectScope: string): Item {
  const item: Item = {
    keyHash: { S: record.keyHash },
    keyId: { S: record.keyId },
    organizationId: { S: record.organizationId },
    projectId: { S: record.projectId },
    projectScope: { S: projectScope },
    name: { S: record.name },
    status: { S: record.status },
    redactedValue: { S: record.redactedValue },
    createdAt: { S: record.createdAt },
    createdBy: { S: record.createdBy },
  };
  if (record.revokedAt !== undefined) item.revokedAt = { S: record.revokedAt };
  if (record.allowlist !== undefined) item.allowlist = { M: allowlistToAttributes(record.allowlist) };
  return item;
}

/**
 * An ApiKeys item, its own list included.
 *
 * @throws CorruptAllowlistError when the key is readable but its list is not (the error carries the key)
 * @throws CorruptItemError when the key itself is unreadable
 */
export function apiKeyFromItem(item: Item): ApiKeyRecord {
  const status = str(item, 'status');
  if (status !== 'active' && status !== 'revoked') throw new CorruptItemError(`unknown status ${status}`, item);
  const key: ApiKeyRecord = {
    keyHash: str(item, 'keyHash')!,
    keyId: str(item, 'keyId')!,
    organizationId: str(item, 'organizationId')!,
    projectId: str(item, 'projectId')!,
    name: str(item, 'name', false) ?? '',
    status: status,
    redactedValue: str(item, 'redactedValue', false) ?? '',
    createdAt: str(item, 'createdAt', false) ?? '',
    createdBy: str(item, 'createdBy', false) ?? '',
    revokedAt: str(item, 'revokedAt', false),
  };
  try {
    const allowlist = keyAllowlistFromAttribute(item.allowlist);
    return allowlist === undefined ? key : { ...key, allowlist };
  } catch (err) {
    if (err instanceof CorruptAllowlistError) throw new CorruptAllowlistError(err.corrupt, item, key);
    throw err;
  }
}

/**
 * The admin API's stricter reading of a list: an entry that is not a canonical range (written by other means) is
 * one the authorizer cannot compile, so it fails closed on it, and the list is as corrupt as an unreadable item.
 * (The authorizer itself finds out when it compiles the list; it does not parse entries twice.)
 *
 * @throws CorruptAllowlistError
 */
export function requireCanonicalEntries(settings: AllowlistSettings, container: Item): void {
  for (const entry of settings.entries) {
    let canonical: string | undefined;
    try {
      canonical = normalizeAllowlistEntry(entry.value);
    } catch (err) {
      if (!(err instanceof AllowlistEntryError)) throw err;
    }
    if (canonical !== entry.value) {
      const reason = `stored entry ${JSON.stringify(entry.value)} is not a canonical allowlist entry`;
      throw new CorruptAllowlistError(corruptList(container, reason), container);
    }
  }
}

/** A key as the admin API sees it: readable even when its own list is not, with the list's problem beside it. */
export type StoredApiKey = ApiKeyRecord & { readonly corruptAllowlist?: CorruptAllowlist };

export function storedApiKeyFromItem(item: Item): StoredApiKey {
  try {
    const key = apiKeyFromItem(item);
    if (key.allowlist) {
      try {
        requireCanonicalEntries(key.allowlist, item.allowlist.M!);
      } catch (err) {
        if (err instanceof CorruptAllowlistError)
          throw new CorruptAllowlistError(err.corrupt, item, { ...key, allowlist: undefined });
        throw err;
      }
    }
    return key;
  } catch (err) {
    if (err instanceof CorruptAllowlistError && err.key) return { ...err.key, corruptAllowlist: err.corrupt };
    throw err;
  }
}
