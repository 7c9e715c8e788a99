import { Argument, Command, CommanderError } from 'commander';
import { DEFAULT_ADMIN_PORT } from '../local/state';
import { AdminApiError } from './admin-client';
import { COMMAND_GROUPS } from './commands';
import { lockoutText } from './commands/allowlist';
import { CliIo, commandContext, EXIT, Run, UsageError } from './context';
import { ENV } from './endpoint';
import { printable, printableOutput } from './format';

/**
 * `cdk-ip-allowlist`: the admin API from a terminal. Commands map one-to-one to routes of the admin API; the
 * output is a readable table, or the API's JSON with --json. The commands live in cli/commands/, one module per
 * group; this module builds the program from them and turns every way it can end into an exit code:
 * 0 success; 1 the API (or the network) refused; 2 bad usage; 3 `allowlist check`: the IP would be blocked.
 */

export { EXIT } from './context';
export type { CliIo } from './context';
export { resolveEndpoint } from './endpoint';

export const PROGRAM_NAME = 'cdk-ip-allowlist';

/** The stage AllowlistAdminApi deploys to unless told otherwise (test/cli/cli.e2e.test.ts checks it). */
const EXAMPLE_ADMIN_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/admin';

const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 the API refused or could not be reached, 2 bad usage, 3 'allowlist check': blocked.
Requests to a deployed endpoint are signed with SigV4 (execute-api); local mode needs no credentials.`;

/** Where commander writes (help, and nothing else: errors are worded and printed by runCli). */
export interface ProgramOutput {
  readonly writeOut: (text: string) => void;
  readonly writeErr: (text: string) => void;
}

/**
 * The whole command tree, from the definitions only: help, cli/reference.ts (docs/cli.md) and the parser all
 * read it. Every command ends by throwing: a CommanderError with exit code 0 after help, a `CommandUsage` for bad
 * usage; actions report their exit code through `run`.
 */
export function buildProgram(run: Run, output: ProgramOutput): Command {
  const program = new Command(PROGRAM_NAME)
    .description(
      'Manage the IP allowlists and API keys of a cdk-ip-allowlist deployment (or of local mode: npm start).',
    )
    .usage('<command> [options]')
    .helpOption('-h, --help', 'show help')
    .option(
      '--endpoint <url>',
      `admin API base URL (also ${ENV.endpoint}); a deployed API's URL includes the stage, e.g. ${EXAMPLE_ADMIN_URL}`,
    )
    .option(
      '--data-dir <dir>',
      `local mode's data directory (npm start -- --data-dir): call the local mode running on it (also ${ENV.dataDir})`,
    )
    .option('--json', "print the API's JSON instead of tables")
    .option('--region <name>', "AWS region for SigV4 (default: from the endpoint's host, else AWS_REGION)")
    .option('--profile <name>', 'AWS profile for SigV4 (default: the standard credential chain)')
    .addHelpText(
      'after',
      `\nWithout --endpoint or --data-dir: the local mode running for this project (.local), else http://127.0.0.1:${DEFAULT_ADMIN_PORT}.${EXIT_CODES_HELP}`,
    )
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ ...output, outputError: () => undefined });
  for (const register of COMMAND_GROUPS) register(program, run);
  for (const command of commandTree(program)) {
    if (command.commands.length > 0) requireSubcommand(command);
    command.exitOverride((err) => {
      if (err.exitCode === 0) throw err;
      throw new CommandUsage(usageMessage(err, command), command);
    });
  }
  return program;
}

export async function runCli(argv: readonly string[], rawIo: CliIo = processIo()): Promise<number> {
  const io: CliIo = {
    ...rawIo,
    stdout: (t) => rawIo.stdout(printableOutput(t)),
    stderr: (t) => rawIo.stderr(printableOutput(t)),
  };
  let exitCode: number = EXIT.ok;
  const run: Run =
    (action) =>
    async (...commanderArgs) => {
      const command = commanderArgs[commanderArgs.length - 1] as Command;
      try {
        exitCode = await action(commandContext(io, command), command);
      } catch (err) {
        throw err instanceof UsageError ? new CommandUsage(err.message, command) : err;
      }
    };
  try {
    await buildProgram(run, { writeOut: io.stdout, writeErr: io.stderr }).parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, io, argv.includes('--json'));
  }
}

/** Bad usage, with the command whose help to point at. */
class CommandUsage extends Error {
  constructor(
    message: string,
    readonly command: Command,
  ) {
    super(message);
  }
}

function reportError(err: unknown, io: CliIo, json: boolean): number {
  if (err instanceof CommanderError && err.exitCode === 0) return EXIT.ok;
  if (err instanceof CommandUsage) {
    const words = commandPath(err.command);
    io.stderr(`error: ${err.message}\nRun '${[PROGRAM_NAME, ...words, '--help'].join(' ')}' for usage.\n`);
    return EXIT.usage;
  }
  if (err instanceof AdminApiError) {
    if (json && err.body !== undefined && typeof err.body === 'object') {
      io.stderr(`${JSON.stringify(err.body, null, 2)}\n`);
    } else {
      const details = [err.code, err.status === undefined ? undefined : `HTTP ${err.status}`]
        .filter(Boolean)
        .join(', ');
      const suffix = details && !err.message.includes(`HTTP ${err.status}`) ? ` (${printable(details)})` : '';
      io.stderr(`error: ${printable(err.message)}${suffix}\n`);
      if (err.code === 'would_block_recent_traffic') io.stderr(lockoutText(err.body));
    }
    return EXIT.error;
  }
  io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.error;
}

/**
 * Commander's messages in this CLI's words (commander 14.0.3: its wording is pinned by test/cli/cli.test.ts):
 * they name the option or argument and what to give instead.
 */
function usageMessage(err: CommanderError, command: Command): string {
  const [first, ...rest] = err.message.replace(/^error: /, '').split('\n');
  const more = rest.length > 0 ? `\n${rest.join('\n')}` : '';
  const quoted = /'([^']*)'/.exec(first)?.[1] ?? '';
  const long = /(--[\w-]+)/.exec(quoted)?.[1] ?? quoted;
  switch (err.code) {
    case 'commander.unknownOption':
      return `Unknown option '${quoted}'${more}`;
    case 'commander.missingMandatoryOptionValue':
      return `${long} is required`;
    case 'commander.optionMissingArgument':
      return `${long} needs a value`;
    case 'commander.conflictingOption': {
      const other = /with (?:option|environment variable) '([^']*)'/.exec(first)?.[1] ?? '';
      return `${long} and ${/(--[\w-]+)/.exec(other)?.[1] ?? other} exclude each other`;
    }
    case 'commander.invalidArgument':
      return `${long} ${first.replace(/^.*? is invalid\. /, '')}`;
    case 'commander.missingArgument':
      return giveArgument(command.registeredArguments.find((a) => a.name() === quoted));
    case 'commander.excessArguments':
      return command.registeredArguments.length === 0
        ? `unexpected argument ${JSON.stringify(command.args[0])}`
        : giveArgument(command.registeredArguments[0]);
    default:
      return first + more;
  }
}

function giveArgument(arg: Argument | undefined): string {
  if (!arg) return 'missing argument';
  return `give ${arg.variadic ? 'one or more' : 'exactly one'} ${arg.description}`;
}

/**
 * A group without its subcommand is bad usage (commander would print the whole help to stderr). The action
 * also catches an unknown subcommand, because an action receives the words no subcommand took.
 */
function requireSubcommand(group: Command): void {
  const top = group.parent === null;
  group
    .helpCommand(top)
    .allowExcessArguments()
    .allowUnknownOption()
    .action(() => {
      const word = group.args.find((a) => !a.startsWith('-'));
      if (word === undefined)
        throw new CommandUsage(top ? 'no command given' : `'${group.name()}' needs a subcommand`, group);
      const known = group.commands.map((c) => c.name()).join(', ');
      throw new CommandUsage(
        `unknown ${top ? 'command' : 'subcommand'} ${JSON.stringify(word)}${top ? '' : ` of '${group.name()}'`} (one of: ${known})`,
        group,
      );
    });
}

/** The command and all commands below it, parents first. */
export function commandTree(command: Command): Command[] {
  return [command, ...command.commands.flatMap(commandTree)];
}

/** `allowlist show` for that command (the words after the program name). */
export function commandPath(command: Command): string[] {
  const words: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) words.unshift(c.name());
  return words;
}

function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
  };
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
