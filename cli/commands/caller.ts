import { Command, Help, Option } from 'commander';
import { DEFAULT_PORT } from '../../local/state';
import { GlobalOptions, Register } from '../context';
import { ENV } from '../endpoint';
import { whoamiCommand } from '../whoami';

/**
 * `whoami` and `doctor`: the caller as the admin API sees it, and a deployment checked end to end (route
 * GET /v1/whoami, then the protected API and the admin API together). The logic lives in cli/whoami.ts and
 * cli/doctor.ts; doctor is loaded only when it runs, so the other commands' start-up does not pay for it.
 */

/**
 * The program's options as doctor reads them, for doctor's help only: commander parses the program's own
 * definitions (so `--endpoint X doctor` and `doctor --endpoint X` mean the same), but their program-wide
 * wording would say --endpoint is the admin API, which for doctor it is not.
 */
const DOCTOR_GLOBAL_OPTIONS = [
  new Option(
    '--endpoint <url>',
    "the PROTECTED API's base URL with its stage (default: the protected API of the local mode the admin API " +
      'belongs to; required when the admin API is not a local mode)',
  ),
  new Option(
    '--data-dir <dir>',
    `local mode's data directory: check the local mode running on it, both its APIs (also ${ENV.dataDir})`,
  ),
  new Option('--json', 'print the report as JSON'),
  new Option('--region <name>', "AWS region for SigV4 (default: from the endpoint's host, else AWS_REGION)"),
  new Option('--profile <name>', 'AWS profile for SigV4 (default: the standard credential chain)'),
];

export const registerCaller: Register = (program, run) => {
  program
    .command('whoami')
    .summary('the address and principal the admin API sees you as')
    .description(
      "The address the admin API sees you connect from (API Gateway's sourceIp: the TCP peer, never a header), its " +
        'family as the allowlist treats it, and the IAM principal that signed the request. ' +
        "'allowlist check --me' checks this address.\n\n" +
        'The protected API sees the same address only if you reach it the same way: another network path (a proxy, ' +
        'another NAT egress) or an IP address type the admin API does not have (a dual-stack protected API reached ' +
        'over IPv6) gives another one. See docs/doctor.md.',
    )
    .action(run((ctx) => whoamiCommand(ctx.client(), ctx.io, ctx.json)));

  const doctor = program
    .command('doctor')
    .summary('check a deployment end to end, and measure it')
    .description(
      'Checks a deployment end to end with an organization and project of its own (removed afterwards, also when a ' +
        'check fails): the admin API answers and you may write; a request without a key, with a made-up key, with a ' +
        'fresh key, with a key allowlisted only for 192.0.2.1 and then also for your address answers as it must; ' +
        'every write answered flushed: true; and how long each change took to show, against the maxDelaySeconds it ' +
        'promised. Exit code 0 only when every check passed.\n\n' +
        "For doctor, --endpoint is the PROTECTED API's base URL with its stage; the admin API is --admin-endpoint. " +
        `Without either, both are the local mode's found as the other commands find it (--data-dir, ${ENV.dataDir}, ` +
        `the project's .local, else http://127.0.0.1:${DEFAULT_PORT} and its admin API). A remote admin API ` +
        `(--admin-endpoint or ${ENV.endpoint}) needs --endpoint.`,
    )
    .option(
      '--admin-endpoint <url>',
      `the admin API's base URL (default: the local mode's, see above; also ${ENV.endpoint})`,
    )
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
        const { doctorCommand, resolveDoctorEndpoints } = await import('../doctor');
        return doctorCommand({
          ...resolveDoctorEndpoints(
            { endpoint: o.endpoint, adminEndpoint: o.adminEndpoint, dataDir: o.dataDir },
            ctx.io,
          ),
          path: o.path,
          org: o.org,
          region: o.region,
          profile: o.profile,
          json: ctx.json,
          stdout: ctx.io.stdout,
        });
      }),
    );
  doctor.configureHelp({
    ...doctor.configureHelp(),
    showGlobalOptions: false,
    visibleOptions(this: Help, cmd: Command) {
      return [...DOCTOR_GLOBAL_OPTIONS, ...Help.prototype.visibleOptions.call(this, cmd)];
    },
  });
};
