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
