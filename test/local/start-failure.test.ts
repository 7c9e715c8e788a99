import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocalMode } from '../../local/local-mode';
import { synthGatewayFixture } from './fixtures/gateway-fixture';

/*
 * A start that fails half-way (here: the protected API's port is taken, after DynamoDB Local, the tables and the
 * Lambda workers are up) reports the cause and stops everything it started: no java outlives it.
 */

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-failure-'));
let blocker: net.Server;
let busyPort: number;

beforeAll(async () => {
  blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  busyPort = (blocker.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  fs.rmSync(outdir, { recursive: true, force: true });
});

/** Live (not zombie) java processes whose parent is this process, from /proc. */
function javaChildren(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv0 = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0];
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (path.basename(argv0) === 'java' && Number(ppid) === process.pid && state !== 'Z') pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

test('a port in use: a clear error, and the DynamoDB Local it had started is stopped', async () => {
  const before = new Set(javaChildren());
  const seen = new Set<number>();
  const watch = setInterval(
    () =>
      javaChildren()
        .filter((p) => !before.has(p))
        .forEach((p) => seen.add(p)),
    50,
  );

  const started = startLocalMode({
    synthesized: synthGatewayFixture({ outdir: path.join(outdir, 'cdk.out') }),
    stateDir: outdir,
    port: busyPort,
    adminPort: 0,
    inMemory: true,
    writeState: false,
    seed: false,
    log: () => undefined,
    lambdaLog: () => undefined,
  });

  await expect(started).rejects.toThrow(`port ${busyPort} is already in use`);
  clearInterval(watch);
  expect(seen.size).toBe(1);
  expect(javaChildren().filter((p) => seen.has(p))).toEqual([]);
}, 60_000);
