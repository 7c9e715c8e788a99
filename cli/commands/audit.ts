import { PageOptions, printPage, Register, withOrg, withPaging } from '../context';
import { shortTime } from '../format';

/** `audit`: the organization's change history (route .../audit_log). */

export const registerAudit: Register = (program, run) => {
  withPaging(withOrg(program.command('audit')))
    .summary("the organization's change history")
    .description(
      "The organization's changes, newest first: when, who (IAM ARN, or local:<user> in local mode), what, where.\n" +
        '--json prints the full events, with the state before and after each change.',
    )
    .action(
      run(async (ctx, cmd) => {
        const { org, limit, cursor } = cmd.opts<PageOptions & { org: string }>();
        const { body } = await ctx.client().audit(org, limit, cursor);
        return printPage(ctx, body, `No changes recorded for ${org}.`, ['AT', 'ACTOR', 'ACTION', 'TARGET'], (e) => [
          shortTime(e.at),
          e.actor,
          e.action,
          e.target ?? '-',
        ]);
      }),
    );
};
