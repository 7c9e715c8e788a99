import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminClient, AllowlistTarget, ListView, Propagation } from './admin-client';
import { resolveEndpoint } from './endpoint';
import { table } from './format';

/**
 * What every command module shares: the exit codes, the IO the CLI writes through (injected by tests), the
 * context an action receives, and the options and argument parsers more than one command group uses.
 */

export const EXIT = { ok: 0, error: 1, usage: 2, blocked: 3 } as const;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Bad usage found by an action (after commander's own checks): exit 2 with the command's help hint. */
export class UsageError extends Error {}

/** The options the program declares for every command (cli/main.ts). */
export interface GlobalOptions {
  readonly endpoint?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
  readonly region?: string;
  readonly profile?: string;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly json: boolean;
  /** Created on first use, so a usage error an action finds first never depends on the endpoint. */
  client(): AdminClient;
  /** Prints a value as the admin API's JSON (what `--json` shows). */
  printJson(value: unknown): void;
}

/** A command's action: its exit code from what commander parsed (`command.opts()`, `command.processedArgs`). */
export type Action = (ctx: CommandContext, command: Command) => Promise<number>;

/** How a command module turns its action into commander's; the program decides what happens with the code. */
export type Run = (action: Action) => (...commanderArgs: unknown[]) => Promise<void>;

/** A command group: one module adds its commands to the program (see cli/commands/index.ts). */
export type Register = (program: Command, run: Run) => void;

export function commandContext(io: CliIo, command: Command): CommandContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  let client: AdminClient | undefined;
  return {
    io,
    json: Boolean(globals.json),
    client: () =>
      (client ??= new AdminClient({
        endpoint: resolveEndpoint(globals.endpoint, io, globals.dataDir),
        region: globals.region,
        profile: globals.profile,
      })),
    printJson: (value) => io.stdout(`${JSON.stringify(value, null, 2)}\n`),
  };
}

// --- argument parsers: commander names the option; these say what is wrong with its value -------------------

/** `--if-match 3` or `--if-match '"3"'` (the ETag as the API sends it). */
export function versionNumber(text: string): number {
  const m = /^"?(\d+)"?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`must be a version number, got ${JSON.stringify(text)}`);
  return Number(m[1]);
}

export function positiveWholeNumber(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new InvalidArgumentError(`must be a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

// --- options shared by command groups -------------------------------------------------------------------------

export interface ScopeOptions {
  readonly org: string;
  readonly project?: string;
  readonly key?: string;
}

/** --org, which every command needs. */
export function withOrg(command: Command): Command {
  return command.requiredOption('--org <id>', 'the organization (required)');
}

/** --org (required), --project and --key: which allowlist a command acts on. */
export function withScope(command: Command): Command {
  return withOrg(command)
    .option('--project <id>', "the project: its list instead of the organization's")
    .option(
      '--key <keyId>',
      "the API key's own list (needs --project); it can only narrow the project/organization rule",
    );
}

export function scopeTarget(o: ScopeOptions): AllowlistTarget {
  if (o.key !== undefined && o.project === undefined)
    throw new UsageError('--key needs --project (the project the key belongs to)');
  return { org: o.org, project: o.project, keyId: o.key };
}

export function ifMatchOption(): Option {
  return new Option(
    '--if-match <version>',
    'only if the list is still at this version (else HTTP 412, nothing changes)',
  ).argParser(versionNumber);
}

export interface PageOptions {
  readonly limit?: number;
  readonly cursor?: string;
}

/** --limit and --cursor of a listing. */
export function withPaging(command: Command): Command {
  return command
    .addOption(new Option('--limit <n>', 'at most this many items').argParser(positiveWholeNumber))
    .option('--cursor <cursor>', 'continue a listing where the previous page ended (its "More: --cursor" line)');
}

/** One page of a listing: a table (or `empty`), and how to get the next page; with --json the API's object. */
export function printPage<T>(
  ctx: CommandContext,
  page: ListView<T>,
  empty: string,
  headers: readonly string[],
  row: (item: T) => string[],
): number {
  if (ctx.json) ctx.printJson(page);
  else {
    ctx.io.stdout(page.data.length === 0 ? `${empty}\n` : `${table(headers, page.data.map(row))}\n`);
    if (page.next_cursor) ctx.io.stdout(`More: --cursor ${page.next_cursor}\n`);
  }
  return EXIT.ok;
}

/** What a write's answer says about when the change is enforced. */
export function propagationLine(p: Propagation | undefined): string {
  if (!p) return '';
  return p.flushed
    ? `Applies within ${p.maxDelaySeconds} s (the authorizer cache was flushed).\n`
    : `Applies within ${p.maxDelaySeconds} s (the authorizer cache TTL; it was not flushed).\n`;
}
