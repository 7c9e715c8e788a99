import type { AllowlistEntry } from './model';

/**
 * Expiring allowlist entries, as plain functions over plain data (no clock of their own: every caller passes the
 * time, so the authorizer, the check tool and the preview decide on the same instant the same way).
 *
 * - An entry with `expiresAt` stops matching at that instant: it is live while `now < expiresAt`.
 * - `expiresAt` is stored in one canonical form, `Date.prototype.toISOString()`'s (UTC, milliseconds), so a stored
 *   value is either exactly that or corrupt: no reader has to guess a time zone.
 * - Requests may give an ISO-8601 date-time with any offset, or `expiresIn` seconds; both are at most 90 days ahead.
 */

/** The longest an entry may be given to live: 90 days, in seconds. */
export const MAX_EXPIRY_SECONDS = 90 * 24 * 60 * 60;

const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A stored `expiresAt` as epoch milliseconds; undefined when it is not in the canonical form. */
export function parseStoredExpiresAt(text: string): number | undefined {
  if (!CANONICAL.test(text)) return undefined;
  const ms = Date.parse(text);
  // Date.parse rolls 2026-02-30 over into March; the round trip refuses it.
  return Number.isFinite(ms) && new Date(ms).toISOString() === text ? ms : undefined;
}

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * An ISO-8601 date-time with seconds and an explicit offset (`Z` or `+hh:mm`), as epoch milliseconds (fractions
 * below a millisecond dropped); undefined for anything else, an impossible date (February 30) included.
 */
export function parseIsoInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const wallClock = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    wallClock.getUTCFullYear() !== year ||
    wallClock.getUTCMonth() !== month - 1 ||
    wallClock.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return undefined;
  const fraction = m[7] === undefined ? 0 : Math.floor(Number(`0${m[7]}`) * 1000);
  const zone = m[8].toUpperCase();
  const offsetMinutes =
    zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  if (Math.abs(offsetMinutes) > 18 * 60) return undefined;
  const ms = wallClock.getTime() + fraction - offsetMinutes * 60_000;
  return Number.isFinite(new Date(ms).getTime()) ? ms : undefined;
}

/** When `entry` stops matching, in epoch ms; Infinity for an entry that never expires. */
export function entryExpiry(entry: Pick<AllowlistEntry, 'expiresAt'>): number {
  if (entry.expiresAt === undefined) return Infinity;
  const ms = parseStoredExpiresAt(entry.expiresAt);
  // The codec refuses such an entry on read; one built by other means must not live forever by accident.
  if (ms === undefined) throw new Error(`expiresAt ${JSON.stringify(entry.expiresAt)} is not a canonical UTC time`);
  return ms;
}

/** True once `entry` has expired at `now` (epoch ms): from its `expiresAt` on, never before. */
export function isExpired(entry: Pick<AllowlistEntry, 'expiresAt'>, now: number): boolean {
  return entryExpiry(entry) <= now;
}

/** The entries still live at `now`. */
export function liveEntries<E extends Pick<AllowlistEntry, 'expiresAt'>>(entries: readonly E[], now: number): E[] {
  return entries.filter((e) => !isExpired(e, now));
}
