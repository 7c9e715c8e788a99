import * as ipaddr from 'ipaddr.js';

/**
 * The allowlist core: canonical entries and the per-request match.
 *
 * Semantics, in one place:
 * - An entry is stored only in its canonical form (`normalizeAllowlistEntry`), so equal ranges compare equal as
 *   strings and the admin API can reject duplicates with a plain string comparison.
 * - IPv4 and IPv6 are disjoint, as in Python's `ipaddress`, Go's `net/netip` and AWS WAF's IP sets: an IPv4 caller
 *   matches only IPv4 entries, an IPv6 caller only IPv6 entries, so no IPv6 entry (`::/64`, `::/1`) ever admits an
 *   IPv4 caller. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is folded to IPv4 when it is read, for entries and callers
 *   alike: it IS an IPv4 address (API Gateway reports IPv4 callers as IPv4, a dual-stack socket as mapped).
 *   Other embeddings (NAT64 `64:ff9b::/96`, the deprecated IPv4-compatible `::a.b.c.d`) are plain IPv6: a NAT64
 *   caller is a translator's address, not the IPv4 host behind it.
 * - No entry admits a whole family (`/0`), and `familiesCoveredBy` tells when entries together do
 *   (`0.0.0.0/1` + `128.0.0.0/1`), so the admin API can refuse such a list as it refuses `/0`.
 * - Parsing is strict everywhere. ipaddr.js's `parse` (like `inet_aton`) reads `010.0.0.1` as octal and `127.1`
 *   as `127.0.0.1`; an allowlist must never mean something other than what the operator read, so only four-part
 *   decimal IPv4 is accepted, in entries and in caller IPs alike.
 */

/** Longer than any valid entry (the longest is 45 characters of address plus `/128`) by a wide margin. */
const MAX_INPUT_LENGTH = 100;
/** `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255` */
const MAX_IPV6_TEXT_LENGTH = 45;

/** Thrown for anything that is not a usable allowlist entry (or, from `normalizeIpAddress`, a usable address). */
export class AllowlistEntryError extends Error {
  /** The text as it was given (before trimming). */
  public readonly input: string;
  /** Why it was rejected, in words meant for the person who typed it. */
  public readonly reason: string;

  constructor(input: string, reason: string, what: string = 'allowlist entry') {
    super(`${quote(input)} is not a valid ${what}: ${reason}`);
    this.name = 'AllowlistEntryError';
    this.input = input;
    this.reason = reason;
  }
}

/**
 * The canonical CIDR of an IPv4 or IPv6 address or range: network address + prefix, IPv6 in RFC 5952 form,
 * `/32` or `/128` for a single address, IPv4-mapped IPv6 as IPv4. Surrounding whitespace is ignored.
 *
 * @throws AllowlistEntryError for anything else, with the reason.
 */
export function normalizeAllowlistEntry(text: string): string {
  const parsed = parseEntry(text, 'entry');
  return formatCidr(parsed);
}

/**
 * One IP address (no prefix) in canonical form: IPv4 dotted decimal, IPv6 in RFC 5952 form, IPv4-mapped IPv6 as
 * IPv4. For tools that ask "would this address be allowed?".
 *
 * @throws AllowlistEntryError if the text is not a single address.
 */
export function normalizeIpAddress(text: string): string {
  const parsed = parseEntry(text, 'address');
  return formatAddress(parsed);
}

/** An allowlist compiled for matching. */
export interface CompiledAllowlist {
  /** Number of distinct canonical entries. */
  readonly size: number;
  /**
   * The most specific (longest prefix) entry that contains `ip`, in canonical form, or undefined when none does
   * or when `ip` is not a plain IPv4 / IPv6 address. Never throws.
   */
  match(ip: string): string | undefined;
}

/**
 * Normalizes every entry once and builds a lookup whose cost per `match` depends on the address length (at most
 * 32 or 128 steps), never on the number of entries.
 *
 * @throws AllowlistEntryError for the first invalid entry.
 */
export function compileAllowlist(entries: readonly string[]): CompiledAllowlist {
  const v4 = new TrieBuilder();
  const v6 = new TrieBuilder();
  const values: string[] = [];
  const indexByValue = new Map<string, number>();

  for (const text of entries) {
    const parsed = parseEntry(text, 'entry');
    const value = formatCidr(parsed);
    if (indexByValue.has(value)) {
      continue;
    }
    indexByValue.set(value, values.length);
    if (parsed.v4) {
      v4.insert(parsed.words.subarray(6), parsed.prefix, values.length);
    } else {
      v6.insert(parsed.words, parsed.prefix, values.length);
    }
    values.push(value);
  }
  return new Matcher(values, v4.build(), v6.build());
}

/** Where the IPv4-mapped block `::ffff:0:0/96` starts, as a 128-bit number. */
const IPV4_MAPPED_START = 0xffffn << 32n;

/** An address family that a list's entries cover completely, and the entries that do it. */
export interface FamilyCover {
  readonly family: 4 | 6;
  /**
   * The entries that together cover the family, in canonical form and address order: the widest ones only (an
   * entry inside another is left out), so every one of them is needed for the cover.
   */
  readonly entries: readonly string[];
}

/**
 * The families (IPv4, IPv6) of which every address is contained in some entry: such a list restricts nothing for
 * that family, exactly like a `/0` entry, however it is split up (`0.0.0.0/1` + `128.0.0.0/1`). Empty for a list
 * that leaves at least one address of each family out.
 *
 * @throws AllowlistEntryError for the first invalid entry.
 */
export function familiesCoveredBy(entries: readonly string[]): FamilyCover[] {
  const ranges: Record<4 | 6, { start: bigint; end: bigint; value: string | undefined }[]> = { 4: [], 6: [] };
  const seen = new Set<string>();
  for (const text of entries) {
    const parsed = parseEntry(text, 'entry');
    const value = formatCidr(parsed);
    if (seen.has(value)) continue;
    seen.add(value);
    const family = parsed.v4 ? 4 : 6;
    const bits = BigInt(family === 4 ? 32 : 128);
    const words = parsed.v4 ? parsed.words.subarray(6) : parsed.words;
    const start = words.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
    ranges[family].push({ start, end: start + (1n << (bits - BigInt(parsed.prefix))), value });
  }
  // No IPv6 caller is ever in ::ffff:0:0/96: an IPv4-mapped address is folded to IPv4, callers and entries alike.
  // So IPv6 entries that cover everything but that block admit every IPv6 caller, and the block counts as covered
  // (without being reported: no entry of the list is it).
  ranges[6].push({ start: IPV4_MAPPED_START, end: IPV4_MAPPED_START + (1n << 32n), value: undefined });
  const covers: FamilyCover[] = [];
  for (const family of [4, 6] as const) {
    const size = 1n << BigInt(family === 4 ? 32 : 128);
    // CIDR ranges are nested or disjoint: sorted by start, wider first, each range is either inside the last
    // widest one kept or starts where it ends (no gap) or later (a gap: an address no entry contains).
    const sorted = ranges[family].sort((a, b) =>
      a.start !== b.start ? (a.start < b.start ? -1 : 1) : a.end > b.end ? -1 : 1,
    );
    const widest: string[] = [];
    let coveredUntil = 0n;
    for (const range of sorted) {
      if (range.end <= coveredUntil) continue;
      if (range.start > coveredUntil) break;
      if (range.value !== undefined) widest.push(range.value);
      coveredUntil = range.end;
    }
    if (coveredUntil === size) covers.push({ family, entries: widest });
  }
  return covers;
}

// ---------------------------------------------------------------------------------------------------------------
// Matching

interface Trie {
  /** `children[2 * node + bit]`: the child node, or 0 (the root is never a child). */
  readonly children: Int32Array;
  /** `entryAt[node]`: index into the entry values, or -1. */
  readonly entryAt: Int32Array;
}

/**
 * A binary trie over address bits, flattened into typed arrays so a lookup is a tight loop over integers. A trie
 * (rather than one hash map per prefix length) bounds a lookup by the address length even when the entries use
 * every possible prefix length, and finds the most specific entry for free: it is the deepest one on the path.
 */
class TrieBuilder {
  private readonly children: number[] = [0, 0];
  private readonly entryAt: number[] = [-1];

  /** `words` are 16-bit words, most significant first. */
  public insert(words: Uint16Array, prefix: number, entryIndex: number): void {
    let node = 0;
    for (let i = 0; i < prefix; i++) {
      const slot = 2 * node + ((words[i >> 4] >>> (15 - (i & 15))) & 1);
      let next = this.children[slot];
      if (next === 0) {
        next = this.entryAt.length;
        this.entryAt.push(-1);
        this.children.push(0, 0);
        this.children[slot] = next;
      }
      node = next;
    }
    if (this.entryAt[node] === -1) {
      this.entryAt[node] = entryIndex;
    }
  }

  public build(): Trie {
    return { children: Int32Array.from(this.children), entryAt: Int32Array.from(this.entryAt) };
  }
}

class Matcher implements CompiledAllowlist {
  public readonly size: number;
  /** Scratch space for the caller's IPv6 words; `match` is synchronous, so one per allowlist is enough. */
  private readonly words = new Uint16Array(8);

  constructor(
    private readonly values: readonly string[],
    private readonly v4: Trie,
    private readonly v6: Trie,
  ) {
    this.size = values.length;
  }

  public match(ip: string): string | undefined {
    if (typeof ip !== 'string' || ip.length > MAX_IPV6_TEXT_LENGTH) {
      return undefined;
    }
    const v4 = parseIPv4(ip, 0, ip.length);
    if (v4 >= 0) {
      return this.matchV4(v4);
    }
    const words = this.words;
    if (!parseIPv6(ip, words)) {
      return undefined;
    }
    if (isV4Mapped(words)) {
      return this.matchV4(words[6] * 0x10000 + words[7]);
    }
    const found = lookupV6(this.v6, words, 128);
    return found >= 0 ? this.values[found] : undefined;
  }

  private matchV4(address: number): string | undefined {
    const { children, entryAt } = this.v4;
    let best = -1;
    let node = 0;
    for (let shift = 31; shift >= 0; shift--) {
      node = children[2 * node + ((address >>> shift) & 1)];
      if (node === 0) {
        break;
      }
      const entry = entryAt[node];
      if (entry >= 0) {
        best = entry;
      }
    }
    return best >= 0 ? this.values[best] : undefined;
  }
}

/** Index of the deepest entry on the path of the first `bits` bits of `words`, or -1. */
function lookupV6(trie: Trie, words: Uint16Array, bits: number): number {
  const { children, entryAt } = trie;
  let best = -1;
  let node = 0;
  for (let i = 0; i < bits; i++) {
    node = children[2 * node + ((words[i >> 4] >>> (15 - (i & 15))) & 1)];
    if (node === 0) {
      break;
    }
    const entry = entryAt[node];
    if (entry >= 0) {
      best = entry;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Strict parsers, shared by normalization and matching. Hand-written over char codes: they run on every request.

/**
 * Strict dotted-quad IPv4 in `text[start, end)`: exactly four decimal octets 0-255, no leading zeros, nothing
 * else. Returns the address as an unsigned 32-bit number, or -1.
 */
function parseIPv4(text: string, start: number, end: number): number {
  let result = 0;
  let dots = 0;
  let octet = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) {
        return -1;
      }
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) {
        return -1;
      }
    } else if (c === 46 && digits > 0 && dots < 3) {
      result = result * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? result * 256 + octet : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) {
    return c - 48;
  }
  if (c >= 97 && c <= 102) {
    return c - 87;
  }
  if (c >= 65 && c <= 70) {
    return c - 55;
  }
  return -1;
}

/**
 * Strict RFC 4291 textual IPv6 into `out` (eight 16-bit words): groups of one to four hex digits, at most one
 * `::` standing for at least one zero group, an optional dotted-quad IPv4 as the last 32 bits. No zone id, no
 * prefix, no brackets, no whitespace. Returns false (with `out` undefined) for anything else.
 */
function parseIPv6(text: string, out: Uint16Array): boolean {
  const n = text.length;
  if (n < 2 || n > MAX_IPV6_TEXT_LENGTH) {
    return false;
  }
  let groups = 0;
  let gapAt = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) {
      return false;
    }
    gapAt = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let value = 0;
    for (; i < n; i++) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) {
        break;
      }
      value = value * 16 + h;
    }
    if (i < n && text.charCodeAt(i) === 46) {
      // What looked like a hex group is the first octet of a trailing dotted quad; it must fill words 6 and 7.
      if (groups > 6) {
        return false;
      }
      const v4 = parseIPv4(text, start, n);
      if (v4 < 0) {
        return false;
      }
      out[groups++] = v4 >>> 16;
      out[groups++] = v4 & 0xffff;
      break;
    }
    if (i === start || i - start > 4 || groups === 8) {
      return false;
    }
    out[groups++] = value;
    if (i === n) {
      break;
    }
    if (text.charCodeAt(i) !== 58) {
      return false;
    }
    i++;
    if (i === n) {
      return false;
    }
    if (text.charCodeAt(i) === 58) {
      if (gapAt >= 0) {
        return false;
      }
      gapAt = groups;
      i++;
    }
  }
  if (gapAt < 0) {
    return groups === 8;
  }
  if (groups > 7) {
    return false;
  }
  const tail = groups - gapAt;
  for (let k = 1; k <= tail; k++) {
    out[8 - k] = out[groups - k];
  }
  for (let k = gapAt; k < 8 - tail; k++) {
    out[k] = 0;
  }
  return true;
}

function isV4Mapped(words: Uint16Array): boolean {
  return words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff;
}

// ---------------------------------------------------------------------------------------------------------------
// Normalization

interface ParsedCidr {
  /** True for IPv4 (including IPv4-mapped input); then only `words[6..7]` are meaningful. */
  readonly v4: boolean;
  /** The network address as eight 16-bit words (IPv4 in the mapped position). */
  readonly words: Uint16Array;
  /** Prefix length in the address's own family (0-32 for IPv4). */
  readonly prefix: number;
}

const REASONS = {
  notString: 'it is not a string',
  empty: 'it is empty',
  tooLong: `it is longer than ${MAX_INPUT_LENGTH} characters`,
  garbage: 'it is not an IPv4 or IPv6 address or CIDR range',
  invalidIPv6: 'it is not a valid IPv6 address',
  zoneId: 'zone ids (the "%..." suffix) are not accepted: they name a local network interface, not an address',
  prefixSyntax: 'the prefix length must be a plain decimal number without sign or leading zeros',
  notSingleAddress: 'expected a single IP address, not a CIDR range',
  ipv4Parts:
    'IPv4 addresses must have exactly four dot-separated decimal parts (short forms like 127.1 are not accepted)',
  ipv4Hex: 'IPv4 parts must be decimal; hexadecimal (0x...) is not accepted',
  ipv4LeadingZero: 'IPv4 parts must not have leading zeros (010 would be read as octal by some tools)',
  zeroPrefix: 'a /0 range allows every address; to allow everyone, disable the allowlist instead',
  prefixRange: (prefix: string, family: 4 | 6) =>
    `prefix length /${prefix} is out of range for IPv${family} (1-${family === 4 ? 32 : 128})`,
  ipv4PartRange: (part: string) => `IPv4 part ${part} is out of range (0-255)`,
  hostBits: (suggestion: string) => `host bits are set; did you mean ${suggestion}?`,
} as const;

function parseEntry(text: string, kind: 'entry' | 'address'): ParsedCidr {
  const what = kind === 'entry' ? 'allowlist entry' : 'IP address';
  const fail = (reason: string): never => {
    throw new AllowlistEntryError(typeof text === 'string' ? text : String(text), reason, what);
  };
  if (typeof text !== 'string') {
    return fail(REASONS.notString);
  }
  if (text.length > MAX_INPUT_LENGTH) {
    return fail(REASONS.tooLong);
  }
  const trimmed = text.trim();
  if (trimmed === '') {
    return fail(REASONS.empty);
  }
  if (trimmed.includes('%')) {
    return fail(REASONS.zoneId);
  }

  const slash = trimmed.indexOf('/');
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const prefixText = slash < 0 ? undefined : trimmed.slice(slash + 1);
  if (prefixText !== undefined && kind === 'address') {
    return fail(REASONS.notSingleAddress);
  }

  const words = new Uint16Array(8);
  let family: 4 | 6;
  if (addressText.includes(':')) {
    if (!parseIPv6(addressText, words)) {
      return fail(REASONS.invalidIPv6);
    }
    family = 6;
  } else {
    const v4 = parseIPv4(addressText, 0, addressText.length);
    if (v4 < 0) {
      return fail(whyNotIPv4(addressText));
    }
    words[5] = 0xffff;
    words[6] = v4 >>> 16;
    words[7] = v4 & 0xffff;
    family = 4;
  }

  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]*)$/.test(prefixText)) {
      return fail(REASONS.prefixSyntax);
    }
    prefix = Number(prefixText);
    if (prefix > bits) {
      return fail(REASONS.prefixRange(prefixText, family));
    }
  }
  // The mapped range ::ffff:0:0/96 is the IPv4 space, so /96 of it is an IPv4 /0.
  const mapped = family === 4 || (isV4Mapped(words) && prefix >= 96);
  const ownPrefix = family === 6 && mapped ? prefix - 96 : prefix;
  if (ownPrefix === 0) {
    return fail(REASONS.zeroPrefix);
  }

  const network = maskWords(words, family === 4 ? prefix + 96 : prefix);
  const result: ParsedCidr = { v4: mapped, words: network, prefix: ownPrefix };
  if (!network.every((w, k) => w === words[k])) {
    return fail(REASONS.hostBits(formatCidr(result)));
  }
  return result;
}

/** The most helpful reason for text without a colon that is not a strict dotted quad. */
function whyNotIPv4(text: string): string {
  const parts = text.split('.');
  if (parts.some((part) => !/^([0-9]+|0[xX][0-9a-fA-F]*)$/.test(part))) {
    return REASONS.garbage;
  }
  if (parts.some((part) => /^0[xX]/.test(part))) {
    return REASONS.ipv4Hex;
  }
  if (parts.length !== 4) {
    return REASONS.ipv4Parts;
  }
  const leadingZero = parts.find((part) => part.length > 1 && part.startsWith('0'));
  if (leadingZero !== undefined) {
    return REASONS.ipv4LeadingZero;
  }
  const outOfRange = parts.find((part) => Number(part) > 255);
  return outOfRange !== undefined ? REASONS.ipv4PartRange(outOfRange) : REASONS.garbage;
}

function maskWords(words: Uint16Array, prefix: number): Uint16Array {
  const masked = new Uint16Array(8);
  for (let k = 0; k < 8; k++) {
    const keep = Math.min(16, Math.max(0, prefix - 16 * k));
    masked[k] = keep === 0 ? 0 : words[k] & ((0xffff << (16 - keep)) & 0xffff);
  }
  return masked;
}

function formatAddress(parsed: ParsedCidr): string {
  const w = parsed.words;
  if (parsed.v4) {
    return `${w[6] >>> 8}.${w[6] & 0xff}.${w[7] >>> 8}.${w[7] & 0xff}`;
  }
  return new ipaddr.IPv6(Array.from(w)).toRFC5952String();
}

function formatCidr(parsed: ParsedCidr): string {
  return `${formatAddress(parsed)}/${parsed.prefix}`;
}

/** The input as it appears in messages: quoted, escaped, and short enough for a log line or an error body. */
function quote(input: string): string {
  return JSON.stringify(input.length > MAX_INPUT_LENGTH ? `${input.slice(0, MAX_INPUT_LENGTH)}...` : input);
}
