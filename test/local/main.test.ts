import { parseStartArgs, UsageError } from '../../local/main';

/* `npm start`'s flags. */

test('defaults: ports 8080 and 8081, persistent data, the echo upstream', () => {
  expect(parseStartArgs([])).toEqual({
    port: 8080,
    adminPort: 8081,
    upstreamUrl: undefined,
    propagationDelaySeconds: undefined,
    inMemory: false,
    dataDir: undefined,
    quiet: false,
    help: false,
  });
});

test('every flag is read', () => {
  expect(
    parseStartArgs([
      '--port',
      '0',
      '--admin-port',
      '9001',
      '--upstream',
      'http://127.0.0.1:3000',
      '--ttl',
      '10',
      '--in-memory',
      '--data-dir',
      '/tmp/x',
      '--quiet',
    ]),
  ).toEqual({
    port: 0,
    adminPort: 9001,
    upstreamUrl: 'http://127.0.0.1:3000',
    propagationDelaySeconds: 10,
    inMemory: true,
    dataDir: '/tmp/x',
    quiet: true,
    help: false,
  });
});

test.each([
  [['--port', '70000'], /--port must be a port number/],
  [['--port', 'abc'], /--port must be a port number/],
  [['--ttl', '3601'], /--ttl must be a whole number of seconds from 0 to 3600/],
  [['--ttl', '1.5'], /--ttl must be/],
  [['--upstream', 'ftp://x'], /--upstream must be an http\(s\) URL/],
  [['--upstream', 'not a url'], /--upstream must be a URL/],
  [['--bogus'], /Unknown option '--bogus'/],
])('%j is refused with a message naming the flag', (args, message) => {
  expect(() => parseStartArgs(args)).toThrow(UsageError);
  expect(() => parseStartArgs(args)).toThrow(message);
});
