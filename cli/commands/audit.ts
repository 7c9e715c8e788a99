import { EXIT, moreLine, PageOptions, Register, withOrg, withPaging } from '../context';
import { shortTime, table } from '../format';

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
        if (ctx.json) ctx.printJson(body);
        else {
          if (body.data.length === 0) ctx.io.stdout(`No changes recorded for ${org}.\n`);
          else {
            const rows = body.data.map((e) => [shortTime(e.at), e.actor, e.action, e.target ?? '-']);
            ctx.io.stdout(`${table(['AT', 'ACTOR', 'ACTION', 'TARGET'], rows)}\n`);
          }
          ctx.io.stdout(moreLine(body.next_cursor));
        }
        return EXIT.ok;
      }),
    );
};
