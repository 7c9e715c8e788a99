/**
 * Plain-text output for the CLI (no colors: output is often piped or pasted), and the escaping that keeps text
 * from the admin API from acting on the terminal that shows it. The admin API refuses control and bidirectional
 * formatting characters in every text field it stores (lambda/core/text.ts), but data stored before that rule,
 * or written to the table by other means, must not be able to move the cursor, erase lines, set the clipboard
 * (OSC 52) or reorder what the operator reads, so everything printed is escaped here as well.
 */

/**
 * C0 and C1 controls and DEL, bidirectional formatting, line/paragraph separators and unpaired surrogates: what
 * a terminal or a text renderer acts on rather than shows. A superset of what the admin API refuses.
 */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- matching control characters is what this module is for
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const UNPRINTABLE_BUT_NEWLINE =
  // eslint-disable-next-line no-control-regex -- matching control characters is what this module is for
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `\u001b`: the form JSON uses, so escaped JSON output is still valid JSON with the same value. */
const escapeChar = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One field as it may be printed: every unprintable character, newlines included, as a `\uXXXX` escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar);
}

/**
 * A whole block of output as it may be printed: like `printable`, but the line breaks the CLI writes stay line
 * breaks. Applied to everything the CLI writes, so no code path can print raw data by mistake. JSON output keeps
 * its meaning: JSON.stringify already escapes C0 controls, and what this escapes besides is written the same way.
 */
export function printableOutput(text: string): string {
  return text.replace(UNPRINTABLE_BUT_NEWLINE, escapeChar);
}

export function table(headers: readonly string[], rawRows: ReadonlyArray<ReadonlyArray<string>>): string {
  if (rawRows.length === 0) return '';
  const rows = rawRows.map((r) => r.map((cell) => printable(cell ?? '')));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `2025-01-02T03:04:05.678Z` -> `2025-01-02 03:04:05Z`: shorter, still unambiguous. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]}Z` : iso;
}
