import { AllowlistEntryError, familiesCoveredBy, normalizeAllowlistEntry } from '../core/allowlist';
import { liveEntries, MAX_EXPIRY_SECONDS, parseIsoInstant } from '../core/expiry';
import { AllowlistEntry, AllowlistMode, allowlistMode, AllowlistSettings, modeFlags } from '../core/model';
import { findUnsafeCharacter, unsafeCharacterReason } from '../core/text';
import {
  ADMIN_ERROR_TYPES,
  AdminError,
  badRequest,
  RejectedEntry,
  coversWholeFamily,
  emptyAllowlist,
  entryNotFound,
  expiryOutOfRange,
  limitExceeded,
} from './errors';

/**
 * The allowlist changes of the admin API as pure functions: current settings + request -> next settings, or an
 * AdminError saying exactly what is wrong. The write path re-runs them against freshly read settings on every
 * optimistic-concurrency retry, so every rule (limit, duplicates, no empty enabled list) holds against the state
 * the write actually lands on, not the state some earlier read saw.
 */

import { MAX_DESCRIPTION_LENGTH } from '../../lib/contract';

export { DEFAULT_MAX_ENTRIES, MAX_DESCRIPTION_LENGTH, MAX_MAX_ENTRIES } from '../../lib/contract';

/** An entry as the caller sent it: a string, or `{ value, description? }` (shape already checked). */
export interface EntryInput {
  /** Any JSON value as sent (JSON has no `undefined`); a non-string is rejected with the others. */
  readonly value: NonNullable<unknown> | null;
  readonly description?: unknown;
  /** ISO-8601 date-time with an offset, as sent. */
  readonly expiresAt?: unknown;
  /** Whole seconds from the change, as sent. */
  readonly expiresIn?: unknown;
}

/**
 * An entry's requested expiry, checked for shape only: whether it is in the future and within 90 days depends on
 * the time of the change, so `resolveExpiry` checks that against the state the write lands on.
 */
export type RequestedExpiry =
  | { readonly field: string; readonly at: number; readonly sent: string }
  | { readonly field: string; readonly inSeconds: number };

/** An entry that passed validation: canonical value, checked description, well-formed expiry. */
export interface ValidEntry {
  readonly value: string;
  readonly description: string;
  readonly expiry?: RequestedExpiry;
}

export interface ChangeContext {
  readonly actor: string;
  /** ISO-8601 time of the change. */
  readonly now: string;
  /** The same time in epoch ms: entries expired by then are pruned, requested expiries are counted from it. */
  readonly nowMs: number;
  readonly maxEntries: number;
}

/** Length in user-perceived units close enough for a limit: code points, so an emoji is not counted twice. */
function characterCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Normalizes every entry and checks descriptions and in-request duplicates. Collects EVERY problem, so a bulk
 * import reports all bad lines at once, and throws one 400 listing them; returns the valid entries otherwise.
 *
 * @param paramPrefix how entries are named in messages: `entries` (array form) or `` (single-entry form).
 */
export function validateEntries(inputs: readonly EntryInput[], paramPrefix: string): ValidEntry[] {
  const rejected: RejectedEntry[] = [];
  const valid: ValidEntry[] = [];
  const firstIndexOf = new Map<string, number>();
  inputs.forEach((input, index) => {
    const where = paramPrefix ? `${paramPrefix}[${index}]` : 'value';
    if (typeof input.value !== 'string') {
      rejected.push({
        index,
        value: input.value,
        code: 'invalid_type',
        reason: `${where}: the value must be a string`,
      });
      return;
    }
    let value: string;
    try {
      value = normalizeAllowlistEntry(input.value);
    } catch (err) {
      if (!(err instanceof AllowlistEntryError)) throw err;
      rejected.push({ index, value: input.value, code: 'invalid_ip_allowlist_entry', reason: err.message });
      return;
    }
    const description = input.description ?? '';
    if (typeof description !== 'string') {
      rejected.push({
        index,
        value: input.value,
        code: 'invalid_type',
        reason: `${paramPrefix ? `${where}.description` : 'description'}: the description must be a string`,
      });
      return;
    }
    const unsafe = findUnsafeCharacter(description.trim());
    if (unsafe) {
      rejected.push({
        index,
        value: input.value,
        code: 'invalid_characters',
        reason: `${paramPrefix ? `${where}.description` : 'description'}: ${unsafeCharacterReason(unsafe)}`,
      });
      return;
    }
    const length = characterCount(description.trim());
    if (length > MAX_DESCRIPTION_LENGTH) {
      rejected.push({
        index,
        value: input.value,
        code: 'description_too_long',
        reason: `the description of ${JSON.stringify(input.value)} is ${length} characters; the limit is ${MAX_DESCRIPTION_LENGTH}`,
      });
      return;
    }
    const expiry = requestedExpiry(input, paramPrefix ? `${where}.` : '');
    if (expiry !== undefined && 'code' in expiry) {
      rejected.push({ index, value: input.value, code: expiry.code, reason: expiry.reason });
      return;
    }
    const first = firstIndexOf.get(value);
    if (first !== undefined) {
      rejected.push({
        index,
        value: input.value,
        code: 'duplicate_in_request',
        reason: `${JSON.stringify(input.value)} is the same range as ${paramPrefix}[${first}] (both are ${value})`,
      });
      return;
    }
    firstIndexOf.set(value, index);
    valid.push({ value, description: description.trim(), ...(expiry === undefined ? {} : { expiry }) });
  });
  if (rejected.length > 0) throw rejectedEntriesError(400, rejected, paramPrefix);
  return valid;
}

/**
 * The shape of an entry's `expiresAt` / `expiresIn` (`prefix`: `entries[2].` or ``); undefined when it has neither.
 * Whether the time is acceptable is `resolveExpiry`'s question.
 */
function requestedExpiry(
  input: EntryInput,
  prefix: string,
): RequestedExpiry | { readonly code: RejectedEntry['code']; readonly reason: string } | undefined {
  const { expiresAt, expiresIn } = input;
  if (expiresAt !== undefined && expiresIn !== undefined) {
    return {
      code: 'conflicting_expiry',
      reason: `both ${prefix}expiresAt and ${prefix}expiresIn were given: give either expiresAt (a time) or expiresIn (seconds from now), not both`,
    };
  }
  if (expiresAt !== undefined) {
    const at = typeof expiresAt === 'string' ? parseIsoInstant(expiresAt) : undefined;
    if (typeof expiresAt !== 'string' || at === undefined) {
      return {
        code: 'invalid_expires_at',
        reason:
          `invalid ${prefix}expiresAt: ${JSON.stringify(expiresAt)?.slice(0, 60)} is not an ISO-8601 date-time with a ` +
          'time zone; send e.g. "2026-07-01T12:00:00Z"',
      };
    }
    return { field: `${prefix}expiresAt`, at, sent: expiresAt };
  }
  if (expiresIn !== undefined) {
    if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn)) {
      return {
        code: 'invalid_expires_in',
        reason: `invalid ${prefix}expiresIn: expected whole seconds from 1 to ${MAX_EXPIRY_SECONDS}, got ${JSON.stringify(expiresIn)?.slice(0, 60)}`,
      };
    }
    return { field: `${prefix}expiresIn`, inSeconds: expiresIn };
  }
  return undefined;
}

/**
 * The stored `expiresAt` of a requested expiry at the time of the change, or why it is refused: it must be after
 * the change and at most 90 days after it.
 */
function resolveExpiry(expiry: RequestedExpiry, nowMs: number): { expiresAt: string } | { problem: string } {
  const latest = nowMs + MAX_EXPIRY_SECONDS * 1000;
  if ('inSeconds' in expiry) {
    if (expiry.inSeconds >= 1 && expiry.inSeconds <= MAX_EXPIRY_SECONDS)
      return { expiresAt: new Date(nowMs + expiry.inSeconds * 1000).toISOString() };
    return {
      problem: `${expiry.field} is ${expiry.inSeconds}; give whole seconds from 1 to ${MAX_EXPIRY_SECONDS} (90 days)`,
    };
  }
  if (expiry.at <= nowMs) {
    return {
      problem: `${expiry.field} ${expiry.sent} is not in the future (it is now ${new Date(nowMs).toISOString()}); give a later time, at most 90 days ahead, or expiresIn seconds`,
    };
  }
  if (expiry.at > latest) {
    return {
      problem: `${expiry.field} ${expiry.sent} is more than 90 days ahead; give a time no later than ${new Date(latest).toISOString()}`,
    };
  }
  return { expiresAt: new Date(expiry.at).toISOString() };
}

/** The stored entries of validated ones at the time of the change; 422 naming every refused expiry. */
function withExpiries(
  entries: readonly ValidEntry[],
  ctx: ChangeContext,
  created: (e: ValidEntry) => Pick<AllowlistEntry, 'createdAt' | 'createdBy'>,
): AllowlistEntry[] {
  const problems: RejectedEntry[] = [];
  let firstField = '';
  const stored = entries.map((e, index): AllowlistEntry => {
    const entry: AllowlistEntry = { value: e.value, description: e.description, ...created(e) };
    if (e.expiry === undefined) return entry;
    const resolved = resolveExpiry(e.expiry, ctx.nowMs);
    if ('problem' in resolved) {
      firstField ||= e.expiry.field;
      problems.push({ index, value: e.value, code: 'expiry_out_of_range', reason: resolved.problem });
      return entry;
    }
    return { ...entry, expiresAt: resolved.expiresAt };
  });
  if (problems.length > 0) throw expiryOutOfRange(problems, firstField);
  return stored;
}

/** A check tool's draft as it would be stored at `nowMs` (its expiries held to the same window as a write's). */
export function draftEntries(entries: readonly ValidEntry[], nowMs: number): AllowlistEntry[] {
  const ctx: ChangeContext = { actor: '', now: '', nowMs, maxEntries: Infinity };
  return withExpiries(entries, ctx, () => ({ createdAt: '', createdBy: '' }));
}

/** Codes of a rejected entry that are about its description, not its value. */
const DESCRIPTION_CODES: ReadonlySet<string> = new Set(['invalid_characters', 'description_too_long']);

/** Codes of a rejected entry about its expiry, with the field a single-entry request names. */
const EXPIRY_PARAMS: ReadonlyMap<string, string> = new Map([
  ['invalid_expires_at', 'expiresAt'],
  ['invalid_expires_in', 'expiresIn'],
  ['conflicting_expiry', 'expiresIn'],
]);

function rejectedEntriesError(status: 400 | 409, rejected: readonly RejectedEntry[], paramPrefix: string): AdminError {
  const type = status === 409 ? ADMIN_ERROR_TYPES.conflict : ADMIN_ERROR_TYPES.invalidRequest;
  if (rejected.length === 1 && !paramPrefix) {
    const r = rejected[0];
    const param = DESCRIPTION_CODES.has(r.code) ? 'description' : (EXPIRY_PARAMS.get(r.code) ?? 'value');
    return new AdminError({
      statusCode: status,
      code: r.code,
      message: capitalize(r.reason) + '.',
      param,
      type,
      rejected,
    });
  }
  const code = status === 409 ? 'duplicate_entry' : 'invalid_entries';
  const list = rejected.map((r) => `${paramPrefix || 'entries'}[${r.index}]: ${r.reason}`).join('; ');
  const what = rejected.length === 1 ? '1 entry was' : `${rejected.length} entries were`;
  return new AdminError({
    statusCode: status,
    code,
    message: `${what} rejected and nothing was changed: ${list}.`,
    param: paramPrefix || 'value',
    type,
    rejected,
  });
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Refuses entries that together admit a whole address family, as a single `/0` entry is refused: split into
 * pieces (`0.0.0.0/1` + `128.0.0.0/1`) they would restrict nothing for that family while the list looks enforced.
 * Checked on the complete resulting list, so entries added one request at a time are caught too.
 */
/** The core parser's canonical form of `text`; its message, as a 400 with `code`, when it refuses the text. */
export function normalizedOr400(
  normalize: (text: string) => string,
  text: string,
  code: string,
  param: string,
): string {
  try {
    return normalize(text);
  } catch (err) {
    if (!(err instanceof AllowlistEntryError)) throw err;
    throw badRequest(code, err.message, param);
  }
}

export function refuseWholeFamily(entries: readonly { readonly value: string }[]): void {
  const covers = familiesCoveredBy(entries.map((e) => e.value));
  if (covers.length > 0) throw coversWholeFamily(covers);
}

/**
 * The settings after a change. Entries expired at the time of the change are pruned here, on every write: they match
 * nothing any more, and the audit record's `after` shows them gone.
 */
function next(
  current: AllowlistSettings,
  ctx: ChangeContext,
  changes: { readonly entries?: readonly AllowlistEntry[]; readonly mode?: AllowlistMode },
): AllowlistSettings {
  const mode = changes.mode ?? allowlistMode(current);
  const entries = liveEntries(changes.entries ?? current.entries, ctx.nowMs);
  return {
    ...modeFlags(mode),
    entries,
    version: current.version + 1,
    updatedAt: ctx.now,
    updatedBy: ctx.actor,
  };
}

/** POST entries: adds one or many; all or nothing. Existing values -> 409 naming each; over the limit -> 422. */
export function addEntries(
  current: AllowlistSettings,
  additions: readonly ValidEntry[],
  ctx: ChangeContext,
  paramPrefix: string,
): AllowlistSettings {
  // An expired entry is as good as gone (this write prunes it): adding its range again is not a duplicate.
  const kept = liveEntries(current.entries, ctx.nowMs);
  const existing = new Set(kept.map((e) => e.value));
  const duplicates: RejectedEntry[] = [];
  additions.forEach((entry, index) => {
    if (existing.has(entry.value)) {
      duplicates.push({
        index,
        value: entry.value,
        code: 'duplicate_entry',
        reason: `${entry.value} is already in the allowlist`,
      });
    }
  });
  if (duplicates.length > 0) throw rejectedEntriesError(409, duplicates, paramPrefix);
  if (kept.length + additions.length > ctx.maxEntries) {
    throw limitExceeded(ctx.maxEntries, kept.length, additions.length);
  }
  const added = withExpiries(additions, ctx, () => ({ createdAt: ctx.now, createdBy: ctx.actor }));
  const entries = [...kept, ...added];
  refuseWholeFamily(entries);
  return next(current, ctx, { entries });
}

/**
 * PUT: replaces the entries (bulk import). An entry whose value was already present keeps its createdAt and
 * createdBy (the range was not created now) and takes the new description. `mode` undefined keeps the mode.
 */
export function replaceEntries(
  current: AllowlistSettings,
  entries: readonly ValidEntry[],
  mode: AllowlistMode | undefined,
  ctx: ChangeContext,
): AllowlistSettings {
  if (entries.length > ctx.maxEntries) throw limitExceeded(ctx.maxEntries, 0, entries.length);
  const willBe = mode ?? allowlistMode(current);
  if (willBe === 'enforce' && entries.length === 0) {
    throw emptyAllowlist(
      mode === 'enforce' ? 'enable an allowlist with no entries' : 'remove every entry of an enabled allowlist',
    );
  }
  const before = new Map(current.entries.map((e) => [e.value, e]));
  // The new list says each entry's expiry: one sent without expiresAt/expiresIn does not expire.
  const replaced = withExpiries(entries, ctx, (e) => {
    const old = before.get(e.value);
    return { createdAt: old?.createdAt ?? ctx.now, createdBy: old?.createdBy ?? ctx.actor };
  });
  refuseWholeFamily(replaced);
  return next(current, ctx, { entries: replaced, mode: willBe });
}

/** DELETE entry: `value` is canonical. Removing the last entry of an enabled list is refused (it would block all). */
export function removeEntry(current: AllowlistSettings, value: string, ctx: ChangeContext): AllowlistSettings {
  const remaining = current.entries.filter((e) => e.value !== value);
  if (remaining.length === current.entries.length) throw entryNotFound(value);
  if (current.enabled && remaining.length === 0) throw emptyAllowlist('remove the last entry of an enabled allowlist');
  if (current.enabled && liveEntries(remaining, ctx.nowMs).length === 0)
    throw emptyAllowlist('remove the last live entry of an enabled allowlist (the others have expired)');
  return next(current, ctx, { entries: remaining });
}

/**
 * POST enable (mode enforce or report_only) / disable (off). Enforcing an empty list is refused (it would block
 * every request); an empty report-only list only reports, so it is allowed. Disabling is always allowed.
 */
export function setMode(current: AllowlistSettings, mode: AllowlistMode, ctx: ChangeContext): AllowlistSettings {
  if (mode === 'enforce' && current.entries.length === 0) throw emptyAllowlist('enable an allowlist with no entries');
  // Entries that have all expired are no entries: enforcing them would block every request, as an empty list would.
  if (mode === 'enforce' && liveEntries(current.entries, ctx.nowMs).length === 0)
    throw emptyAllowlist('enable an allowlist whose entries have all expired');
  // A list stored before this rule existed may cover a family; it is not put in force, nor rehearsed for it.
  if (mode !== 'off') refuseWholeFamily(current.entries);
  return next(current, ctx, { mode });
}
