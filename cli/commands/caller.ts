import { resolveEndpoint } from '../endpoint';
import { GlobalOptions, Register } from '../context';
import { whoamiCommand } from '../whoami';

/**
 * `whoami` and `doctor`: the caller as the admin API sees it, and a deployment checked end to end (route
 * GET /v1/whoami, then the protected API and the admin API together). The logic lives in cli/whoami.ts and
 * cli/doctor.ts; doctor is loaded only when it runs, so the other commands' start-up does not pay for it.
 */

export const registerCaller: Register = (program, run) => {
  program
    .command('whoami')
    .summary('the address and principal the admin API sees you as')
    .description(
      "The address the admin API sees you connect from (API Gateway's sourceIp: the TCP peer, never a header), its\n" +
        'family as the allowlist treats it, and the IAM principal that signed the request.\n' +
        "'allowlist check --me' checks this address.\n\n" +
        'The protected API sees the same address only if you reach it the same way: another network path (a proxy,\n' +
        'another NAT egress) or an IP address type the admin API does not have (a dual-stack protected API reached\n' +
        'over IPv6) gives another one. See docs/doctor.md.',
    )
    .action(run((ctx) => whoamiCommand(ctx.client(), ctx.io, ctx.json)));

  program
    .command('doctor')
    .summary('check a deployment end to end, and measure it')
    .description(
      'Checks a deployment end to end with an organization and project of its own (removed afterwards, also when a\n' +
        'check fails): the admin API answers and you may write; a request without a key, with a made-up key, with a\n' +
        'fresh key, with a key allowlisted only for 192.0.2.1 and then also for your address answers as it must;\n' +
        'every write answered flushed: true; and how long each change took to show, against the maxDelaySeconds it\n' +
        'promised. Exit code 0 only when every check passed.\n\n' +
        "For doctor, --endpoint is the PROTECTED API's base URL with its stage (default: the running local mode's,\n" +
        'else http://127.0.0.1:8080); the admin API is --admin-endpoint.',
    )
    .option('--admin-endpoint <url>', "the admin API's base URL (default: found as the other commands' --endpoint)")
    .option(
      '--path <path>',
      'a GET route of the protected API behind the authorizer that answers 2xx when authorized (default: /)',
    )
    .option(
      '--org <id>',
      'the organization to work in (default: a new doctor-<random>); your principal needs grantWrite on it',
    )
    .action(
      run(async (ctx, cmd) => {
        const o = cmd.optsWithGlobals<GlobalOptions & { adminEndpoint?: string; path?: string; org?: string }>();
        const { doctorCommand } = await import('../doctor');
        return doctorCommand({
          endpoint: o.endpoint,
          adminEndpoint: resolveEndpoint(o.adminEndpoint, ctx.io, o.dataDir),
          path: o.path,
          org: o.org,
          region: o.region,
          profile: o.profile,
          json: ctx.json,
          cwd: ctx.io.cwd,
          stdout: ctx.io.stdout,
        });
      }),
    );
};
