import * as fs from 'node:fs';
import { isIPv6 } from 'node:net';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MAX_EXPIRY_SECONDS } from '../../lambda/core/expiry';
import type {
  AdminClient,
  AllowlistWriteView,
  CheckView,
  EntryInput,
  ImpactAddressView,
  PreviewView,
} from '../admin-client';
import {
  CommandContext,
  EXIT,
  ifMatchOption,
  positiveWholeNumber,
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

/** `allowlist show|add|remove|replace|enable|disable|check|preview`: one scope's list (routes .../ip_allowlist). */

interface WriteOptions extends ScopeOptions {
  readonly ifMatch?: number;
  readonly description?: string;
  /** Seconds, from --expires-in. */
  readonly expiresIn?: number;
  readonly file?: string;
  readonly enable?: boolean;
  readonly disable?: boolean;
  readonly reportOnly?: boolean;
  readonly force?: boolean;
}

/** --force: the lockout guard's override, on every write that can block callers. */
function forceOption(): Option {
  return new Option(
    '--force',
    'apply the change even if it would block addresses whose requests went through in the last 24 hours (the lockout guard)',
  );
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
    .description(
      "Shows the list: enabled or not, entries (with when each expires, if it does), warnings (such as an enforced list whose entries have all expired: it blocks every request), version, and the deployment's propagation delay.",
    )
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
    .addOption(
      new Option(
        '--expires-in <duration>',
        'the added entries stop matching after this long: a number with a unit s, m, h or d (90m, 24h, 7d; at most 90d). They are shown as expired, then pruned by the next write',
      ).argParser(durationSeconds),
    )
    .addOption(ifMatchOption())
    .addOption(forceOption())
    .action(
      write(run, (client, o, args) =>
        client.addEntries(
          scopeTarget(o),
          withDescription(args, o.description).map((e) =>
            o.expiresIn === undefined ? e : { ...e, expiresIn: o.expiresIn },
          ),
          o.ifMatch,
          o.force,
        ),
      ),
    );

  withScope(allowlist.command('remove'))
    .summary('remove one entry (any form that normalizes to it)')
    .description('Removes one entry; 10.0.0.1 and 10.0.0.1/32 name the same entry.')
    .argument('<entry>', 'entry to remove')
    .addOption(ifMatchOption())
    .addOption(forceOption())
    .action(write(run, (client, o, [entry]) => client.removeEntry(scopeTarget(o), entry, o.ifMatch, o.force)));

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
    .addOption(forceOption())
    .action(
      write(run, (client, o, args) => {
        const entries = withDescription(args, o.description);
        if (o.file) entries.push(...readEntriesFile(o.file));
        const enabled = o.enable ? true : o.disable ? false : undefined;
        return client.replaceAllowlist(scopeTarget(o), entries, enabled, o.ifMatch, o.force);
      }),
    );

  withScope(allowlist.command('enable'))
    .summary('turn enforcement on, or --report-only (enforcing an empty list is refused)')
    .description(
      "Starts enforcing the list: requests from other IPs get 401 ip_not_authorized. A project's enabled list " +
        "replaces the organization's for that project. Enabling an empty list is refused.\n\n" +
        'With --report-only the list blocks nothing: requests it would block pass and are recorded as would_block ' +
        '(metric WouldBlockRequests and a log line naming the list). A report-only project list does not replace ' +
        "the organization's list until it is enforced. Run enable again without --report-only to enforce it.\n\n" +
        'Enforcing is refused (exit 1, nothing changes) when it would block addresses whose requests went through in ' +
        "the last 24 hours: they are listed. Add them, or repeat with --force. 'allowlist preview --mode enforce' " +
        'shows the same beforehand.',
    )
    .option('--report-only', 'record what the list would block instead of blocking it')
    .addOption(ifMatchOption())
    .addOption(forceOption())
    .action(
      write(run, (client, o) =>
        client.setMode(scopeTarget(o), o.reportOnly ? 'report_only' : 'enforce', o.ifMatch, o.force),
      ),
    );

  withScope(allowlist.command('disable'))
    .summary('turn enforcement (or report-only) off')
    .description(
      'Stops enforcing (or reporting on) the list (its entries are kept).\n\n' +
        "A project's callers then fall to the organization's list: when that one is enforced, disabling is refused " +
        '(exit 1, nothing changes) if it would block addresses whose requests went through in the last 24 hours; ' +
        "they are listed. Add them to the organization's list, or repeat with --force. An organization's or a key's " +
        'list can always be disabled.',
    )
    .addOption(ifMatchOption())
    .addOption(forceOption())
    .action(write(run, (client, o) => client.setMode(scopeTarget(o), 'off', o.ifMatch, o.force)));

  registerPreview(allowlist, run);

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

function registerPreview(allowlist: Command, run: Run): void {
  withScope(allowlist.command('preview'))
    .summary('which real callers a change would block or let through')
    .description(
      'Decides the callers the authorizer saw in the last --days (key and source address) now, on the stored lists ' +
        'and with a draft of this list in their place, and lists the addresses the draft would block, those it ' +
        'would let through, and those it would let through recorded as would_block. The draft is the stored list ' +
        'with --mode and the entries of --entry / --entries-file, when given. For a report-only list, --mode ' +
        'enforce shows what enforcing it would cut off. Nothing is changed.',
    )
    .addOption(new Option('--mode <mode>', "the draft's mode (default: the stored one)").choices(MODES))
    .option('--entry <entry>', 'an entry of the draft (repeat it; default: the stored entries)', collect, [])
    .option('--entries-file <file>', 'entries of the draft, one a line as for replace --file')
    .addOption(
      new Option('--days <n>', 'how many days of traffic (default 7, at most the retention)').argParser(
        positiveWholeNumber,
      ),
    )
    .action(
      run(async (ctx, cmd) => {
        const o = cmd.opts<ScopeOptions & { mode?: Mode; entry: string[]; entriesFile?: string; days?: number }>();
        const target = scopeTarget(o);
        const entries: EntryInput[] = o.entry.map((value) => ({ value }));
        if (o.entriesFile) entries.push(...readEntriesFile(o.entriesFile));
        const drafted = o.entry.length > 0 || o.entriesFile !== undefined;
        const { body } = await ctx.client().preview(target, {
          ...(drafted ? { entries } : {}),
          ...(o.mode ? { mode: o.mode } : {}),
          ...(o.days === undefined ? {} : { days: o.days }),
        });
        if (ctx.json) ctx.printJson(body);
        else ctx.io.stdout(previewText(body));
        return EXIT.ok;
      }),
    );
}

const MODES = ['enforce', 'report_only', 'off'] as const;
type Mode = (typeof MODES)[number];

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function previewText(p: PreviewView): string {
  const where =
    p.scope === 'organization'
      ? `organization ${p.organizationId}`
      : p.scope === 'project'
        ? `project ${p.organizationId}/${p.projectId}`
        : `API key ${p.apiKeyId} (${p.organizationId}/${p.projectId})`;
  const draft = p.draft.stored
    ? `the stored list (${p.draft.mode}, ${p.draft.entryCount} entries)`
    : `a draft (${p.draft.mode}, ${p.draft.entryCount} entries)`;
  let out =
    `Preview of ${where}: ${draft}, on the traffic of the last ${p.window.days} day${p.window.days === 1 ? '' : 's'} ` +
    `(${p.sightingsRead} sightings read)\n`;
  const section = (title: string, addresses: readonly ImpactAddressView[]) => {
    out += `\n${title}: ${addresses.length === 0 ? 'none' : addresses.length}\n`;
    if (addresses.length > 0) out += `${addressTable(addresses)}\n`;
  };
  section('Would be BLOCKED (pass today)', p.wouldBlock);
  section('Would PASS (blocked today)', p.wouldPass);
  section('Would pass, recorded as would_block', p.wouldReport);
  if (p.truncated)
    out +=
      '\nnote: the traffic read stopped at its cap: there is more traffic than was previewed, so the lists may be incomplete\n';
  if (p.unreadable > 0) out += `note: ${p.unreadable} traffic items could not be read and were skipped\n`;
  return out;
}

/** Addresses and their keys, one row per key: what a preview lists and what the lockout guard refuses. */
export function addressTable(addresses: readonly ImpactAddressView[]): string {
  return table(
    ['ADDRESS', 'KEY', 'PROJECT', 'TODAY', 'DRAFT', 'LAST SEEN', 'DECISIONS'],
    addresses.flatMap((a) =>
      a.keys.map((k) => [a.ip, k.keyId, k.projectId, k.today, k.draft, shortTime(k.lastSeen), String(k.count)]),
    ),
  );
}

/** The lockout guard's refusal as a reader wants it: whom the change would cut off, and the two ways forward. */
export function lockoutText(body: unknown): string {
  const error = (body as { error?: { wouldBlock?: ImpactAddressView[]; truncated?: boolean } } | undefined)?.error;
  if (!error?.wouldBlock) return '';
  return (
    `${addressTable(error.wouldBlock)}\n` +
    (error.truncated ? 'note: the traffic read was capped: more addresses may be affected\n' : '') +
    'hint: add these addresses to the list the error names (allowlist add), or repeat the command with --force to apply it anyway\n'
  );
}

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

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90m`, `24h`, `7d`, `30s` -> seconds; at most the 90 days an entry may live. */
export function durationSeconds(text: string): number {
  const m = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (!m)
    throw new InvalidArgumentError(
      `must be a whole number with a unit s, m, h or d (e.g. 90m, 24h, 7d), got ${JSON.stringify(text)}`,
    );
  const seconds = Number(m[1]) * DURATION_UNITS[m[2]];
  if (seconds < 1 || seconds > MAX_EXPIRY_SECONDS)
    throw new InvalidArgumentError(`must be from 1s to 90d (${MAX_EXPIRY_SECONDS}s), got ${JSON.stringify(text)}`);
  return seconds;
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
  else {
    // The EXPIRES column only when an entry expires, so lists without expiry read as they always did; LAST MATCHED
    // only on a read (a write's answer does not carry it): "never" is what finds the stale entries.
    const expiring = v.entries.some((e) => e.expiresAt);
    out += `${table(
      ['VALUE', 'DESCRIPTION', 'ADDED', 'BY', ...(expiring ? ['EXPIRES'] : []), ...(read ? ['LAST MATCHED'] : [])],
      v.entries.map((e, i) => [
        e.value,
        e.description || '-',
        shortTime(e.createdAt),
        e.createdBy || '-',
        ...(expiring ? [e.expiresAt ? `${shortTime(e.expiresAt)}${e.expired ? ' (expired)' : ''}` : 'never'] : []),
        ...(read ? [lastMatchedText(read, read.entries[i].lastMatchedAt)] : []),
      ]),
    )}\n`;
  }
  for (const w of v.warnings ?? []) out += `warning (${w.code}): ${w.message}\n`;
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

/** An entry's LAST MATCHED cell: its time, `never`, or `unknown` when the traffic could not be (fully) read. */
function lastMatchedText(read: Parameters<typeof trafficUnknown>[0], at: string | null): string {
  if (at !== null) return shortTime(at);
  return trafficUnknown(read) ? 'unknown' : 'never';
}
