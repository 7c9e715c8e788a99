import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import * as ipaddr from 'ipaddr.js';
import { compileAllowlist, familiesCoveredBy, normalizeAllowlistEntry } from '../../../lambda/core/allowlist';

/*
 * The oracle keeps the families apart, as Python's ipaddress, Go's net/netip and AWS WAF's IP sets do: IPv4 entries
 * go into one Node net.BlockList, IPv6 entries into another, and a caller is checked only against its own family's
 * list, after IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is folded to IPv4 with ipaddr.js. (A single BlockList would not
 * do: it puts IPv4 inside IPv6 at ::ffff:0:0/96, so an IPv6 rule such as ::/64 matches every IPv4 caller.)
 * Addresses are modelled as 128-bit bigints with IPv4 in its mapped position, so one generator produces IPv4,
 * IPv6 and mixed lists, and entries and callers are derived from a few shared seeds so that nested entries and
 * both match outcomes are common.
 */

const ALL_ONES = (1n << 128n) - 1n;
const MAPPED_BASE = 0xffffn << 32n;
const RUNS = 200;

const isMapped = (address: bigint): boolean => address >> 32n === 0xffffn;
const bitMask = (bit: number): bigint => 1n << BigInt(127 - bit);
const maskTo = (address: bigint, prefix: number): bigint => address & (ALL_ONES ^ (ALL_ONES >> BigInt(prefix)));

function words(address: bigint): number[] {
  return Array.from({ length: 8 }, (_, k) => Number((address >> BigInt(16 * (7 - k))) & 0xffffn));
}

function dotted(address: bigint): string {
  const v4 = Number(address & 0xffffffffn);
  return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.');
}

const rfc5952 = (address: bigint): string => new ipaddr.IPv6(words(address)).toRFC5952String();

/** Valid but non-canonical spellings of an IPv6 address (RFC 4291 section 2.2), chosen by `form`. */
function oddIPv6Text(address: bigint, form: number): string {
  const w = words(address);
  switch (form % 6) {
    case 0:
      return rfc5952(address);
    case 1:
      return w
        .map((x) => x.toString(16).padStart(4, '0'))
        .join(':')
        .toUpperCase();
    case 2:
      return w.map((x) => x.toString(16)).join(':');
    case 3:
      return `${w
        .slice(0, 6)
        .map((x) => x.toString(16).padStart(4, '0'))
        .join(':')}:${dotted(address)}`;
    case 4:
      return rfc5952(address).toUpperCase();
    default:
      // A `::` that hides only the first zero run found, even where RFC 5952 would pick another.
      return w
        .map((x) => x.toString(16))
        .join(':')
        .replace(/(^|:)0(:0)*(:|$)/, '::');
  }
}

/** How a caller in the IPv4 space (mapped range) may reach us: plain IPv4, or one of the IPv4-mapped spellings. */
function v4CallerText(address: bigint, form: number): string {
  switch (form % 5) {
    case 0:
    case 1:
      return dotted(address);
    case 2:
      return `::ffff:${dotted(address)}`;
    case 3:
      return `::FFFF:${words(address)
        .slice(6)
        .map((x) => x.toString(16))
        .join(':')}`;
    default:
      return `0:0:0:0:0:ffff:${dotted(address)}`;
  }
}

const callerText = (address: bigint, form: number): string =>
  isMapped(address) ? v4CallerText(address, form) : oddIPv6Text(address, form);

interface Entry {
  /** What the allowlist is given. */
  readonly text: string;
  /** Canonical form, computed with ipaddr.js rather than by the code under test. */
  readonly canonical: string;
  /** Network address in the 128-bit space (IPv4 in the mapped position). */
  readonly network: bigint;
  /** Prefix length in the 128-bit space (IPv4 /24 is 120). */
  readonly prefix128: number;
  /** The entry's family once IPv4-mapped ranges are folded to IPv4. */
  readonly family: Family;
  /** A BlockList holding only this entry: the oracle for "contains", asked only about callers of `family`. */
  readonly only: BlockList;
}

type Family = 'ipv4' | 'ipv6';

/** A caller as the oracle sees it: its family after folding IPv4-mapped IPv6, and its text in that family. */
function folded(text: string): { family: Family; text: string } {
  if (isIP(text) === 4) return { family: 'ipv4', text };
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress()
    ? { family: 'ipv4', text: address.toIPv4Address().toString() }
    : { family: 'ipv6', text };
}

/** The oracle: does `entry` contain the caller? Never across families. */
function contains(entry: Entry, caller: string): boolean {
  const c = folded(caller);
  return c.family === entry.family && entry.only.check(c.text, c.family);
}

function addTo(list: BlockList, network: bigint, prefix128: number): void {
  if (isMapped(network) && prefix128 > 96) {
    list.addSubnet(dotted(network), prefix128 - 96, 'ipv4');
  } else {
    list.addSubnet(rfc5952(network), prefix128, 'ipv6');
  }
}

function makeEntry(network: bigint, prefix128: number, form: number): Entry {
  const v4 = isMapped(network) && prefix128 > 96;
  const canonical = v4 ? `${dotted(network)}/${prefix128 - 96}` : `${rfc5952(network)}/${prefix128}`;
  let text: string;
  if (v4) {
    text = form % 3 === 2 ? `${v4CallerText(network, 2)}/${prefix128}` : canonical;
  } else {
    text = `${oddIPv6Text(network, form)}/${prefix128}`;
  }
  const only = new BlockList();
  addTo(only, network, prefix128);
  return { text, canonical, network, prefix128, family: v4 ? 'ipv4' : 'ipv6', only };
}

type SeedKind = 'v4' | 'v6' | 'nearZero';

const seedArb = (kind: SeedKind): fc.Arbitrary<bigint> => {
  switch (kind) {
    case 'v4':
      return fc.integer({ min: 0, max: 0xffffffff }).map((x) => MAPPED_BASE | BigInt(x));
    case 'v6':
      return fc.bigInt({ min: 0n, max: ALL_ONES });
    default:
      // Entries near :: with short prefixes contain the whole mapped range, so they cover IPv4 callers.
      return fc.bigInt({ min: 0n, max: (1n << 40n) - 1n });
  }
};

const flipsArb = fc.record({
  bits: fc.array(fc.integer({ min: 0, max: 127 }), { maxLength: 3 }),
  lowOnly: fc.boolean(),
});

function applyFlips(address: bigint, flips: { bits: number[]; lowOnly: boolean }): bigint {
  return flips.bits.reduce((a, bit) => a ^ bitMask(flips.lowOnly ? 96 + (bit % 32) : bit), address);
}

/** A list of entries and callers around shared seeds. */
function scenarioArb(kinds: readonly SeedKind[]) {
  return fc
    .record({
      seeds: fc.array(fc.oneof(...kinds.map(seedArb)), { minLength: 1, maxLength: 4 }),
      entries: fc.array(
        fc.record({
          seed: fc.nat(),
          flips: flipsArb,
          prefix4: fc.integer({ min: 1, max: 32 }),
          prefix6: fc.integer({ min: 1, max: 128 }),
          useV4Prefix: fc.integer({ min: 0, max: 4 }),
          form: fc.nat(),
        }),
        { maxLength: 20 },
      ),
      callers: fc.array(
        fc.record({
          seed: fc.nat(),
          flips: flipsArb,
          form: fc.nat(),
          // Mostly near the seeds, sometimes anywhere.
          random: fc.oneof(
            { weight: 4, arbitrary: fc.constant(null) },
            { weight: 1, arbitrary: fc.oneof(...kinds.map(seedArb)) },
          ),
        }),
        { minLength: 1, maxLength: 10 },
      ),
    })
    .map(({ seeds, entries, callers }) => {
      const built: Entry[] = [];
      for (const e of entries) {
        const seed = seeds[e.seed % seeds.length];
        const prefix128 = isMapped(seed) && e.useV4Prefix > 0 ? 96 + e.prefix4 : e.prefix6;
        const network = maskTo(applyFlips(seed, e.flips), prefix128);
        // ::ffff:0:0/96 is IPv4's /0, which the allowlist rejects by design.
        if (!(prefix128 === 96 && isMapped(network))) {
          built.push(makeEntry(network, prefix128, e.form));
        }
      }
      const callerTexts = callers.map((c) =>
        callerText(c.random ?? applyFlips(seeds[c.seed % seeds.length], c.flips), c.form),
      );
      return { entries: built, callers: callerTexts };
    });
}

function checkAgainstOracle(entries: readonly Entry[], callers: readonly string[]): void {
  const allowlist = compileAllowlist(entries.map((e) => e.text));
  const byFamily: Record<Family, BlockList> = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const e of entries) {
    addTo(byFamily[e.family], e.network, e.prefix128);
  }
  for (const caller of callers) {
    const result = allowlist.match(caller);
    const c = folded(caller);
    expect({ caller, matched: result !== undefined }).toEqual({
      caller,
      matched: byFamily[c.family].check(c.text, c.family),
    });

    const containing = entries.filter((e) => contains(e, caller));
    const longest = Math.max(-1, ...containing.map((e) => e.prefix128));
    const expected = containing.find((e) => e.prefix128 === longest)?.canonical;
    expect({ caller, result }).toEqual({ caller, result: expected });
  }
}

describe('compileAllowlist(...).match agrees with a per-family oracle and returns the most specific entry', () => {
  test('IPv4 entries, IPv4 and IPv4-mapped callers', () => {
    fc.assert(
      fc.property(scenarioArb(['v4']), ({ entries, callers }) => checkAgainstOracle(entries, callers)),
      { numRuns: RUNS },
    );
  });

  test('IPv6 entries, IPv6 callers', () => {
    fc.assert(
      fc.property(scenarioArb(['v6']), ({ entries, callers }) => checkAgainstOracle(entries, callers)),
      { numRuns: RUNS },
    );
  });

  test('mixed lists, including IPv6 ranges that contain the whole IPv4-mapped range (they admit no IPv4 caller)', () => {
    fc.assert(
      fc.property(scenarioArb(['v4', 'v6', 'nearZero']), ({ entries, callers }) =>
        checkAgainstOracle(entries, callers),
      ),
      { numRuns: RUNS },
    );
  });

  test('no IPv6 entry, however wide, ever matches an IPv4 or IPv4-mapped caller', () => {
    fc.assert(
      fc.property(scenarioArb(['v4', 'nearZero']), ({ entries, callers }) => {
        const v6Only = entries.filter((e) => e.family === 'ipv6');
        const allowlist = compileAllowlist(v6Only.map((e) => e.text));
        for (const caller of callers.filter((c) => folded(c).family === 'ipv4')) {
          expect({ caller, result: allowlist.match(caller) }).toEqual({ caller, result: undefined });
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('the generators produce both outcomes often, and IPv6 ranges around IPv4 callers (guards against vacuity)', () => {
    // prepare
    const samples = fc.sample(scenarioArb(['v4', 'v6', 'nearZero']), { numRuns: 200, seed: 1 });
    let matched = 0;
    let missed = 0;
    let nested = 0;
    let acrossFamilies = 0;

    // act
    for (const { entries, callers } of samples) {
      const allowlist = compileAllowlist(entries.map((e) => e.text));
      for (const caller of callers) {
        const containing = entries.filter((e) => contains(e, caller)).length;
        if (allowlist.match(caller) === undefined) missed++;
        else matched++;
        if (containing > 1) nested++;
        // A single BlockList (IPv4 inside IPv6) would say an IPv6 entry contains this IPv4 caller.
        const mixed = new BlockList();
        entries.filter((e) => e.family === 'ipv6').forEach((e) => addTo(mixed, e.network, e.prefix128));
        if (folded(caller).family === 'ipv4' && mixed.check(folded(caller).text, 'ipv4')) acrossFamilies++;
      }
    }

    // assess
    const total = matched + missed;
    expect(matched / total).toBeGreaterThan(0.2);
    expect(missed / total).toBeGreaterThan(0.2);
    expect(nested / total).toBeGreaterThan(0.05);
    expect(acrossFamilies).toBeGreaterThan(10);
  });
});

describe('familiesCoveredBy against lists built to cover a family, or to miss one address of it', () => {
  /** A random partition of a family into CIDR pieces: each piece is split in two, or kept, down to depth `maxDepth`. */
  const partitionArb = (family: 4 | 6) =>
    fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }).map((coin) => {
      const bits = family === 4 ? 32 : 128;
      const pieces: { start: bigint; prefix: number }[] = [];
      let flip = 0;
      const split = (start: bigint, prefix: number): void => {
        // Always split the whole space once (a /0 is not an entry), then split on coin flips, at most 8 deep.
        if (prefix === 0 || (prefix < 8 && coin[flip++ % coin.length])) {
          split(start, prefix + 1);
          split(start | (1n << BigInt(bits - prefix - 1)), prefix + 1);
        } else {
          pieces.push({ start, prefix });
        }
      };
      split(0n, 0);
      return pieces.map(({ start, prefix }) =>
        family === 4 ? `${dotted(start)}/${prefix}` : `${rfc5952(start)}/${prefix}`,
      );
    });

  const scenario = fc.record({
    family: fc.constantFrom(4 as const, 6 as const),
    drop: fc.option(fc.nat(), { freq: 2 }),
    nested: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 5 }),
  });

  test('a partition covers its family exactly with its pieces; without any one piece it covers nothing', () => {
    fc.assert(
      fc.property(scenario, partitionArb(4), partitionArb(6), ({ family, drop, nested }, v4Pieces, v6Pieces) => {
        const pieces = family === 4 ? v4Pieces : v6Pieces;
        // Entries inside the pieces (single addresses) never change the answer, nor its list of needed entries.
        const extra = nested.map((x) => (family === 4 ? dotted(BigInt(x)) : rfc5952(BigInt(x) << 96n)));
        const kept = drop === null ? pieces : pieces.filter((_, i) => i !== drop % pieces.length);
        const covers = familiesCoveredBy([...extra, ...kept].reverse());
        if (drop === null) {
          expect(covers).toEqual([{ family, entries: pieces }]);
        } else {
          expect(covers).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('normalizeAllowlistEntry on random valid CIDRs in odd textual forms', () => {
  const cidrArb = fc
    .record({
      address: fc.oneof(seedArb('v4'), seedArb('v6'), seedArb('nearZero')),
      prefix4: fc.integer({ min: 1, max: 32 }),
      prefix6: fc.integer({ min: 1, max: 128 }),
      useV4Prefix: fc.boolean(),
      form: fc.nat(),
      padding: fc.constantFrom('', ' ', '\t', '  \n'),
      explicitFullPrefix: fc.boolean(),
    })
    .filter(({ address, prefix6, useV4Prefix }) => !(isMapped(address) && !useV4Prefix && prefix6 === 96))
    .map(({ address, prefix4, prefix6, useV4Prefix, form, padding, explicitFullPrefix }) => {
      const prefix128 = isMapped(address) && useV4Prefix ? 96 + prefix4 : prefix6;
      const network = maskTo(address, prefix128);
      const entry = makeEntry(network, prefix128, form);
      const mappedV4 = isMapped(network) && prefix128 > 96;
      let text = entry.text;
      if (!explicitFullPrefix && prefix128 === 128) {
        // A bare address means the same as its /32 or /128.
        text = mappedV4 && form % 3 !== 2 ? dotted(network) : text.replace(/\/128$/, '');
      }
      return { text: `${padding}${text}${padding}`, canonical: entry.canonical };
    });

  test('yields the canonical CIDR computed independently with ipaddr.js', () => {
    fc.assert(
      fc.property(cidrArb, ({ text, canonical }) => {
        expect(normalizeAllowlistEntry(text)).toBe(canonical);
      }),
      { numRuns: 500 },
    );
  });

  test('is idempotent', () => {
    fc.assert(
      fc.property(cidrArb, ({ text }) => {
        const once = normalizeAllowlistEntry(text);
        expect(normalizeAllowlistEntry(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the caller-IP parser accepts exactly what Node accepts as an IP address', () => {
  // Covers every address, so "matches" means "parsed".
  const everything = compileAllowlist(['0.0.0.0/1', '128.0.0.0/1', '::/1', '8000::/1']);

  // Mostly well-formed parts, with a share of the classic mistakes: empty, too long, leading zeros, out of range.
  const octet = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 255 }).map(String) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9]{0,4}$/) },
  );
  const v4ish = fc
    .oneof(
      { weight: 4, arbitrary: fc.array(octet, { minLength: 4, maxLength: 4 }) },
      { weight: 1, arbitrary: fc.array(octet, { minLength: 1, maxLength: 5 }) },
    )
    .map((parts) => parts.join('.'));
  const group = fc.oneof(
    { weight: 8, arbitrary: fc.stringMatching(/^[0-9a-fA-F]{1,4}$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-fA-F]{0,5}$/) },
  );
  const v6ish = fc
    .record({
      groups: fc.array(group, { maxLength: 9 }),
      gapAt: fc.option(fc.nat(), { freq: 4 }),
      tail: fc.option(v4ish, { freq: 2 }),
      lead: fc.constantFrom('', '', '', ':'),
      trail: fc.constantFrom('', '', '', ':'),
    })
    .map(({ groups, gapAt, tail, lead, trail }) => {
      const parts = tail === null ? [...groups] : [...groups, tail];
      if (gapAt !== null) parts.splice(gapAt % (parts.length + 1), 0, '');
      let text = parts.join(':');
      if (gapAt !== null && (text.startsWith(':') || text === '')) text = `:${text}`;
      if (gapAt !== null && text.endsWith(':')) text = `${text}:`;
      return `${lead}${text}${trail}`;
    });

  test('on near-valid IPv4 and IPv6 strings', () => {
    fc.assert(
      fc.property(fc.oneof(v4ish, v6ish), (text) => {
        expect({ text, parsed: everything.match(text) !== undefined }).toEqual({ text, parsed: isIP(text) !== 0 });
      }),
      { numRuns: 3000 },
    );
  });

  test('the near-valid generator produces both valid and invalid strings often', () => {
    // prepare
    const samples = fc.sample(fc.oneof(v4ish, v6ish), { numRuns: 2000, seed: 1 });

    // act
    const valid = samples.filter((s) => isIP(s) !== 0).length;

    // assess
    expect(valid / samples.length).toBeGreaterThan(0.1);
    expect(valid / samples.length).toBeLessThan(0.9);
  });
});
