/**
 * Plain data shared by the authorizer, the admin API and the CLI.
 * No AWS imports here: this is the vocabulary of the pure core.
 */

/** One allowlist entry as stored. `value` is always the canonical CIDR from `normalizeAllowlistEntry`. */
export interface AllowlistEntry {
  readonly value: string;
  readonly description: string;
  /** ISO-8601 timestamp. */
  readonly createdAt: string;
  /** IAM ARN (or local user name) of whoever added the entry. */
  readonly createdBy: string;
  /**
   * When the entry stops matching (core/expiry.ts): canonical ISO-8601 UTC (`toISOString()`). Absent: never.
   */
  readonly expiresAt?: string;
}

/**
 * An allowlist for one scope (organization, project or API key).
 * A scope with no stored list behaves as `EMPTY_ALLOWLIST`: disabled, so it restricts nothing.
 */
export interface AllowlistSettings {
  /** Enforced: the list decides requests. True exactly when the mode is `enforce`. */
  readonly enabled: boolean;
  /**
   * Report-only: the list decides nothing, but requests it would block are recorded as `would_block`. Only ever
   * true when `enabled` is false (`allowlistMode` reads the pair as one mode).
   */
  readonly reportOnly?: boolean;
  readonly entries: readonly AllowlistEntry[];
  /** Optimistic-concurrency version: 0 for a list never written, +1 on every write. */
  readonly version: number;
  readonly updatedAt?: string;
  readonly updatedBy?: string;
}

export const EMPTY_ALLOWLIST: AllowlistSettings = Object.freeze({
  enabled: false,
  entries: Object.freeze([]),
  version: 0,
});

/** What a list does: decide requests, only report what it would block, or nothing. */
export const ALLOWLIST_MODES = ['enforce', 'report_only', 'off'] as const;
export type AllowlistMode = (typeof ALLOWLIST_MODES)[number];

export function allowlistMode(settings: Pick<AllowlistSettings, 'enabled' | 'reportOnly'>): AllowlistMode {
  if (settings.enabled) return 'enforce';
  return settings.reportOnly === true ? 'report_only' : 'off';
}

/** The stored flags of a mode; `reportOnly` is left out for the other modes, as in lists written before it existed. */
export function modeFlags(mode: AllowlistMode): { readonly enabled: boolean; readonly reportOnly?: true } {
  return mode === 'report_only' ? { enabled: false, reportOnly: true } : { enabled: mode === 'enforce' };
}

export type ApiKeyStatus = 'active' | 'revoked';

/** An API key as stored: never the secret, only its SHA-256 hash. */
export interface ApiKeyRecord {
  /** Hex SHA-256 of the full secret (`sk-...`). The table's partition key. */
  readonly keyHash: string;
  readonly keyId: string;
  readonly organizationId: string;
  readonly projectId: string;
  readonly name: string;
  readonly status: ApiKeyStatus;
  /** Display form, e.g. `sk-...Ab3d`. */
  readonly redactedValue: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly revokedAt?: string;
  /** Optional per-key allowlist. It can only narrow what the project/organization rule allows. */
  readonly allowlist?: AllowlistSettings;
}

/** Which list decided a request. */
export type AllowlistScope = 'key' | 'project' | 'organization' | 'none';

/** The id rule is part of the contract with the constructs, which check an `organizationId` prop with it. */
export { ID_PATTERN, isValidId } from '../../lib/contract';
