import {
  AllowlistEntryError,
  compileAllowlist,
  familiesCoveredBy,
  normalizeAllowlistEntry,
  normalizeIpAddress,
} from '../../../lambda/core/allowlist';

/** Runs `fn`, expects an AllowlistEntryError, and returns it for closer inspection. */
function rejection(fn: () => unknown): AllowlistEntryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AllowlistEntryError);
    return err as AllowlistEntryError;
  }
  throw new Error('expected an AllowlistEntryError, but nothing was thrown');
}

describe('normalizeAllowlistEntry: accepted forms', () => {
  test.each([
    ['a single IPv4 address gets /32', '203.0.113.10', '203.0.113.10/32'],
    ['an explicit /32 is the same entry as the bare address', '203.0.113.10/32', '203.0.113.10/32'],
    ['an IPv4 network stays as it is', '10.0.0.0/8', '10.0.0.0/8'],
    ['IPv4 /1 is the widest range accepted', '128.0.0.0/1', '128.0.0.0/1'],
    ['0.0.0.0 as a single address is an ordinary /32', '0.0.0.0', '0.0.0.0/32'],
    ['a single IPv6 address gets /128', '2001:db8::1', '2001:db8::1/128'],
    ['an IPv6 network stays as it is', '2001:db8::/32', '2001:db8::/32'],
    ['IPv6 hex is lowercased', '2001:DB8:AbCd::1', '2001:db8:abcd::1/128'],
    [
      'an IPv6 network in upper case with zero groups written out (the README example)',
      '2001:DB8:0:0::/32',
      '2001:db8::/32',
    ],
    ['IPv6 leading zeros in groups are dropped', '2001:0db8:0000:0000:0000:0000:0000:0001/128', '2001:db8::1/128'],
    ['IPv6 single zero group is not compressed (RFC 5952 4.2.2)', '2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1/128'],
    ['IPv6 longest zero run is the one compressed', '2001:0:0:1:0:0:0:1', '2001:0:0:1::1/128'],
    ['IPv6 equal zero runs compress the first', '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
    ['IPv6 with :: at the end', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0/128'],
    ['IPv6 with :: at the start', '::1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7/128'],
    ['IPv6 all-zero address as a single address', '::', '::/128'],
    ['IPv6 /1 is the widest range accepted', '8000::/1', '8000::/1'],
    ['NAT64 with embedded IPv4 stays IPv6', '64:ff9b::198.51.100.7', '64:ff9b::c633:6407/128'],
    ['IPv4-compatible (deprecated) form stays IPv6', '::198.51.100.7', '::c633:6407/128'],
    ['IPv4-mapped address becomes IPv4', '::ffff:203.0.113.10', '203.0.113.10/32'],
    ['IPv4-mapped address in hex becomes IPv4', '::FFFF:cb00:710a', '203.0.113.10/32'],
    ['IPv4-mapped address fully written out becomes IPv4', '0:0:0:0:0:ffff:203.0.113.10/128', '203.0.113.10/32'],
    ['IPv4-mapped /120 becomes IPv4 /24', '::ffff:203.0.113.0/120', '203.0.113.0/24'],
    ['IPv4-mapped /97 becomes IPv4 /1', '::ffff:128.0.0.0/97', '128.0.0.0/1'],
    ['IPv4-mapped /104 becomes IPv4 /8 (the README example)', '::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['an IPv6 range containing the mapped range stays IPv6', '::fffe:0:0/95', '::fffe:0:0/95'],
    ['surrounding spaces are trimmed', '  10.0.0.0/8  ', '10.0.0.0/8'],
    ['surrounding tabs and newlines are trimmed', '\t2001:db8::/48\n', '2001:db8::/48'],
  ])('%s: %j -> %j', (_rule, input, expected) => {
    // act
    const normalized = normalizeAllowlistEntry(input);

    // assess
    expect(normalized).toBe(expected);
  });

  test('a normalized entry normalizes to itself', () => {
    // prepare
    const once = normalizeAllowlistEntry(' ::FFFF:203.0.113.0/120 ');

    // act
    const twice = normalizeAllowlistEntry(once);

    // assess
    expect(twice).toBe(once);
  });
});

describe('normalizeAllowlistEntry: rejections', () => {
  test.each([
    ['empty', '', 'it is empty'],
    ['only whitespace', '   ', 'it is empty'],
    ['garbage', 'hello', 'it is not an IPv4 or IPv6 address or CIDR range'],
    ['a host name', 'example.com', 'it is not an IPv4 or IPv6 address or CIDR range'],
    ['an address range with a dash', '10.0.0.1-10.0.0.9', 'it is not an IPv4 or IPv6 address or CIDR range'],
    ['inner whitespace', '10.0.0.0 /8', 'it is not an IPv4 or IPv6 address or CIDR range'],
    ['a missing address', '/8', 'it is not an IPv4 or IPv6 address or CIDR range'],
    ['IPv4 part out of range', '10.0.0.256', 'IPv4 part 256 is out of range (0-255)'],
    ['IPv6 with two ::', '2001::db8::1', 'it is not a valid IPv6 address'],
    ['IPv6 with nine groups', '1:2:3:4:5:6:7:8:9', 'it is not a valid IPv6 address'],
    ['IPv6 with a five-digit group', '2001:0db80::1', 'it is not a valid IPv6 address'],
    ['IPv6 with a non-hex digit', '2001:db8::g', 'it is not a valid IPv6 address'],
    ['IPv6 with a single leading colon', ':1::', 'it is not a valid IPv6 address'],
    ['IPv6 with a single trailing colon', '1::2:', 'it is not a valid IPv6 address'],
    ['IPv6 with :: standing for no group', '1:2:3:4:5:6:7:8::', 'it is not a valid IPv6 address'],
    ['IPv6 in brackets', '[2001:db8::1]', 'it is not a valid IPv6 address'],
    ['IPv6 with embedded IPv4 not at the end', '::1.2.3.4:1', 'it is not a valid IPv6 address'],
    ['IPv6 with an embedded IPv4 with leading zeros', '::ffff:010.0.0.1', 'it is not a valid IPv6 address'],
  ])('%s: %j', (_rule, input, reason) => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.input).toBe(input);
    expect(err.reason).toBe(reason);
    expect(err.message).toBe(`${JSON.stringify(input)} is not a valid allowlist entry: ${reason}`);
  });

  test.each([
    ['an IPv4 part with a leading zero', '010.0.0.1'],
    ['an octal-looking IPv4 part', '0177.0.0.1'],
    ['a leading zero in the last IPv4 part', '10.0.0.01'],
  ])('IPv4 leading zeros / octal are rejected: %s (%j)', (_rule, input) => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.reason).toBe('IPv4 parts must not have leading zeros (010 would be read as octal by some tools)');
    expect(err.message).toContain(JSON.stringify(input));
  });

  test.each(['0x7f.0.0.1', '0x7F000001', '10.0.0.0xff'])('IPv4 hexadecimal is rejected: %j', (input) => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.reason).toBe('IPv4 parts must be decimal; hexadecimal (0x...) is not accepted');
  });

  test.each(['127.1', '10.1.1', '2130706433', '1.2.3.4.5'])('IPv4 not in four parts is rejected: %j', (input) => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.reason).toBe(
      'IPv4 addresses must have exactly four dot-separated decimal parts (short forms like 127.1 are not accepted)',
    );
  });

  test.each(['fe80::1%eth0', 'fe80::1%25eth0', 'fe80::%1/64'])('zone ids are rejected: %j', (input) => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.reason).toMatch(/^zone ids/);
    expect(err.message).toContain(JSON.stringify(input));
  });

  test.each([
    ['IPv4 /33', '10.0.0.0/33', 'prefix length /33 is out of range for IPv4 (1-32)'],
    ['IPv4 huge prefix', '10.0.0.0/4294967328', 'prefix length /4294967328 is out of range for IPv4 (1-32)'],
    ['IPv6 /129', '2001:db8::/129', 'prefix length /129 is out of range for IPv6 (1-128)'],
    [
      'IPv4-mapped IPv6 is checked against the IPv6 range',
      '::ffff:10.0.0.0/129',
      'prefix length /129 is out of range for IPv6 (1-128)',
    ],
  ])('prefix out of range: %s', (_rule, input, reason) => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.reason).toBe(reason);
  });

  test.each([
    '10.0.0.0/08',
    '10.0.0.0/+8',
    '10.0.0.0/-8',
    '10.0.0.0/8.0',
    '10.0.0.0/ 8',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '2001:db8::/0x20',
  ])('a prefix that is not plain decimal is rejected: %j', (input) => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.reason).toBe('the prefix length must be a plain decimal number without sign or leading zeros');
  });

  test.each([
    ['IPv4', '10.0.0.1/8', '10.0.0.0/8'],
    ['IPv4 /31', '192.0.2.1/31', '192.0.2.0/31'],
    ['IPv6', '2001:db8::1/32', '2001:db8::/32'],
    ['IPv6 in the middle of a group', '2001:db8:ffff::/33', '2001:db8:8000::/33'],
    ['IPv4-mapped at a prefix that maps to IPv4', '::ffff:203.0.113.10/120', '203.0.113.0/24'],
    ['IPv4-mapped at a prefix wider than the mapped range', '::ffff:203.0.113.10/64', '::/64'],
  ])('host bits set is rejected with the network suggested: %s', (_rule, input, suggestion) => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.reason).toBe(`host bits are set; did you mean ${suggestion}?`);
    expect(err.message).toBe(
      `${JSON.stringify(input)} is not a valid allowlist entry: host bits are set; did you mean ${suggestion}?`,
    );
  });

  test('the host-bits suggestion is itself a valid canonical entry', () => {
    // prepare
    const err = rejection(() => normalizeAllowlistEntry('2001:DB8::1/32'));
    const suggestion = /did you mean (.*)\?$/.exec(err.reason)?.[1] ?? '';

    // act
    const normalized = normalizeAllowlistEntry(suggestion);

    // assess
    expect(normalized).toBe(suggestion);
  });

  test.each(['0.0.0.0/0', '10.0.0.0/0', '::/0', '2001:db8::/0', '::ffff:0:0/96', '::ffff:10.0.0.0/96'])(
    '/0 ranges are rejected with a pointer to disabling the list: %j',
    (input) => {
      // act
      const err = rejection(() => normalizeAllowlistEntry(input));

      // assess
      expect(err.reason).toBe('a /0 range allows every address; to allow everyone, disable the allowlist instead');
    },
  );

  test('very long input is rejected before parsing, and the message quotes only its start', () => {
    // prepare
    const input = `10.0.0.0/8${' '.repeat(200)}`;

    // act
    const err = rejection(() => normalizeAllowlistEntry(input));

    // assess
    expect(err.reason).toBe('it is longer than 100 characters');
    expect(err.input).toBe(input);
    expect(err.message.length).toBeLessThan(200);
  });

  test('a non-string from untyped callers is rejected, not crashed on', () => {
    // act
    const err = rejection(() => normalizeAllowlistEntry(42 as unknown as string));

    // assess
    expect(err.reason).toBe('it is not a string');
    expect(err.input).toBe('42');
  });

  test('the error is a named Error subclass', () => {
    // act
    const err = rejection(() => normalizeAllowlistEntry('nope'));

    // assess
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AllowlistEntryError');
  });
});

describe('normalizeIpAddress', () => {
  test.each([
    ['IPv4', '203.0.113.10', '203.0.113.10'],
    ['IPv4 with whitespace', ' 203.0.113.10\n', '203.0.113.10'],
    ['IPv6 in canonical form', '2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['IPv4-mapped IPv6 as IPv4', '::ffff:203.0.113.10', '203.0.113.10'],
    ['IPv4-mapped IPv6 in hex as IPv4', '::ffff:cb00:710a', '203.0.113.10'],
    ['NAT64 stays IPv6', '64:ff9b::203.0.113.10', '64:ff9b::cb00:710a'],
  ])('%s: %j -> %j', (_rule, input, expected) => {
    // act
    const normalized = normalizeIpAddress(input);

    // assess
    expect(normalized).toBe(expected);
  });

  test.each([
    ['a CIDR range', '10.0.0.0/8', 'expected a single IP address, not a CIDR range'],
    ['an explicit /32', '10.0.0.1/32', 'expected a single IP address, not a CIDR range'],
    ['an explicit /128', '2001:db8::1/128', 'expected a single IP address, not a CIDR range'],
    ['garbage', 'localhost', 'it is not an IPv4 or IPv6 address or CIDR range'],
    ['empty', '', 'it is empty'],
    [
      'IPv4 short form',
      '127.1',
      'IPv4 addresses must have exactly four dot-separated decimal parts (short forms like 127.1 are not accepted)',
    ],
  ])('rejects %s', (_rule, input, reason) => {
    // act
    const err = rejection(() => normalizeIpAddress(input));

    // assess
    expect(err.reason).toBe(reason);
    expect(err.message).toBe(`${JSON.stringify(input)} is not a valid IP address: ${reason}`);
  });

  test('rejects a zone id', () => {
    // act
    const err = rejection(() => normalizeIpAddress('fe80::1%eth0'));

    // assess
    expect(err.reason).toMatch(/^zone ids/);
  });
});

describe('compileAllowlist', () => {
  test('an empty list matches nothing', () => {
    // prepare
    const list = compileAllowlist([]);

    // act
    const results = ['203.0.113.10', '2001:db8::1', '::ffff:203.0.113.10'].map((ip) => list.match(ip));

    // assess
    expect(list.size).toBe(0);
    expect(results).toEqual([undefined, undefined, undefined]);
  });

  test('returns the canonical form of the matching entry, not the text it was given', () => {
    // prepare
    const list = compileAllowlist([' 203.0.113.10 ', '2001:DB8:0:0::/64']);

    // act
    const v4 = list.match('203.0.113.10');
    const v6 = list.match('2001:db8::42');

    // assess
    expect(v4).toBe('203.0.113.10/32');
    expect(v6).toBe('2001:db8::/64');
  });

  test('an address outside every entry matches nothing', () => {
    // prepare
    const list = compileAllowlist(['10.0.0.0/8', '2001:db8::/32']);

    // act
    const results = ['11.0.0.0', '9.255.255.255', '2001:db9::', '2001:db7:ffff::1'].map((ip) => list.match(ip));

    // assess
    expect(results).toEqual([undefined, undefined, undefined, undefined]);
  });

  test('range boundaries are inclusive on both ends', () => {
    // prepare
    const list = compileAllowlist(['192.0.2.0/24', '2001:db8::/126']);

    // act
    const results = ['192.0.2.0', '192.0.2.255', '2001:db8::', '2001:db8::3'].map((ip) => list.match(ip));

    // assess
    expect(results).toEqual(['192.0.2.0/24', '192.0.2.0/24', '2001:db8::/126', '2001:db8::/126']);
  });

  test('the most specific matching entry wins, whatever the order of the list', () => {
    // prepare
    const list = compileAllowlist(['10.1.2.3', '10.0.0.0/8', '10.1.0.0/16', '2001:db8:1::/48', '2001:db8::/32']);

    // act
    const results = ['10.1.2.3', '10.1.9.9', '10.9.9.9', '2001:db8:1::1', '2001:db8:2::1'].map((ip) => list.match(ip));

    // assess
    expect(results).toEqual(['10.1.2.3/32', '10.1.0.0/16', '10.0.0.0/8', '2001:db8:1::/48', '2001:db8::/32']);
  });

  test('duplicates in any textual form collapse into one entry', () => {
    // prepare
    const list = compileAllowlist(['10.0.0.1', '10.0.0.1/32', ' ::ffff:10.0.0.1 ', '2001:db8::1', '2001:DB8::0:1/128']);

    // act
    const size = list.size;

    // assess
    expect(size).toBe(2);
    expect(list.match('10.0.0.1')).toBe('10.0.0.1/32');
  });

  test('an invalid entry makes compilation throw an AllowlistEntryError naming it', () => {
    // act
    const err = rejection(() => compileAllowlist(['10.0.0.0/8', '10.0.0.1/8']));

    // assess
    expect(err.input).toBe('10.0.0.1/8');
    expect(err.message).toBe(
      '"10.0.0.1/8" is not a valid allowlist entry: host bits are set; did you mean 10.0.0.0/8?',
    );
  });

  test.each([
    ['compressed', '2001:db8::7'],
    ['uppercase', '2001:DB8::7'],
    ['fully written out', '2001:0db8:0000:0000:0000:0000:0000:0007'],
    ['zero groups written out without compression', '2001:db8:0:0:0:0:0:7'],
    ['with an embedded IPv4 tail', '2001:db8::0.0.0.7'],
  ])('IPv6 callers match in any valid textual form: %s', (_rule, ip) => {
    // prepare
    const list = compileAllowlist(['2001:db8::7']);

    // act
    const result = list.match(ip);

    // assess
    expect(result).toBe('2001:db8::7/128');
  });

  test.each(['::ffff:203.0.113.10', '::FFFF:203.0.113.10', '::ffff:cb00:710a', '0:0:0:0:0:ffff:203.0.113.10'])(
    'an IPv4-mapped caller matches IPv4 entries: %j',
    (ip) => {
      // prepare
      const list = compileAllowlist(['203.0.113.0/24']);

      // act
      const result = list.match(ip);

      // assess
      expect(result).toBe('203.0.113.0/24');
    },
  );

  test('an IPv4 caller matches an entry written as IPv4-mapped IPv6', () => {
    // prepare
    const list = compileAllowlist(['::ffff:203.0.113.0/120']);

    // act
    const result = list.match('203.0.113.10');

    // assess
    expect(result).toBe('203.0.113.0/24');
  });

  test.each(['64:ff9b::203.0.113.10', '::203.0.113.10', '2001:db8::cb00:710a', '::ffff:0:cb00:710a'])(
    'an IPv6 caller that is not IPv4-mapped does not match IPv4 entries: %j',
    (ip) => {
      // prepare
      const list = compileAllowlist(['203.0.113.0/24']);

      // act
      const result = list.match(ip);

      // assess
      expect(result).toBeUndefined();
    },
  );

  test('an IPv4 caller does not match an IPv6 entry outside the mapped range', () => {
    // prepare
    const list = compileAllowlist(['2001:db8::/32', '::cb00:710a/128', '64:ff9b::/96']);

    // act
    const result = list.match('203.0.113.10');

    // assess
    expect(result).toBeUndefined();
  });

  test.each(['::/1', '::/64', '::/80', '::fffe:0:0/95', '::/95'])(
    'an IPv6 entry containing the whole IPv4-mapped range admits no IPv4 caller, mapped or not (families are disjoint): %s',
    (entry) => {
      // prepare
      const list = compileAllowlist([entry, '198.51.100.0/24']);

      // act
      const results = ['203.0.113.10', '::ffff:203.0.113.10', '0.0.0.0', '255.255.255.255', '198.51.100.1'].map((ip) =>
        list.match(ip),
      );

      // assess
      expect(results).toEqual([undefined, undefined, undefined, undefined, '198.51.100.0/24']);
    },
  );

  test('an IPv6 entry containing the mapped range still matches the IPv6 callers inside it', () => {
    // prepare
    const list = compileAllowlist(['::/64']);

    // act
    const results = ['::1', '::ffff:0:1:2', '::1:0:0:0:1'].map((ip) => list.match(ip));

    // assess (::ffff:0:1:2 is not IPv4-mapped: the ffff is in the wrong group)
    expect(results).toEqual(['::/64', '::/64', undefined]);
  });

  test.each([
    ['garbage', 'not an ip'],
    ['empty', ''],
    ['an IPv4 with a prefix', '203.0.113.10/32'],
    ['an IPv6 with a prefix', '2001:db8::1/128'],
    ['an IPv6 with a zone id', '2001:db8::1%eth0'],
    ['IPv4 short form', '203.113.10'],
    ['IPv4 with leading zeros', '203.000.113.010'],
    ['IPv4 hex', '0xcb.0.113.10'],
    ['IPv4 with whitespace', ' 203.0.113.10'],
    ['IPv4 with a port', '203.0.113.10:443'],
    ['IPv6 in brackets', '[2001:db8::1]'],
    ['IPv6 with a port', '[2001:db8::1]:443'],
    ['IPv6 with two ::', '2001::db8::1'],
    ['a very long string', '2'.repeat(10_000)],
    ['a comma-separated X-Forwarded-For list', '203.0.113.10, 10.0.0.1'],
  ])('an unparseable caller (%s) matches nothing and does not throw', (_rule, ip) => {
    // prepare
    const list = compileAllowlist([
      '203.0.113.0/24',
      '2001:db8::/32',
      '10.0.0.0/8',
      '::/1',
      '8000::/1',
      '0.0.0.0/1',
      '128.0.0.0/1',
    ]);

    // act
    const result = list.match(ip);

    // assess
    expect(result).toBeUndefined();
  });

  test.each([undefined, null, 42, {}, ['203.0.113.10']])(
    'a non-string caller (%p) matches nothing and does not throw',
    (ip) => {
      // prepare
      const list = compileAllowlist(['0.0.0.0/1', '128.0.0.0/1']);

      // act
      const result = list.match(ip as string);

      // assess
      expect(result).toBeUndefined();
    },
  );
});

describe('familiesCoveredBy: entries that together admit a whole family', () => {
  test.each([
    ['two IPv4 halves', ['0.0.0.0/1', '128.0.0.0/1'], [{ family: 4, entries: ['0.0.0.0/1', '128.0.0.0/1'] }]],
    [
      'IPv4 halves written as IPv4-mapped IPv6',
      ['::ffff:0.0.0.0/97', '::ffff:128.0.0.0/97'],
      [{ family: 4, entries: ['0.0.0.0/1', '128.0.0.0/1'] }],
    ],
    [
      'IPv4 in uneven pieces, with nested and duplicate entries left out of the answer',
      ['128.0.0.0/1', '0.0.0.0/2', '10.0.0.0/8', '64.0.0.0/3', '96.0.0.0/3', '10.0.0.0/8', '96.0.0.0/4'],
      [{ family: 4, entries: ['0.0.0.0/2', '64.0.0.0/3', '96.0.0.0/3', '128.0.0.0/1'] }],
    ],
    ['two IPv6 halves', ['8000::/1', '::/1', '2001:db8::/32'], [{ family: 6, entries: ['::/1', '8000::/1'] }]],
    [
      'both families',
      ['0.0.0.0/1', '128.0.0.0/1', '::/1', '8000::/1'],
      [
        { family: 4, entries: ['0.0.0.0/1', '128.0.0.0/1'] },
        { family: 6, entries: ['::/1', '8000::/1'] },
      ],
    ],
  ])('%s', (_what, entries, expected) => {
    // act
    const covers = familiesCoveredBy(entries);

    // assess
    expect(covers).toEqual(expected);
  });

  test.each([
    [
      'one address short of IPv4',
      [
        '0.0.0.0/1',
        '128.0.0.0/2',
        '192.0.0.0/3',
        '224.0.0.0/4',
        '240.0.0.0/5',
        '248.0.0.0/6',
        '252.0.0.0/7',
        '254.0.0.0/8',
        '255.0.0.0/9',
        '255.128.0.0/10',
        '255.192.0.0/11',
        '255.224.0.0/12',
        '255.240.0.0/13',
        '255.248.0.0/14',
        '255.252.0.0/15',
        '255.254.0.0/16',
        '255.255.0.0/17',
        '255.255.128.0/18',
        '255.255.192.0/19',
        '255.255.224.0/20',
        '255.255.240.0/21',
        '255.255.248.0/22',
        '255.255.252.0/23',
        '255.255.254.0/24',
        '255.255.255.0/25',
        '255.255.255.128/26',
        '255.255.255.192/27',
        '255.255.255.224/28',
        '255.255.255.240/29',
        '255.255.255.248/30',
        '255.255.255.252/31',
        '255.255.255.254/32',
      ],
    ],
    ['a gap at the start', ['128.0.0.0/1', '64.0.0.0/2']],
    ['IPv6 ranges that contain the IPv4-mapped range, and one IPv4 half', ['::/1', '::fffe:0:0/95', '0.0.0.0/1']],
    ['nothing', []],
  ])('%s: none', (_what, entries) => {
    // act
    const covers = familiesCoveredBy(entries);

    // assess
    expect(covers).toEqual([]);
  });

  test('IPv6 entries covering everything but the IPv4-mapped block cover IPv6: no IPv6 caller is ever in it', () => {
    // prepare: at every prefix length 1..96, the sibling of the path down to ::ffff:0:0/96
    const mapped = 0xffffn << 32n;
    const full = (n: bigint) => n.toString(16).padStart(32, '0').match(/.{4}/g)!.join(':');
    const entries = Array.from({ length: 96 }, (_, i) => {
      const prefix = i + 1;
      const bit = 1n << BigInt(128 - prefix);
      const sibling = (mapped & ~(bit * 2n - 1n)) | (~mapped & bit);
      return `${full(sibling)}/${prefix}`;
    });

    // act
    const covers = familiesCoveredBy(entries);
    const withoutOne = familiesCoveredBy(entries.slice(1));

    // assess
    expect(covers).toHaveLength(1);
    expect(covers[0].family).toBe(6);
    expect(covers[0].entries).toHaveLength(96);
    expect(covers[0].entries).toContain('8000::/1');
    expect(withoutOne).toEqual([]);
  });

  test('an invalid entry is an AllowlistEntryError, as in compileAllowlist', () => {
    // act
    const err = rejection(() => familiesCoveredBy(['0.0.0.0/1', '10.0.0.1/8']));

    // assess
    expect(err.input).toBe('10.0.0.1/8');
  });
});
