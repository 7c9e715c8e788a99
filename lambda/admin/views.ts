import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AuditEvent } from '../adapters/admin-store';
import type { StoredApiKey } from '../adapters/items';
import { entryExpiry, liveEntries } from '../core/expiry';
import { AllowlistEntry, AllowlistScope, allowlistMode, AllowlistSettings, ApiKeyRecord } from '../core/model';
import type {
  AllowlistEntryView,
  AllowlistView,
  AllowlistWriteView,
  ApiKeyView,
  ListedAllowlistEntryView,
  WarningView,
} from './contract/schemas';
import { badRequest } from './errors';

/**
 * The JSON the admin API returns: one function per resource, so every route shows a resource the same way; their
 * return types are the contract's (contract/schemas.ts), so the compiler holds them to it. Secrets and key hashes
 * never appear in any view.
 */

export interface AllowlistLocation {
  readonly scope: Exclude<AllowlistScope, 'none'>;
  readonly organizationId: string;
  readonly projectId?: string;
  readonly apiKeyId?: string;
}

/** `now`: the time of the answer (epoch ms), which `expired` and `warnings` are as of. */
export function allowlistView(
  location: AllowlistLocation,
  settings: AllowlistSettings,
  limits: { readonly maxEntries: number; readonly propagationDelaySeconds: number },
  now: number,
): Omit<AllowlistWriteView, 'propagation'> {
  return {
    object: 'ip_allowlist',
    scope: location.scope,
    organizationId: location.organizationId,
    projectId: location.projectId ?? null,
    apiKeyId: location.apiKeyId ?? null,
    ...allowlistSnapshot(settings),
    entries: settings.entries.map((e) => entryView(e, now)),
    warnings: allowlistWarnings(settings, now),
    maxEntries: limits.maxEntries,
    propagationDelaySeconds: limits.propagationDelaySeconds,
  };
}

/** One entry as the API shows it, as of `now`. */
export function entryView(entry: AllowlistEntry, now: number): AllowlistEntryView {
  return {
    value: entry.value,
    description: entry.description,
    createdAt: entry.createdAt,
    createdBy: entry.createdBy,
    expiresAt: entry.expiresAt ?? null,
    expired: entryExpiry(entry) <= now,
  };
}

/** Live entries expiring within this long earn an `entries_expiring_soon` warning. */
export const EXPIRING_SOON_MS = 24 * 60 * 60 * 1000;

/** What the list's owner should know as of `now`: a list that has stopped admitting anyone, entries about to go. */
export function allowlistWarnings(settings: AllowlistSettings, now: number): WarningView[] {
  const mode = allowlistMode(settings);
  if (mode === 'off' || settings.entries.length === 0) return [];
  const live = liveEntries(settings.entries, now);
  if (live.length === 0) {
    const n = settings.entries.length;
    const all = n === 1 ? 'Its only entry has expired' : `All ${n} of its entries have expired`;
    return [
      {
        code: 'all_entries_expired',
        message:
          mode === 'enforce'
            ? `${all}, so this enforced allowlist blocks every request it applies to (401 ip_not_authorized). Add an entry, or disable the list.`
            : `${all}, so this report-only allowlist reports every request it applies to as would_block. Add an entry, or disable the list.`,
      },
    ];
  }
  const soon = live.filter((e) => entryExpiry(e) <= now + EXPIRING_SOON_MS);
  if (soon.length === 0) return [];
  const first = Math.min(...soon.map(entryExpiry));
  const consequence =
    soon.length === live.length
      ? mode === 'enforce'
        ? ' After that the list blocks every request it applies to, unless entries are added.'
        : ' After that the list reports every request it applies to as would_block.'
      : '';
  return [
    {
      code: 'entries_expiring_soon',
      message:
        `${soon.length === 1 ? '1 entry expires' : `${soon.length} entries expire`} within 24 hours ` +
        `(the first at ${new Date(first).toISOString()}).${consequence}`,
    },
  ];
}

/**
 * The list as a GET shows it: each entry with when it last matched (`lastMatched`: entry value -> ISO time), and
 * what the reader should know about those times.
 */
export function listedAllowlistView(
  base: Omit<AllowlistWriteView, 'propagation'>,
  lastMatched: ReadonlyMap<string, string>,
  warnings: readonly WarningView[],
): AllowlistView {
  const entries: ListedAllowlistEntryView[] = base.entries.map((e) => ({
    ...e,
    lastMatchedAt: lastMatched.get(e.value) ?? null,
  }));
  return { ...base, entries, warnings: [...base.warnings, ...warnings] };
}

/** The settings as recorded in the audit log's before/after. */
export function allowlistSnapshot(settings: AllowlistSettings) {
  return {
    enabled: settings.enabled,
    mode: allowlistMode(settings),
    entries: settings.entries.map((e) => ({
      value: e.value,
      description: e.description,
      createdAt: e.createdAt,
      createdBy: e.createdBy,
      // Only when set, so records of entries that never expire read as they always did.
      ...(e.expiresAt === undefined ? {} : { expiresAt: e.expiresAt }),
    })),
    version: settings.version,
    updatedAt: settings.updatedAt ?? null,
    updatedBy: settings.updatedBy ?? null,
  };
}

/** The key as recorded in the audit log's before/after: never the secret, never its hash. */
export function apiKeySnapshot(key: ApiKeyRecord) {
  return {
    id: key.keyId,
    name: key.name,
    redactedValue: key.redactedValue,
    status: key.status,
    createdAt: key.createdAt,
    createdBy: key.createdBy,
    revokedAt: key.revokedAt ?? null,
  };
}

export function apiKeyView(key: StoredApiKey): ApiKeyView {
  const list = key.allowlist;
  const corrupt = key.corruptAllowlist;
  return {
    object: 'api_key',
    ...apiKeySnapshot(key),
    organizationId: key.organizationId,
    projectId: key.projectId,
    allowlist: corrupt
      ? // Unreadable: what can be told, and that it is corrupt (the authorizer refuses every request with this key).
        {
          enabled: corrupt.enabled ?? false,
          mode: allowlistMode({ enabled: corrupt.enabled ?? false, reportOnly: corrupt.reportOnly }),
          entryCount: 0,
          version: corrupt.version,
          corrupt: true,
        }
      : {
          enabled: list?.enabled ?? false,
          mode: list === undefined ? 'off' : allowlistMode(list),
          entryCount: list?.entries.length ?? 0,
          version: list?.version ?? 0,
        },
  };
}

export function auditEventView(e: AuditEvent) {
  return {
    object: 'audit_event',
    id: e.eventId,
    at: e.at,
    actor: e.actor,
    action: e.action,
    scope: e.scope,
    target: e.target,
    before: e.before,
    after: e.after,
    requestId: e.requestId ?? null,
  };
}

// ---- pagination cursors -----------------------------------------------------------------------------------------

const MAX_CURSOR_LENGTH = 2048;

/** Opaque to clients: base64url of DynamoDB's LastEvaluatedKey. */
export function encodeCursor(key: Record<string, AttributeValue> | undefined): string | null {
  if (!key) return null;
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor and checks it is exactly a key of the query it is used with (`expected`: attribute -> the
 * value it must have, or undefined for any string). A forged or foreign cursor is a 400, never a storage error.
 */
export function decodeCursor(
  cursor: string,
  expected: Readonly<Record<string, string | undefined>>,
): Record<string, AttributeValue> {
  const invalid = () =>
    badRequest(
      'invalid_cursor',
      'The cursor is not one this API returned for this list. Omit it to start from the beginning.',
      'cursor',
    );
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  const entries = Object.entries(parsed as Record<string, unknown>);
  const names = Object.keys(expected);
  if (entries.length !== names.length) throw invalid();
  const key: Record<string, AttributeValue> = {};
  for (const [name, value] of entries) {
    if (!names.includes(name)) throw invalid();
    if (typeof value !== 'object' || value === null || Object.keys(value).length !== 1) throw invalid();
    const s = (value as { S?: unknown }).S;
    if (typeof s !== 'string' || s.length === 0 || s.length > 1024) throw invalid();
    const want = expected[name];
    if (want !== undefined && s !== want) throw invalid();
    key[name] = { S: s };
  }
  return key;
}
