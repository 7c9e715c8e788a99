import { E2eLocalMode, startE2eLocalMode } from './support/local-mode';
import { BlockCommand, readmeBlock, runReadmeBlock } from './support/readme-block';

/*
 * The README's "Try it in two minutes" walkthrough, run as written by bash (test/e2e/support/readme-block.ts):
 * each comment's promise checked against what its commands printed and their exit status.
 */

// Eight CLI runs, each a fresh node with ts-node (seconds on a loaded machine).
jest.setTimeout(300_000);

let e2e: E2eLocalMode;

beforeAll(async () => {
  e2e = await startE2eLocalMode('readme', { propagationDelaySeconds: 5, seed: false, writeState: true });
});

afterAll(async () => {
  await e2e?.stop();
});

const ALLOWED = /"message"/; // the echo backend's 200 body
const IP_NOT_AUTHORIZED = /"code":"ip_not_authorized"/;

function only(steps: ReadonlyMap<number, readonly BlockCommand[]>, step: number): readonly BlockCommand[] {
  const commands = steps.get(step);
  if (commands === undefined) throw new Error(`the walkthrough has no step ${step}`);
  return commands;
}

test('"Try it in two minutes" runs as written, and each step does what its comment says', async () => {
  const steps = await runReadmeBlock(readmeBlock(/^## Try it in two minutes/m), {
    apiUrl: e2e.local.url,
    dataDir: e2e.stateDir,
  });

  const [create] = only(steps, 1);
  expect(create.exitCode).toBe(0);
  const [fromFirst, fromSecond] = only(steps, 2);
  expect(fromFirst.output).toMatch(ALLOWED);
  expect(fromSecond.output).toMatch(ALLOWED);
  for (const c of only(steps, 3)) expect(c.exitCode).toBe(0);
  const [refused] = only(steps, 4);
  expect(refused.output).toMatch(IP_NOT_AUTHORIZED);
  const [check] = only(steps, 5);
  expect(check.exitCode).toBe(3);
  expect(check.output).toMatch(/^blocked: 127\.0\.0\.2/);
  const [add, again] = only(steps, 6);
  expect(add.exitCode).toBe(0);
  expect(again.output).toMatch(ALLOWED);
  const [audit] = only(steps, 0).filter((c) => c.line.includes(' audit '));
  expect(audit.exitCode).toBe(0);
  // Newest first: the second add, the enable, the first add, the key.
  expect(
    audit.output
      .split('\n')
      .map((l) => /\s(api_key\.\S+|ip_allowlist\.\S+)\s/.exec(l)?.[1])
      .filter(Boolean),
  ).toEqual(['ip_allowlist.entries.add', 'ip_allowlist.enable', 'ip_allowlist.entries.add', 'api_key.create']);
});

test('"Roll out safely" runs as written: report-only, traffic, preview, the guard refuses, add, enforce, lastMatchedAt', async () => {
  const steps = await runReadmeBlock(readmeBlock(/^## Roll out safely/m), {
    apiUrl: e2e.local.url,
    dataDir: e2e.stateDir,
  });

  // 1. The key, the entry, report-only.
  for (const c of only(steps, 1)) expect(c.exitCode).toBe(0);
  expect(only(steps, 1)[2].output).toContain('REPORT-ONLY');
  // 2. Both pass.
  const [first, second] = only(steps, 2);
  expect(first.output).toMatch(ALLOWED);
  expect(second.output).toMatch(ALLOWED);
  // 3. The traffic log: 127.0.0.1 allowed, 127.0.0.2 would_block.
  const [traffic] = only(steps, 3);
  expect(traffic.exitCode).toBe(0);
  expect(traffic.output).toMatch(/^\S+ \S+\s+would_block\s.*\s127\.0\.0\.2\s/m);
  expect(traffic.output).toMatch(/^\S+ \S+\s+allowed\s.*\s127\.0\.0\.1\s/m);
  // 4. The preview names 127.0.0.2 as what enforcing would cut off, and not 127.0.0.1.
  const [preview] = only(steps, 4);
  expect(preview.exitCode).toBe(0);
  expect(preview.output).toContain('127.0.0.2');
  expect(preview.output).not.toMatch(/127\.0\.0\.1(?!\/)/);
  // 5. The guard refuses, naming the address.
  const [refused] = only(steps, 5);
  expect(refused.exitCode).toBe(1);
  expect(refused.output).toContain('would_block_recent_traffic');
  expect(refused.output).toContain('127.0.0.2');
  // 6. Added for a week, then enforced.
  const [add, enforce] = only(steps, 6);
  expect(add.exitCode).toBe(0);
  expect(enforce.exitCode).toBe(0);
  expect(enforce.output).toContain('ENABLED');
  // 7. 127.0.0.2 passes, and both entries have a last match (the second with its expiry).
  const [again, show] = only(steps, 7);
  expect(again.output).toMatch(ALLOWED);
  expect(show.exitCode).toBe(0);
  expect(show.output).toMatch(/^127\.0\.0\.1\/32\s.*\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s*$/m);
  expect(show.output).toMatch(
    /^127\.0\.0\.2\/32\s.*\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s*$/m,
  );
  // Each line ends with its LAST MATCHED time (asserted above): no "unknown" (traffic unreadable) anywhere.
  expect(show.output).not.toMatch(/\bunknown\b|^warning/m);
});
