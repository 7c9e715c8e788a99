import * as net from 'node:net';

/**
 * Deterministic benchmark inputs: allowlists of N canonical CIDR entries and callers that fall inside them.
 * A seeded generator keeps every run (and the naive baseline beside the real handler) on the same inputs.
 */

export type Family = 'ipv4' | 'ipv6';

/** mulberry32: tiny, fast, good enough for picking addresses. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBits(rand: () => number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(Math.floor(rand() * 65536));
  return v & ((1n << BigInt(bits)) - 1n);
}

function formatV4(v: bigint): string {
  const n = Number(v);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function formatV6(v: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Node's BlockList/URL canonicalisation is not exposed as a function; compress the longest zero run ourselves
  // (RFC 5952) so entries look like what normalizeAllowlistEntry stores.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

/** Prefix lengths in the mix real lists have: mostly single hosts and small office ranges. */
const V4_PREFIXES = [32, 32, 32, 32, 32, 31, 30, 29, 28, 27, 26, 25, 24, 24, 24, 23, 22, 21, 20, 16, 12, 8];
const V6_PREFIXES = [128, 128, 128, 128, 127, 124, 120, 112, 96, 80, 64, 64, 64, 64, 60, 56, 52, 48, 48, 44, 40, 32];

export interface Range {
  /** Canonical CIDR, as stored. */
  readonly cidr: string;
  readonly network: bigint;
  readonly prefix: number;
}

/**
 * `count` distinct, non-overlapping canonical CIDR entries of one family. Overlap is avoided so that a caller
 * generated inside entry i matches exactly entry i, which lets the harness check both implementations' answers.
 */
export function generateRanges(family: Family, count: number, seed: number): Range[] {
  const rand = seededRandom(seed);
  const bits = family === 'ipv4' ? 32 : 128;
  const prefixes = family === 'ipv4' ? V4_PREFIXES : V6_PREFIXES;
  const ranges: Range[] = [];
  const overlaps = (a: Range, network: bigint, prefix: number) => {
    const p = BigInt(bits - Math.min(a.prefix, prefix));
    return a.network >> p === network >> p;
  };
  while (ranges.length < count) {
    const prefix = prefixes[Math.floor(rand() * prefixes.length)];
    let address = randomBits(rand, bits);
    if (family === 'ipv4') {
      // Public unicast space only (1.0.0.0 - 223.255.255.255, minus loopback), as a customer's egress would be.
      const first = Number(address >> 24n);
      if (first === 0 || first === 10 || first === 127 || first >= 224) continue;
    } else {
      // Global unicast 2000::/3.
      address = (address & ((1n << 125n) - 1n)) | (1n << 125n);
    }
    const hostBits = BigInt(bits - prefix);
    const network = (address >> hostBits) << hostBits;
    if (ranges.some((r) => overlaps(r, network, prefix))) continue;
    const text = family === 'ipv4' ? formatV4(network) : formatV6(network);
    ranges.push({ cidr: `${text}/${prefix}`, network, prefix });
  }
  return ranges;
}

/** An address inside the range (a random host of it). */
export function addressInside(range: Range, family: Family, rand: () => number): string {
  const bits = family === 'ipv4' ? 32 : 128;
  const hostBits = bits - range.prefix;
  const host = hostBits === 0 ? 0n : randomBits(rand, hostBits);
  const value = range.network | host;
  return family === 'ipv4' ? formatV4(value) : formatV6(value);
}

export interface Caller {
  readonly ip: string;
  /** The entry the caller must match. */
  readonly expected: string;
}

/** `count` callers spread over all entries, each allowed by exactly one of them. */
export function generateCallers(family: Family, ranges: readonly Range[], count: number, seed: number): Caller[] {
  const rand = seededRandom(seed);
  const callers: Caller[] = [];
  for (let i = 0; i < count; i++) {
    const range = ranges[Math.floor(rand() * ranges.length)];
    const ip = addressInside(range, family, rand);
    if (net.isIP(ip) === 0) throw new Error(`generated an invalid address ${ip}`);
    callers.push({ ip, expected: range.cidr });
  }
  return callers;
}
