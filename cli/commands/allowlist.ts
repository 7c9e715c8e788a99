import * as fs from 'node:fs';
import { isIPv6 } from 'node:net';
import { Command, Option } from 'commander';
import type { AdminClient, AllowlistWriteView, CheckView, EntryInput } from '../admin-client';
import {
  CommandContext,
  EXIT,
  ifMatchOption,
  propagationLine,
  Register,
  Run,
  ScopeOptions,
  scopeTarget,
  UsageError,
  withScope,
} from '../context';
import { shortTime, table } from '../format';
import { myAddress } from '../whoami';

/** `allowlist show|add|remove|replace|enable|disable|check`: one scope's list (routes .../ip_allowlist). */

interface WriteOptions extends ScopeOptions {
  readonly ifMatch?: number;
  readonly description?: string;
  readonly file?: string;
  readonly enable?: boolean;
  readonly disable?: boolean;
  readonly reportOnly?: boolean;
}

export const registerAllowlist: Register = (program, run) => {
  const allowlist = program
    .command('allowlist')
    .summary('view and change an allowlist, test an IP')
    .description(
      "View and change the allowlist of an organization, a project (--project) or an API key (--key), and test an IP against it.\nA project's enabled list replaces the organization's for that project; a key's list can only narrow.",
    );

  withScope(allowlist.command('show'))
    .summary('the list, its state and version')
    .description("Shows the list: enabled or not, entries, version, and the deployment's propagation delay.")
    .action(
      run(async (ctx, cmd) => {
        const { body } = await ctx.client().getAllowlist(scopeTarget(cmd.opts<ScopeOptions>()));
        return printAllowlist(ctx, body, 'show');
      }),
    );

  withScope(allowlist.command('add'))
    .summary('add IPs or CIDR ranges (IPv4 or IPv6)')
    .description(
      "Adds one or more IPv4/IPv6 addresses or CIDR ranges (e.g. 203.0.113.7 198.51.100.0/24 2001:db8::/48).\nAdding does not enable the list: run 'allowlist enable' when it is complete.",
    )
    .argument('<entries...>', 'entries to add, e.g. 203.0.113.7 or 198.51.100.0/24')
    .option('--description <text>', 'note stored with each added entry (at most 140 characters)')
    .addOption(ifMatchOption())
    .action(
      write(run, (client, o, args) =>
        client.addEntries(scopeTarget(o), withDescription(args, o.description), o.ifMatch),
      ),
    );

  withScope(allowlist.command('remove'))
    .summary('remove one entry (any form that normalizes to it)')
    .description('Removes one entry; 10.0.0.1 and 10.0.0.1/32 name the same entry.')
    .argument('<entry>', 'entry to remove')
    .addOption(ifMatchOption())
    .action(write(run, (client, o, [entry]) => client.removeEntry(scopeTarget(o), entry, o.ifMatch)));

  withScope(allowlist.command('replace'))
    .summary('replace the whole list (all-or-nothing)')
    .description(
      'Replaces the whole list in one change. If any entry is invalid nothing is written and every bad entry is listed. With no entries and no file, the list is emptied.',
    )
    .argument('[entries...]', 'the new entries (besides those of --file)')
    .option('--file <file>', 'one entry per line: "CIDR [description]"; blank lines and # comments are ignored')
    .option('--description <text>', 'description for the entries given on the command line')
    .addOption(new Option('--enable', 'also enable the list (set its state)').conflicts('disable'))
    .addOption(new Option('--disable', 'also disable the list (set its state)').conflicts('enable'))
    .addOption(ifMatchOption())
    .action(
      write(run, (client, o, args) => {
        const entries = withDescription(args, o.description);
        if (o.file) entries.push(...readEntriesFile(o.file));
        const enabled = o.enable ? true : o.disable ? false : undefined;
        return client.replaceAllowlist(scopeTarget(o), entries, enabled, o.ifMatch);
      }),
    );

  withScope(allowlist.command('enable'))
    .summary('turn enforcement on, or --report-only (enforcing an empty list is refused)')
    .description(
      "Starts enforcing the list: requests from other IPs get 401 ip_not_authorized. A project's enabled list " +
        "replaces the organization's for that project. Enabling an empty list is refused.\n\n" +
        'With --report-only the list blocks nothing: requests it would block pass and are recorded as would_block ' +
        '(metric WouldBlockRequests and a log line naming the list). A report-only project list does not replace ' +
        "the organization's list until it is enforced. Run enable again without --report-only to enforce it.",
    )
    .option('--report-only', 'record what the list would block instead of blocking it')
    .addOption(ifMatchOption())
    .action(
      write(run, (client, o) => client.setMode(scopeTarget(o), o.reportOnly ? 'report_only' : 'enforce', o.ifMatch)),
    );

  withScope(allowlist.command('disable'))
    .summary('turn enforcement (or report-only) off')
    .description('Stops enforcing (or reporting on) the list (its entries are kept).')
    .addOption(ifMatchOption())
    .action(write(run, (client, o) => client.setMode(scopeTarget(o), 'off', o.ifMatch)));

  withScope(allowlist.command('check'))
    .summary('would a request from this IP pass? (exit 3 if not)')
    .description(
      'Tells whether a request from IP would pass, by the same rule the authorizer applies to the stored lists. ' +
        "--me checks the address the admin API sees you as ('cdk-ip-allowlist whoami'). " +
        "With --entries, that draft list is tested in place of this scope's list (as if saved and enabled). " +
        'Exit code 0 if allowed, 3 if blocked.\n\n' +
        'The authorizer checks the address the client connected from. On a dual-stack API (ipAddressType ' +
        'DUAL_STACK), a client that has IPv6 connects over IPv6 and is checked by its IPv6 address: check (and ' +
        'allowlist) that address too. An IPv4-only API (the default) is never reached over IPv6.',
    )
    .argument('[ip]', 'IP address to check (or --me)')
    .option('--me', "check the address 'whoami' reports instead of an IP given here")
    .option('--entries <list>', 'a draft list to test instead, comma-separated (e.g. 198.51.100.0/24,203.0.113.7)')
    .action(
      run(async (ctx, cmd) => {
        const o = cmd.opts<ScopeOptions & { entries?: string; me?: boolean }>();
        const [given] = argumentList(cmd);
        if ((given === undefined) === !o.me) throw new UsageError('give exactly one IP address to check, or --me');
        const target = scopeTarget(o);
        const draft = o.entries
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((value) => ({ value }));
        const ip = given ?? (await myAddress(ctx.client()));
        const { body } = await ctx.client().check(target, ip, draft);
        if (ctx.json) ctx.printJson(body);
        else ctx.io.stdout(`${checkLine(body)}\n${addressFamilyNote(body.ip)}\n`);
        return body.allowed ? EXIT.ok : EXIT.blocked;
      }),
    );
};

/** The action of a write: one request, its answer printed as the list with when the change applies. */
function write(
  run: Run,
  send: (client: AdminClient, o: WriteOptions, args: string[]) => Promise<{ body: AllowlistWriteView }>,
): ReturnType<Run> {
  return run(async (ctx, cmd) => {
    const { body } = await send(ctx.client(), cmd.opts<WriteOptions>(), argumentList(cmd));
    return printAllowlist(ctx, body, 'write');
  });
}

/** The positional arguments, a variadic one flattened. */
function argumentList(cmd: Command): string[] {
  return (cmd.processedArgs as Array<string | string[] | undefined>).flat().filter((a) => a !== undefined);
}

function withDescription(values: readonly string[], description: string | undefined): EntryInput[] {
  return values.map((value) => (description === undefined ? { value } : { value, description }));
}

function readEntriesFile(file: string): EntryInput[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
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

function checkLine(body: CheckView): string {
  const where = body.scope === 'none' ? undefined : body.scope === 'key' ? 'the key list' : `the ${body.scope} list`;
  const draftNote = body.draft ? ' (draft list)' : '';
  if (!body.allowed)
    return `blocked: ${body.ip} is not in ${where ?? 'the allowlist'}${draftNote}; requests from it get 401 ip_not_authorized`;
  let line =
    body.scope === 'none'
      ? `allowed: ${body.ip} is not restricted (no enabled allowlist applies)`
      : `allowed: ${body.ip} matches ${body.matchedEntry ?? body.keyMatchedEntry} in ${where}${draftNote}`;
  if (body.keyMatchedEntry && body.scope !== 'key') line += `, and ${body.keyMatchedEntry} in the key list`;
  if (body.wouldBlock) {
    const list = body.wouldBlock.scope === 'key' ? 'key' : body.wouldBlock.scope;
    line += `\nwould_block: the report-only ${list} list would block it; enforced, requests from it would get 401 ip_not_authorized`;
  }
  return line;
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

function scopeLabel(v: AllowlistWriteView): string {
  if (v.scope === 'organization') return `organization ${v.organizationId}`;
  if (v.scope === 'project') return `project ${v.organizationId}/${v.projectId}`;
  return `API key ${v.apiKeyId} (${v.organizationId}/${v.projectId})`;
}

function scopeFlags(v: AllowlistWriteView): string {
  return [
    `--org ${v.organizationId}`,
    v.projectId ? `--project ${v.projectId}` : '',
    v.apiKeyId ? `--key ${v.apiKeyId}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * The delay `show` reports, in the terms a write's answer uses: a write flushes the authorizer cache (0 s once
 * that worked) and otherwise reports the deployment's worst case, which is what the list's view carries.
 */
function showDelayLine(v: AllowlistWriteView): string {
  if (v.propagationDelaySeconds === undefined) return '';
  return (
    `A change applies within 0 s when the admin API flushes the authorizer cache (it does after each write), ` +
    `else within ${v.propagationDelaySeconds} s (the authorizer cache TTL).\n`
  );
}

function printAllowlist(ctx: CommandContext, v: AllowlistWriteView, answer: 'show' | 'write'): number {
  if (ctx.json) {
    ctx.printJson(v);
    return EXIT.ok;
  }
  const state = v.enabled ? 'ENABLED' : v.mode === 'report_only' ? 'REPORT-ONLY' : 'disabled';
  const limits = v.maxEntries === undefined ? '' : `, ${v.entries.length}/${v.maxEntries} entries`;
  let out = `Allowlist of ${scopeLabel(v)}: ${state} (version ${v.version}${limits})\n`;
  // A read, not a write's answer: only a read carries when each entry last matched.
  const read = 'propagation' in v ? undefined : v;
  if (v.entries.length === 0) out += '(no entries)\n';
  else if (read) {
    // A read says when each entry last let a request through: "never" is what finds the stale ones.
    out += `${table(
      ['VALUE', 'DESCRIPTION', 'ADDED', 'BY', 'LAST MATCHED'],
      read.entries.map((e) => [
        e.value,
        e.description || '-',
        shortTime(e.createdAt),
        e.createdBy || '-',
        e.lastMatchedAt === null ? (trafficUnknown(read) ? 'unknown' : 'never') : shortTime(e.lastMatchedAt),
      ]),
    )}\n`;
  } else {
    out += `${table(
      ['VALUE', 'DESCRIPTION', 'ADDED', 'BY'],
      v.entries.map((e) => [e.value, e.description || '-', shortTime(e.createdAt), e.createdBy || '-']),
    )}\n`;
  }
  for (const w of read?.warnings ?? []) out += `warning (${w.code}): ${w.message}\n`;
  if (v.mode === 'report_only')
    out +=
      'Not enforced: requests it would block pass and are recorded as would_block. ' +
      `Enforce it: cdk-ip-allowlist allowlist enable ${scopeFlags(v)}\n`;
  else if (!v.enabled && v.entries.length > 0)
    out += `Not enforced until enabled: cdk-ip-allowlist allowlist enable ${scopeFlags(v)}\n`;
  out += answer === 'write' && 'propagation' in v ? propagationLine(v.propagation) : showDelayLine(v);
  ctx.io.stdout(out);
  return EXIT.ok;
}

/** Whether a read's null `lastMatchedAt` may hide a match (no traffic, or not all of it, could be read). */
function trafficUnknown(v: { readonly warnings: readonly { readonly code: string }[] }): boolean {
  return v.warnings.some((w) => w.code.startsWith('traffic_'));
}
