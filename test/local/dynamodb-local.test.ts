import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dynamoDbLocalJarDir, loopbackLauncher, startDynamoDbLocal } from '../../local/dynamodb-local';
import { testEndpoint } from '../support/dynamodb-local';

/*
 * Where DynamoDB Local listens, as the kernel reports it (Linux's /proc/net/tcp and tcp6): no traffic is sent
 * anywhere but loopback. With a JDK, local mode and the tests start it through the loopback launcher, and it
 * listens on 127.0.0.1 only; without a compiler it runs as shipped, on all interfaces, and says so.
 */

const onLinux = fs.existsSync('/proc/net/tcp') ? test : test.skip;

/** The local addresses of the sockets listening on `port`, in the kernel's own words. */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== '0A') continue; // 0A: LISTEN
      const [hex, portHex] = local.split(':');
      if (parseInt(portHex, 16) === port) found.push(readable(hex));
    }
  }
  return found;
}

/** /proc/net's hex (32-bit words in host byte order, little-endian here) as an address. */
function readable(hex: string): string {
  const bytes = (word: string) => Buffer.from(word, 'hex').reverse();
  if (hex.length === 8) return [...bytes(hex)].join('.');
  const raw = Buffer.concat([0, 8, 16, 24].map((i) => bytes(hex.slice(i, i + 8))));
  if (raw.subarray(0, 10).every((b) => b === 0) && raw[10] === 0xff && raw[11] === 0xff)
    return `::ffff:${[...raw.subarray(12)].join('.')}`;
  return raw.every((b) => b === 0) ? '::' : raw.toString('hex');
}

const portOf = (endpoint: string) => Number(new URL(endpoint).port);

onLinux("the tests' DynamoDB Local listens on 127.0.0.1 only", () => {
  const addresses = listeningAddresses(portOf(testEndpoint()));
  expect(addresses.length).toBeGreaterThan(0);
  expect(addresses.every((a) => a === '127.0.0.1' || a === '::ffff:127.0.0.1')).toBe(true);
});

onLinux(
  'local mode starts it on 127.0.0.1 only and says so',
  async () => {
    const ddb = await startDynamoDbLocal();
    try {
      expect(ddb.listensOn).toBe('127.0.0.1');
      const addresses = listeningAddresses(portOf(ddb.endpoint));
      expect(addresses.length).toBeGreaterThan(0);
      expect(addresses.every((a) => a === '127.0.0.1' || a === '::ffff:127.0.0.1')).toBe(true);
    } finally {
      await ddb.stop();
    }
  },
  90_000,
);

onLinux(
  'without a Java compiler it runs as shipped, on every interface, and says so',
  async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'no-launcher-'));
    const ddb = await startDynamoDbLocal({ javac: '/nonexistent/javac', launcherCacheDir: cache });
    try {
      expect(ddb.listensOn).toMatch(
        /^all interfaces \(the loopback launcher could not be compiled \(\/nonexistent\/javac: ENOENT\); a JDK provides javac\)$/,
      );
      expect(listeningAddresses(portOf(ddb.endpoint)).some((a) => a === '::' || a === '0.0.0.0')).toBe(true);
    } finally {
      await ddb.stop();
      fs.rmSync(cache, { recursive: true, force: true });
    }
  },
  90_000,
);

test('the launcher is compiled once into its cache folder, and found there afterwards', async () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-cache-'));
  try {
    const jarDir = dynamoDbLocalJarDir();
    const first = await loopbackLauncher(jarDir, 'javac', cache);
    expect(first).toEqual({ classDir: expect.stringContaining(cache) });
    const classDir = (first as { classDir: string }).classDir;
    expect(fs.existsSync(path.join(classDir, 'LoopbackDynamoDbLocal.class'))).toBe(true);
    // A second call does not compile: a compiler that cannot run is never asked.
    expect(await loopbackLauncher(jarDir, '/nonexistent/javac', cache)).toEqual({ classDir });
    expect(fs.readdirSync(cache)).toEqual([path.basename(classDir)]);
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}, 60_000);
