import { Option } from 'commander';
import type { TrafficView } from '../admin-client';
import { PageOptions, printPage, Register, withOrg, withPaging } from '../context';
import { shortTime } from '../format';

/** `traffic`: what the authorizer decided for an organization's callers (route .../traffic). */

interface TrafficOptions extends PageOptions {
  readonly org: string;
  readonly project?: string;
  readonly key?: string;
  readonly outcome?: string;
  readonly since?: string;
}

type Sighting = TrafficView['data'][number];

export const registerTraffic: Register = (program, run) => {
  withPaging(withOrg(program.command('traffic')))
    .summary('who called, from where, and what the allowlists decided (the blocked-request log)')
    .description(
      "The organization's traffic, newest first: one line per API key, source address and outcome, with when it " +
        'was first and last seen and how many decisions it counts (API Gateway answers repeats from its cache, so ' +
        'this is not a request count).\n' +
        'Outcomes: blocked (refused by an enforced list), would_block (let through, but a report-only list would ' +
        'block it), allowed. MATCHED names the entry of each list that contained the address ' +
        '(org=, project=, key=).\n' +
        "--json prints the API's page, with every field.",
    )
    .option('--project <id>', "only this project's traffic")
    .option('--key <keyId>', "only this API key's traffic")
    .addOption(new Option('--outcome <outcome>', 'only this outcome').choices(['blocked', 'would_block', 'allowed']))
    .option(
      '--since <time>',
      'only traffic last seen at or after this ISO-8601 time (e.g. 2026-01-31T09:00:00Z); default: the whole retention',
    )
    .action(
      run(async (ctx, cmd) => {
        const { org, project, key, outcome, since, limit, cursor } = cmd.opts<TrafficOptions>();
        const { body } = await ctx.client().traffic(org, { project, key, outcome, since, limit, cursor });
        const code = printPage(
          ctx,
          body,
          `No traffic recorded for ${org} since ${shortTime(body.since)} with these filters.`,
          ['LAST SEEN', 'OUTCOME', 'PROJECT', 'KEY', 'SOURCE IP', 'COUNT', 'FIRST SEEN', 'SCOPE', 'MATCHED'],
          (s) => [
            shortTime(s.lastSeen),
            s.outcome,
            s.projectId,
            s.keyId,
            s.sourceIp,
            String(s.count),
            shortTime(s.firstSeen),
            s.scope,
            matchedText(s),
          ],
        );
        if (!ctx.json && body.unreadable > 0)
          ctx.io.stderr(
            `warning: ${body.unreadable} traffic item(s) of this page could not be read and were skipped\n`,
          );
        return code;
      }),
    );
};

function matchedText(s: Sighting): string {
  const parts = [
    s.matched.organization === null ? '' : `org=${s.matched.organization}`,
    s.matched.project === null ? '' : `project=${s.matched.project}`,
    s.matched.key === null ? '' : `key=${s.matched.key}`,
  ].filter(Boolean);
  return parts.length === 0 ? '-' : parts.join(' ');
}
