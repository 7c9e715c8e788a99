import * as os from 'node:os';
import { runCli } from '../../cli/main';
import { HarnessOptions, makeHarness } from '../lambda/admin/fixtures';
import { serveAdminHarness } from './support/admin-server';

/*
 * The delay the CLI reports: `allowlist show` and a write's answer state the same worst case. The CLI runs
 * in-process against the real admin handler on DynamoDB Local, with no protected stage, so nothing is flushed and
 * writes report the full worst case max(P, g + B).
 */

async function cli(endpoint: string, ...args: string[]): Promise<string> {
  const out: string[] = [];
  await runCli([...args, '--endpoint', endpoint], {
    stdout: (t) => out.push(t),
    stderr: (t) => out.push(t),
    env: {},
    cwd: os.tmpdir(),
  });
  return out.join('');
}

test.each<[string, HarnessOptions]>([
  // P = 0: nothing is cached, yet a read under way at the commit may be answered up to B = 1 s after it.
  ['P 0 s', { propagationDelaySeconds: 0, maxDecisionAgeSeconds: 1 }],
  ['P 120 s', { propagationDelaySeconds: 120, maxDecisionAgeSeconds: 4 }],
  // A P that was a token at synth: all of it is API Gateway's TTL, with B = 1 s on top.
  ['a token P of 300 s', { propagationDelaySeconds: 300, maxDecisionAgeSeconds: 1, gatewayTtlSeconds: 300 }],
])('with %s, allowlist show reports the delay an unflushed write reports', async (_label, options) => {
  // prepare
  const h = await makeHarness('cli-delay', options);
  const server = await serveAdminHarness(h);
  try {
    // act
    const written = await cli(server.endpoint, 'allowlist', 'add', '--org', 'delay', '192.0.2.1');
    const shown = await cli(server.endpoint, 'allowlist', 'show', '--org', 'delay');

    // assess
    const writeDelay = /^Applies within (\d+) s \(the authorizer cache TTL; it was not flushed\)\.$/m.exec(
      written,
    )?.[1];
    const showDelay = /^A change applies within 0 s when .*, else within (\d+) s \(the authorizer cache TTL\)\.$/m.exec(
      shown,
    )?.[1];
    expect(writeDelay).toMatch(/^\d+$/);
    expect(showDelay).toBe(writeDelay);
  } finally {
    await server.close();
    h.destroy();
  }
});
