import * as fs from 'node:fs';
import { isIPv6 } from 'node:net';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT, findStateDir, runningLocalState } from '../local/state';
import {
  AdminApiError,
  AdminClient,
  AllowlistTarget,
  AllowlistView,
  AllowlistWriteView,
  EntryInput,
  Propagation,
} from './admin-client';
import { printable, printableOutput, shortTime, table } from './format';
import { myAddress, WHOAMI_HELP, whoamiCommand } from './whoami';

/**
 * `cdk-ip-allowlist`: the admin API from a terminal. Commands map one-to-one to routes of the admin API; the
 * output is a readable table, or the API's JSON with --json.
 *
 * Exit codes: 0 success; 1 the API (or the network) refused; 2 bad usage; 3 `allowlist check`: the IP would be
 * blocked.
 */

export const EXIT = { ok: 0, error: 1, usage: 2, blocked: 3 } as const;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

class UsageError extends Error {
  constructor(
    message: string,
    readonly helpFor: string,
  ) {
    super(message);
  }
}

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS: OptionSpec = {
  endpoint: { type: 'string' },
  json: { type: 'boolean' },
  region: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const SCOPE_OPTIONS: OptionSpec = {
  org: { type: 'string' },
  project: { type: 'string' },
  key: { type: 'string' },
};

const GLOBAL_HELP = `Global options:
  --endpoint URL   admin API base URL (default: the running local mode's, else http://127.0.0.1:${DEFAULT_ADMIN_PORT};
                   also CDK_IP_ALLOWLIST_ENDPOINT). A deployed API's URL includes the stage, e.g.
                   https://abc123.execute-api.eu-west-1.amazonaws.com/prod
  --json           print the API's JSON instead of tables
  --region NAME    AWS region for SigV4 (default: from the endpoint's host, else AWS_REGION)
  --profile NAME   AWS profile for SigV4 (default: the standard credential chain)
  -h, --help       show help
Requests to a deployed endpoint are signed with SigV4 (execute-api); local mode needs no credentials.`;

const SCOPE_HELP = `Scope:
  --org ID         the organization (required)
  --project ID     the project: its list instead of the organization's
  --key KEY_ID     the API key's own list (needs --project); it can only narrow the project/organization rule`;

const HELP: Record<string, string> = {
  main: `Usage: cdk-ip-allowlist <command> [options]

Manage the IP allowlists and API keys of a cdk-ip-allowlist deployment (or of local mode: npm start).

Commands:
  allowlist show|add|remove|replace|enable|disable|check   view and change an allowlist, test an IP
  keys create|list|revoke                                  API keys of a project
  audit                                                    the organization's change history
  whoami                                                   the address and principal the admin API sees you as
  doctor                                                   check a deployment end to end, and measure it

Run 'cdk-ip-allowlist <command> --help' for a command's options.

Exit codes: 0 ok, 1 the API refused or could not be reached, 2 bad usage, 3 'allowlist check': blocked.

${GLOBAL_HELP}
`,
  allowlist: `Usage: cdk-ip-allowlist allowlist <show|add|remove|replace|enable|disable|check> --org ID [--project ID [--key KEY_ID]] ...

  show                          the list, its state and version
  add ENTRY... [--description]  add IPs or CIDR ranges (IPv4 or IPv6)
  remove ENTRY                  remove one entry (any form that normalizes to it)
  replace [ENTRY...] [--file F] replace the whole list (all-or-nothing); --enable/--disable to set its state too
  enable | disable              turn enforcement on or off (enabling an empty list is refused)
  check IP|--me [--entries A,B] would this IP be allowed? (exit 3 if not); --entries tests a draft list;
                                --me checks the address 'whoami' reports

${SCOPE_HELP}

Run 'cdk-ip-allowlist allowlist <subcommand> --help' for details.
`,
  'allowlist show': `Usage: cdk-ip-allowlist allowlist show --org ID [--project ID [--key KEY_ID]]

Shows the list: enabled or not, entries, version, and the deployment's propagation delay.

${SCOPE_HELP}

${GLOBAL_HELP}
`,
  'allowlist add': `Usage: cdk-ip-allowlist allowlist add --org ID [--project ID [--key KEY_ID]] ENTRY... [--description TEXT]

Adds one or more IPv4/IPv6 addresses or CIDR ranges (e.g. 203.0.113.7 198.51.100.0/24 2001:db8::/48).
Adding does not enable the list: run 'allowlist enable' when it is complete.

  --description TEXT   note stored with each added entry (at most 140 characters)
  --if-match VERSION   only if the list is still at this version (else HTTP 412, nothing changes)

${SCOPE_HELP}

${GLOBAL_HELP}
`,
  'allowlist remove': `Usage: cdk-ip-allowlist allowlist remove --org ID [--project ID [--key KEY_ID]] ENTRY

Removes one entry; 10.0.0.1 and 10.0.0.1/32 name the same entry.

  --if-match VERSION   only if the list is still at this version

${SCOPE_HELP}

${GLOBAL_HELP}
`,
  'allowlist replace': `Usage: cdk-ip-allowlist allowlist replace --org ID [--project ID [--key KEY_ID]] [ENTRY...] [--file FILE] [--enable|--disable]

Replaces the whole list in one change. If any entry is invalid nothing is written and every bad entry is
listed. With no entries and no file, the list is emptied.

  --file FILE          one entry per line: "CIDR [description]"; blank lines and # comments are ignored
  --description TEXT   description for the entries given on the command line
  --enable | --disable also set the list's state
  --if-match VERSION   only if the list is still at this version

${SCOPE_HELP}

${GLOBAL_HELP}
`,
  'allowlist enable': `Usage: cdk-ip-allowlist allowlist enable --org ID [--project ID [--key KEY_ID]]

Starts enforcing the list: requests from other IPs get 401 ip_not_authorized. A project's enabled list
replaces the organization's for that project. Enabling an empty list is refused.

  --if-match VERSION   only if the list is still at this version

${SCOPE_HELP}

${GLOBAL_HELP}
`,
  'allowlist disable': `Usage: cdk-ip-allowlist allowlist disable --org ID [--project ID [--key KEY_ID]]

Stops enforcing the list (its entries are kept).

  --if-match VERSION   only if the list is still at this version

${SCOPE_HELP}

${GLOBAL_HELP}
`,
  'allowlist check': `Usage: cdk-ip-allowlist allowlist check --org ID [--project ID [--key KEY_ID]] IP|--me [--entries A,B,...]

Tells whether a request from IP would pass, by the same rule the authorizer applies to the stored lists.
--me checks the address the admin API sees you as ('cdk-ip-allowlist whoami').
With --entries, that draft list is tested in place of this scope's list (as if saved and enabled).
Exit code 0 if allowed, 3 if blocked.

The authorizer checks the address the client connected from. On a dual-stack API (ipAddressType
DUAL_STACK), a client that has IPv6 connects over IPv6 and is checked by its IPv6 address: check (and
allowlist) that address too. An IPv4-only API (the default) is never reached over IPv6.

${SCOPE_HELP}

${GLOBAL_HELP}
`,
  keys: `Usage: cdk-ip-allowlist keys <create|list|revoke> --org ID --project ID ...

  create --name NAME   create a key; the secret is printed once (with --json: fields "key" and "id")
  list                 the project's keys (never their secrets)
  revoke KEY_ID        revoke a key; it stops working within the propagation delay

${GLOBAL_HELP}
`,
  'keys create': `Usage: cdk-ip-allowlist keys create --org ID --project ID --name NAME

Creates an API key for the project and prints its secret. The secret is shown only this once.
With --json, prints the API's object: the secret in "key", the key id in "id".

${GLOBAL_HELP}
`,
  'keys list': `Usage: cdk-ip-allowlist keys list --org ID --project ID [--limit N] [--cursor C]

Lists the project's keys: id, name, redacted value, status, creation, and the key's own allowlist state.

${GLOBAL_HELP}
`,
  'keys revoke': `Usage: cdk-ip-allowlist keys revoke --org ID --project ID KEY_ID

Revokes the key. Requests with it get 401 invalid_api_key within the propagation delay.

${GLOBAL_HELP}
`,
  audit: `Usage: cdk-ip-allowlist audit --org ID [--limit N] [--cursor C]

The organization's changes, newest first: when, who (IAM ARN, or local:<user> in local mode), what, where.
--json prints the full events, with the state before and after each change.

${GLOBAL_HELP}
`,
  whoami: WHOAMI_HELP,
  // The logic is in cli/doctor.ts (loaded only when the command runs).
  doctor: `Usage: cdk-ip-allowlist doctor [--endpoint URL] [--admin-endpoint URL] [--path PATH] [--org ID] [--json]

Checks a deployment end to end with an organization and project of its own (removed afterwards, also when a
check fails): the admin API answers and you may write; a request without a key, with a made-up key, with a fresh
key, with a key allowlisted only for 192.0.2.1 and then also for your address answers as it must; every write
answered flushed: true; and how long each change took to show, against the maxDelaySeconds it promised.
Exit code 0 only when every check passed.

  --endpoint URL        the PROTECTED API's base URL, with its stage (for doctor only: other commands take the
                        admin API's URL here). Default: the running local mode's, else http://127.0.0.1:${DEFAULT_PORT}
  --admin-endpoint URL  the admin API's base URL (default: as --endpoint of the other commands)
  --path PATH           a GET route of the protected API behind the authorizer that answers 2xx when authorized
                        (default: /)
  --org ID              the organization to work in (default: a new one, doctor-<random>); the project is always
                        a new doctor-<random>. Your principal needs grantWrite on it.
  --json                the report as JSON
  --region, --profile   as for the other commands (SigV4 for the admin API, standard credential chain)
`,
};

export async function runCli(argv: readonly string[], rawIo: CliIo = processIo()): Promise<number> {
  const json = argv.includes('--json');
  const io: CliIo = {
    ...rawIo,
    stdout: (t) => rawIo.stdout(printableOutput(t)),
    stderr: (t) => rawIo.stderr(printableOutput(t)),
  };
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(
        `error: ${err.message}\nRun 'cdk-ip-allowlist ${err.helpFor === 'main' ? '' : `${err.helpFor} `}--help' for usage.\n`,
      );
      return EXIT.usage;
    }
    if (err instanceof AdminApiError) {
      if (json && err.body !== undefined && typeof err.body === 'object')
        io.stderr(`${JSON.stringify(err.body, null, 2)}\n`);
      else {
        const details = [err.code, err.status === undefined ? undefined : `HTTP ${err.status}`]
          .filter(Boolean)
          .join(', ');
        io.stderr(
          `error: ${printable(err.message)}${details && !err.message.includes(`HTTP ${err.status}`) ? ` (${printable(details)})` : ''}\n`,
        );
      }
      return EXIT.error;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.error;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  // Find the command words first (they may follow global options), then parse strictly for that command.
  const loose = parseArgs({
    args: [...argv],
    options: { ...GLOBAL_OPTIONS, ...ALL_COMMAND_OPTIONS },
    strict: false,
    allowPositionals: true,
  });
  const [command, sub] = loose.positionals;
  const wantsHelp = Boolean(loose.values.help);
  if (!command) {
    if (wantsHelp) {
      io.stdout(HELP.main);
      return EXIT.ok;
    }
    throw new UsageError('no command given', 'main');
  }
  if (command === 'help') {
    io.stdout(HELP[[sub, loose.positionals[2]].filter(Boolean).join(' ')] ?? HELP[sub ?? ''] ?? HELP.main);
    return EXIT.ok;
  }
  if (!['allowlist', 'keys', 'audit', 'whoami', 'doctor'].includes(command))
    throw new UsageError(`unknown command ${JSON.stringify(command)}`, 'main');
  const hasSub = command === 'allowlist' || command === 'keys';
  if (hasSub && !sub) {
    if (wantsHelp) {
      io.stdout(HELP[command]);
      return EXIT.ok;
    }
    throw new UsageError(`'${command}' needs a subcommand`, command);
  }
  const name = hasSub ? `${command} ${sub}` : command;
  const spec = COMMANDS[name];
  if (!spec) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} of '${command}'`, command);
  if (wantsHelp) {
    io.stdout(HELP[name]);
    return EXIT.ok;
  }

  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, ...spec.options },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(
      err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, '') : String(err),
      name,
    );
  }
  const args = parsed.positionals.slice(hasSub ? 2 : 1);
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const client = new AdminClient({
    endpoint: resolveEndpoint(values.endpoint as string | undefined, io),
    region: values.region as string | undefined,
    profile: values.profile as string | undefined,
  });
  const ctx: CommandContext = { io, client, args, values, json: Boolean(values.json), name };
  return spec.run(ctx);
}

/** --endpoint, else CDK_IP_ALLOWLIST_ENDPOINT, else the local mode running for this folder, else the default local port. */
export function resolveEndpoint(flag: string | undefined, io: Pick<CliIo, 'env' | 'cwd'>): string {
  if (flag) return flag;
  if (io.env.CDK_IP_ALLOWLIST_ENDPOINT) return io.env.CDK_IP_ALLOWLIST_ENDPOINT;
  const stateDir = findStateDir(io.cwd);
  const running = stateDir ? runningLocalState(stateDir) : undefined;
  return running?.adminUrl ?? `http://127.0.0.1:${DEFAULT_ADMIN_PORT}`;
}

interface CommandContext {
  readonly io: CliIo;
  readonly client: AdminClient;
  readonly args: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly json: boolean;
  readonly name: string;
}

interface CommandSpec {
  readonly options: OptionSpec;
  run(ctx: CommandContext): Promise<number>;
}

const IF_MATCH: OptionSpec = { 'if-match': { type: 'string' } };

const COMMANDS: Record<string, CommandSpec> = {
  'allowlist show': {
    options: SCOPE_OPTIONS,
    async run(ctx) {
      noArgs(ctx);
      const res = await ctx.client.getAllowlist(target(ctx));
      return printAllowlist(ctx, res.body);
    },
  },
  'allowlist add': {
    options: { ...SCOPE_OPTIONS, ...IF_MATCH, description: { type: 'string' } },
    async run(ctx) {
      if (ctx.args.length === 0)
        throw new UsageError('give one or more entries to add, e.g. 203.0.113.7 or 198.51.100.0/24', ctx.name);
      const description = ctx.values.description as string | undefined;
      const entries = ctx.args.map((value) => ({ value, ...(description === undefined ? {} : { description }) }));
      const res = await ctx.client.addEntries(target(ctx), entries, ifMatch(ctx));
      return printAllowlist(ctx, res.body);
    },
  },
  'allowlist remove': {
    options: { ...SCOPE_OPTIONS, ...IF_MATCH },
    async run(ctx) {
      if (ctx.args.length !== 1) throw new UsageError('give exactly one entry to remove', ctx.name);
      const res = await ctx.client.removeEntry(target(ctx), ctx.args[0], ifMatch(ctx));
      return printAllowlist(ctx, res.body);
    },
  },
  'allowlist replace': {
    options: {
      ...SCOPE_OPTIONS,
      ...IF_MATCH,
      file: { type: 'string' },
      description: { type: 'string' },
      enable: { type: 'boolean' },
      disable: { type: 'boolean' },
    },
    async run(ctx) {
      if (ctx.values.enable && ctx.values.disable)
        throw new UsageError('--enable and --disable exclude each other', ctx.name);
      const description = ctx.values.description as string | undefined;
      const entries: EntryInput[] = ctx.args.map((value) => ({
        value,
        ...(description === undefined ? {} : { description }),
      }));
      if (ctx.values.file) entries.push(...readEntriesFile(String(ctx.values.file), ctx.name));
      const enabled = ctx.values.enable ? true : ctx.values.disable ? false : undefined;
      const res = await ctx.client.replaceAllowlist(target(ctx), entries, enabled, ifMatch(ctx));
      return printAllowlist(ctx, res.body);
    },
  },
  'allowlist enable': {
    options: { ...SCOPE_OPTIONS, ...IF_MATCH },
    async run(ctx) {
      noArgs(ctx);
      const res = await ctx.client.setEnabled(target(ctx), true, ifMatch(ctx));
      return printAllowlist(ctx, res.body);
    },
  },
  'allowlist disable': {
    options: { ...SCOPE_OPTIONS, ...IF_MATCH },
    async run(ctx) {
      noArgs(ctx);
      const res = await ctx.client.setEnabled(target(ctx), false, ifMatch(ctx));
      return printAllowlist(ctx, res.body);
    },
  },
  'allowlist check': {
    options: { ...SCOPE_OPTIONS, entries: { type: 'string' }, me: { type: 'boolean' } },
    async run(ctx) {
      if (ctx.args.length !== (ctx.values.me ? 0 : 1))
        throw new UsageError('give exactly one IP address to check, or --me', ctx.name);
      const draftText = ctx.values.entries as string | undefined;
      const draft =
        draftText === undefined
          ? undefined
          : draftText
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
              .map((value) => ({ value }));
      const t = target(ctx);
      const ip = ctx.values.me ? await myAddress(ctx.client) : ctx.args[0];
      const { body } = await ctx.client.check(t, ip, draft);
      if (ctx.json) ctx.io.stdout(`${JSON.stringify(body, null, 2)}\n`);
      else {
        const where =
          body.scope === 'none' ? undefined : body.scope === 'key' ? 'the key list' : `the ${body.scope} list`;
        const draftNote = body.draft ? ' (draft list)' : '';
        let line: string;
        if (body.allowed) {
          line =
            body.scope === 'none'
              ? `allowed: ${body.ip} is not restricted (no enabled allowlist applies)`
              : `allowed: ${body.ip} matches ${body.matchedEntry ?? body.keyMatchedEntry} in ${where}${draftNote}`;
          if (body.keyMatchedEntry && body.scope !== 'key') line += `, and ${body.keyMatchedEntry} in the key list`;
        } else {
          line = `blocked: ${body.ip} is not in ${where ?? 'the allowlist'}${draftNote}; requests from it get 401 ip_not_authorized`;
        }
        ctx.io.stdout(`${line}\n${addressFamilyNote(body.ip)}\n`);
      }
      return body.allowed ? EXIT.ok : EXIT.blocked;
    },
  },
  'keys create': {
    options: { org: { type: 'string' }, project: { type: 'string' }, name: { type: 'string' } },
    async run(ctx) {
      noArgs(ctx);
      const { org, project } = orgAndProject(ctx);
      const name = ctx.values.name as string | undefined;
      if (!name) throw new UsageError('--name is required (a label for the key, e.g. backend)', ctx.name);
      const { body } = await ctx.client.createKey(org, project, name);
      if (ctx.json) ctx.io.stdout(`${JSON.stringify(body, null, 2)}\n`);
      else {
        ctx.io.stdout(
          `Created API key ${body.id} ("${printable(body.name)}") for ${org}/${project}.\n` +
            `Secret, shown only now (store it safely):\n${body.key}\n` +
            propagationLine(body.propagation),
        );
      }
      return EXIT.ok;
    },
  },
  'keys list': {
    options: {
      org: { type: 'string' },
      project: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    async run(ctx) {
      noArgs(ctx);
      const { org, project } = orgAndProject(ctx);
      const { body } = await ctx.client.listKeys(org, project, limitOf(ctx), ctx.values.cursor as string | undefined);
      if (ctx.json) ctx.io.stdout(`${JSON.stringify(body, null, 2)}\n`);
      else {
        if (body.data.length === 0) ctx.io.stdout(`No API keys in ${org}/${project}.\n`);
        else {
          const rows = body.data.map((k) => [
            k.id,
            k.name,
            k.redactedValue,
            k.status,
            shortTime(k.createdAt),
            k.allowlist?.corrupt
              ? 'CORRUPT: every request refused; replace it'
              : k.allowlist
                ? `${k.allowlist.enabled ? 'enabled' : 'disabled'}, ${k.allowlist.entryCount} entries`
                : '-',
          ]);
          ctx.io.stdout(`${table(['ID', 'NAME', 'KEY', 'STATUS', 'CREATED', 'KEY ALLOWLIST'], rows)}\n`);
        }
        if (body.next_cursor) ctx.io.stdout(`More: --cursor ${body.next_cursor}\n`);
      }
      return EXIT.ok;
    },
  },
  'keys revoke': {
    options: { org: { type: 'string' }, project: { type: 'string' }, id: { type: 'string' } },
    async run(ctx) {
      const { org, project } = orgAndProject(ctx);
      const ids = [...ctx.args, ...(ctx.values.id ? [String(ctx.values.id)] : [])];
      if (ids.length !== 1) throw new UsageError('give exactly one key id to revoke (see keys list)', ctx.name);
      const { body } = await ctx.client.revokeKey(org, project, ids[0]);
      if (ctx.json) ctx.io.stdout(`${JSON.stringify(body, null, 2)}\n`);
      else
        ctx.io.stdout(`Revoked API key ${body.id} ("${printable(body.name)}").\n${propagationLine(body.propagation)}`);
      return EXIT.ok;
    },
  },
  audit: {
    options: { org: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
    async run(ctx) {
      noArgs(ctx);
      const org = required(ctx, 'org');
      const { body } = await ctx.client.audit(org, limitOf(ctx), ctx.values.cursor as string | undefined);
      if (ctx.json) ctx.io.stdout(`${JSON.stringify(body, null, 2)}\n`);
      else {
        if (body.data.length === 0) ctx.io.stdout(`No changes recorded for ${org}.\n`);
        else {
          const rows = body.data.map((e) => [shortTime(e.at), e.actor, e.action, e.target ?? '-']);
          ctx.io.stdout(`${table(['AT', 'ACTOR', 'ACTION', 'TARGET'], rows)}\n`);
        }
        if (body.next_cursor) ctx.io.stdout(`More: --cursor ${body.next_cursor}\n`);
      }
      return EXIT.ok;
    },
  },
};

COMMANDS.whoami = {
  options: {},
  run: (ctx) => {
    noArgs(ctx);
    return whoamiCommand(ctx.client, ctx.io, ctx.json);
  },
};
COMMANDS.doctor = {
  options: { org: { type: 'string' }, 'admin-endpoint': { type: 'string' }, path: { type: 'string' } },
  run: async (ctx) => {
    noArgs(ctx);
    const v = ctx.values as Record<string, string | undefined>;
    // For doctor, --endpoint is the protected API; the admin API is --admin-endpoint, found as the others find it.
    const adminEndpoint = resolveEndpoint(v['admin-endpoint'], ctx.io);
    // Loaded on use: the other commands' start-up does not pay for it.
    const { doctorCommand } = await import('./doctor');
    return doctorCommand({ ...v, adminEndpoint, json: ctx.json, cwd: ctx.io.cwd, stdout: ctx.io.stdout });
  },
};

const ALL_COMMAND_OPTIONS: OptionSpec = Object.assign({}, ...Object.values(COMMANDS).map((c) => c.options));

function required(ctx: CommandContext, name: string): string {
  const v = ctx.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`, ctx.name);
  return v;
}

function orgAndProject(ctx: CommandContext): { org: string; project: string } {
  return { org: required(ctx, 'org'), project: required(ctx, 'project') };
}

function target(ctx: CommandContext): AllowlistTarget {
  const org = required(ctx, 'org');
  const project = ctx.values.project as string | undefined;
  const keyId = ctx.values.key as string | undefined;
  if (keyId !== undefined && project === undefined)
    throw new UsageError('--key needs --project (the project the key belongs to)', ctx.name);
  return { org, project, keyId };
}

function noArgs(ctx: CommandContext): void {
  if (ctx.args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(ctx.args[0])}`, ctx.name);
}

function ifMatch(ctx: CommandContext): number | undefined {
  const v = ctx.values['if-match'] as string | undefined;
  if (v === undefined) return undefined;
  const m = /^"?(\d+)"?$/.exec(v);
  if (!m) throw new UsageError(`--if-match must be a version number, got ${JSON.stringify(v)}`, ctx.name);
  return Number(m[1]);
}

function limitOf(ctx: CommandContext): number | undefined {
  const v = ctx.values.limit as string | undefined;
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new UsageError(`--limit must be a positive whole number, got ${JSON.stringify(v)}`, ctx.name);
  return Number(v);
}

function readEntriesFile(file: string, helpFor: string): EntryInput[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, helpFor);
  }
  const entries: EntryInput[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const [value, ...rest] = line.split(/\s+/);
    entries.push(rest.length > 0 ? { value, description: rest.join(' ') } : { value });
  }
  return entries;
}

function scopeLabel(v: AllowlistView): string {
  if (v.scope === 'organization') return `organization ${v.organizationId}`;
  if (v.scope === 'project') return `project ${v.organizationId}/${v.projectId}`;
  return `API key ${v.apiKeyId} (${v.organizationId}/${v.projectId})`;
}

function propagationLine(p: Propagation | undefined): string {
  if (!p) return '';
  return p.flushed
    ? `Applies within ${p.maxDelaySeconds} s (the authorizer cache was flushed).\n`
    : `Applies within ${p.maxDelaySeconds} s (the authorizer cache TTL; it was not flushed).\n`;
}

function printAllowlist(ctx: CommandContext, v: AllowlistWriteView): number {
  if (ctx.json) {
    ctx.io.stdout(`${JSON.stringify(v, null, 2)}\n`);
    return EXIT.ok;
  }
  const state = v.enabled ? 'ENABLED' : 'disabled';
  const limits = v.maxEntries === undefined ? '' : `, ${v.entries.length}/${v.maxEntries} entries`;
  let out = `Allowlist of ${scopeLabel(v)}: ${state} (version ${v.version}${limits})\n`;
  if (v.entries.length === 0) out += '(no entries)\n';
  else {
    out += `${table(
      ['VALUE', 'DESCRIPTION', 'ADDED', 'BY'],
      v.entries.map((e) => [e.value, e.description || '-', shortTime(e.createdAt), e.createdBy || '-']),
    )}\n`;
  }
  if (!v.enabled && v.entries.length > 0)
    out += `Not enforced until enabled: cdk-ip-allowlist allowlist enable ${scopeFlags(v)}\n`;
  out += v.propagation
    ? propagationLine(v.propagation)
    : v.propagationDelaySeconds === undefined
      ? ''
      : `Changes apply within ${v.propagationDelaySeconds} s.\n`;
  ctx.io.stdout(out);
  return EXIT.ok;
}

function scopeFlags(v: AllowlistView): string {
  return [
    `--org ${v.organizationId}`,
    v.projectId ? `--project ${v.projectId}` : '',
    v.apiKeyId ? `--key ${v.apiKeyId}` : '',
  ]
    .filter(Boolean)
    .join(' ');
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

/**
 * What the check cannot see: which address the client will connect from. On a dual-stack API that is its IPv6
 * address whenever it has one, so "allowed" for its IPv4 egress does not mean the client gets in.
 */
function addressFamilyNote(ip: string): string {
  return isIPv6(ip)
    ? 'note: an IPv6 client reaches the API over IPv6 only when the API is dual-stack (ipAddressType DUAL_STACK); ' +
        'on an IPv4-only API it connects from its IPv4 address, so check that one'
    : 'note: if the API is dual-stack (ipAddressType DUAL_STACK), a client that has IPv6 connects over IPv6 and ' +
        'is checked by its IPv6 address, not this one: allowlist (and check) that address too';
}
