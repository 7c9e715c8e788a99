import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_PROJECT_ROOT } from '../../local/local-mode';
import { uniquePrefix } from '../support/dynamodb-local';

/*
 * `npm start` exactly as a newcomer runs it: a child process that prints `ready`, then the two printed curl
 * commands run in a shell and behave as printed; SIGINT/SIGTERM stop everything, DynamoDB Local's java
 * included; data under the data dir survives a restart, which prints the same demo key.
 */

const dataDir = path.join(os.tmpdir(), uniquePrefix('npm-start'));
const children: ChildProcess[] = [];

afterAll(() => {
  // Only if a test failed half-way: the whole process group each npm start made, and nothing else.
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
}

function npmStart(): Promise<Started> {
  const child = spawn('npm', ['start', '--', '--port', '0', '--admin-port', '0', '--data-dir', dataDir], {
    cwd: DEFAULT_PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, like a job in a terminal: Ctrl-C signals the whole group.
    detached: true,
    env: { ...process.env, CDK_IP_ALLOWLIST_TEST_DYNAMODB: '' },
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 90 s:\n${out}`)), 90_000);
    const check = () => {
      if (/^ready\b/m.test(out)) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve({ child, output: () => out });
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before ready:\n${out}`));
    });
  });
}

/** Runs a printed command as a user would paste it: in a shell, from the project folder. */
function sh(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', command], { cwd: DEFAULT_PROJECT_ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
      // The exit code and signal tell a refusal from the 60 s timeout on a loaded machine (both print no stdout).
      err
        ? reject(new Error(`${command}: ${err.message} (exit ${err.code}, signal ${err.signal})\n${stderr}`))
        : resolve(stdout),
    );
  });
}

/** The pids of the java processes listening on this DynamoDB Local port (from /proc: no extra tools needed). */
function javaPidsForPort(port: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline[0].endsWith('java') && cmdline.includes('-port') && cmdline[cmdline.indexOf('-port') + 1] === port)
        pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Whether the process exists and is not a zombie (a killed child waits for its new parent to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}

/** Waits until local mode's node process is gone (it is npm's grandchild: npm may exit first). */
async function stopWith(started: Started, send: () => void): Promise<void> {
  const nodePid = localModePid(started.child.pid!);
  const npmExited = new Promise<void>((resolve) => started.child.once('exit', () => resolve()));
  send();
  await npmExited;
  expect(nodePid).toBeDefined();
  for (let i = 0; i < 200 && alive(nodePid!); i++) await new Promise((r) => setTimeout(r, 100));
  expect(alive(nodePid!)).toBe(false);
}

/** The pid of `node ... local/main.ts` under npm's process tree (via /proc). */
function localModePid(npmPid: number): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      // The node process itself, not the `sh -c "node ... local/main.ts"` npm runs it through.
      if (path.basename(argv[0]) === 'node' && argv.includes('local/main.ts') && pgid === npmPid) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

function parse(out: string) {
  const curls = out
    .split('\n')
    .filter((l) => /^\s+curl -s /.test(l))
    .map((l) => l.trim());
  return {
    curls,
    cliHints: out
      .split('\n')
      .filter((l) => /^\s+npx cdk-ip-allowlist /.test(l))
      .map((l) => l.trim()),
    key: /Bearer (sk-[A-Za-z0-9_.-]+)/.exec(out)?.[1],
    apiPort: Number(/protected API\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]),
    ddbPort: /DynamoDB Local\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1] ?? '',
  };
}

test('serves the demo, the printed curl commands behave as printed, stops cleanly and keeps its data', async () => {
  // First start: seeds the demo and prints the commands.
  const first = await npmStart();
  const a = parse(first.output());
  expect(a.curls.length).toBeGreaterThanOrEqual(2);
  const [allowedCmd, blockedCmd] = a.curls;
  expect(blockedCmd).toContain('--interface 127.0.0.2');
  expect(first.output()).toMatch(
    /authorizer\s+cache TTL 296 s, keyed by method\.request\.header\.Authorization \+ context\.identity\.sourceIp/,
  );
  // The demo key is a working secret: readable by its owner only.
  expect(fs.statSync(path.join(dataDir, 'demo.json')).mode & 0o777).toBe(0o600);

  const allowed = JSON.parse(await sh(allowedCmd));
  const blocked = JSON.parse(await sh(blockedCmd));
  expect(allowed).toMatchObject({ organizationId: 'demo-org', sourceIp: '127.0.0.1' });
  expect(blocked.error).toMatchObject({ code: 'ip_not_authorized', type: 'ip_not_authorized' });

  // The CLI hints, run as printed: with --admin-port 0 and a data dir of its own, they still reach this instance
  // (not the default port, nor another local mode of the project), and the write and show agree on the delay.
  expect(a.cliHints).toHaveLength(2);
  for (const hint of a.cliHints) expect(hint).toContain(`--data-dir ${dataDir}`);
  const added = await sh(a.cliHints[1]);
  const shown = await sh(a.cliHints[0]);
  expect(added).toMatch(/^127\.0\.0\.2\/32\s+second loopback/m);
  expect(added).toContain('Applies within 0 s (the authorizer cache was flushed).');
  expect(shown).toMatch(/^Allowlist of organization demo-org: ENABLED/);
  expect(shown).toMatch(/^127\.0\.0\.1\/32\s/m);
  expect(shown).toContain('A change applies within 0 s when the admin API flushes the authorizer cache');

  const java = javaPidsForPort(a.ddbPort);
  expect(java).toHaveLength(1);
  // Ctrl-C in a terminal: SIGINT to the whole process group.
  await stopWith(first, () => process.kill(-first.child.pid!, 'SIGINT'));
  expect(alive(java[0])).toBe(false);
  expect(await refusesConnections(a.apiPort)).toBe(true);
  expect(first.output()).toContain('SIGINT: stopping local mode');

  // Second start on the same data: the same key, still working; SIGTERM stops it too.
  const second = await npmStart();
  const b = parse(second.output());
  expect(b.key).toBe(a.key);
  expect(second.output()).not.toContain('seeded organization');
  expect(JSON.parse(await sh(b.curls[0]))).toMatchObject({ organizationId: 'demo-org' });

  const java2 = javaPidsForPort(b.ddbPort);
  // `kill <npm's pid>`: SIGTERM to npm alone; local mode notices its parent is gone and stops.
  await stopWith(second, () => second.child.kill('SIGTERM'));
  expect(java2.map(alive)).toEqual([false]);
  expect(second.output()).toContain('parent process exited: stopping local mode');
  expect(fs.existsSync(path.join(dataDir, 'state.json'))).toBe(false);
}, 180_000);
