import * as fs from 'node:fs';
import * as path from 'node:path';
import { AdminClient } from '../../cli/admin-client';
import { ERRORS, errorBody } from '../../lambda/core/errors';
import { RunningLocalMode } from '../../local/local-mode';
import { bearer, call, CallResult } from '../local/support/http';
import { runBin } from '../support/cli-bin';
import { E2eLocalMode, startE2eLocalMode } from './support/local-mode';

/*
 * The README's bound for expiring entries, end to end through local mode on the real clock: the real authorizer
 * and admin Lambdas behind the emulated gateway (its authorizer cache included), a real HTTP client from
 * 127.0.0.1, and the CLI as a user runs it. "An entry stops working at most `propagationDelay` after it expires."
 */

// A CLI run is a fresh node with ts-node (seconds on a loaded machine); the entry lives for seconds.
jest.setTimeout(120_000);

const PROPAGATION_DELAY_SECONDS = 3;
/** Long enough for the two writes (each waits out the decision age bound before its last flush) and a request. */
const EXPIRES_IN_SECONDS = 12;

let e2e: E2eLocalMode;
let local: RunningLocalMode;
let admin: AdminClient;

beforeAll(async () => {
  e2e = await startE2eLocalMode('expiry', { propagationDelaySeconds: PROPAGATION_DELAY_SECONDS, seed: false });
  local = e2e.local;
  admin = new AdminClient({ endpoint: local.adminUrl!, localUser: 'e2e' });
});

afterAll(async () => {
  await e2e?.stop();
});

const README_BOUND = 'An entry stops working at most `propagationDelay` after it expires.';

test('the README states the bound this file pins', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');
  expect(readme).toContain(README_BOUND);
});

const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

test('an entry added with a short expiry lets 127.0.0.1 through, and is refused once expiry + propagationDelay has passed', async () => {
  const org = 'expiry-e2e';
  const key = (await admin.createKey(org, 'app', 'backend')).body.key;
  const added = await admin.addEntries({ org }, [{ value: '127.0.0.1', expiresIn: EXPIRES_IN_SECONDS }]);
  await admin.setMode({ org }, 'enforce');
  const expiresAt = Date.parse(added.body.entries[0].expiresAt!);
  const from1 = () => call(`${local.url}/hello`, { headers: bearer(key), localAddress: '127.0.0.1' });

  // Requests up to the expiry keep an Allow in the gateway's cache: the worst case for the bound.
  const before: { at: number; res: CallResult }[] = [];
  while (Date.now() < expiresAt - 300) {
    before.push({ at: Date.now(), res: await from1() });
    await new Promise((r) => setTimeout(r, 250));
  }
  await sleepUntil(expiresAt + PROPAGATION_DELAY_SECONDS * 1000 + 1);
  const after = await from1();
  const shown = await runBin(['allowlist', 'show', '--org', org], local.adminUrl!);

  expect(before.length).toBeGreaterThan(0);
  expect(before.map((b) => b.res.status)).toEqual(before.map(() => 200));
  expect(after.status).toBe(401);
  expect(after.json).toEqual(errorBody(ERRORS.ipNotAuthorizedOrganization));
  expect(shown.code).toBe(0);
  // The entry is marked expired, and its LAST MATCHED column has the requests that went through before.
  expect(shown.stdout).toMatch(/^127\.0\.0\.1\/32 .* \(expired\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/m);
  expect(shown.stdout).toMatch(/^warning \(all_entries_expired\): .*blocks every request/m);
});
