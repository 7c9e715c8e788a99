import { Command } from 'commander';
import { EXIT, PageOptions, printPage, propagationLine, Register, withOrg, withPaging } from '../context';
import { printable, shortTime } from '../format';

/** `keys create|list|revoke`: a project's API keys (routes .../api_keys). */

interface ProjectOptions {
  readonly org: string;
  readonly project: string;
}

function withProject(command: Command): Command {
  return withOrg(command).requiredOption('--project <id>', 'the project the keys belong to (required)');
}

export const registerKeys: Register = (program, run) => {
  const keys = program
    .command('keys')
    .summary('API keys of a project')
    .description("Create, list and revoke a project's API keys. A key's secret is shown once, when it is created.");

  withProject(keys.command('create'))
    .summary('create a key; the secret is printed once')
    .description(
      'Creates an API key for the project and prints its secret. The secret is shown only this once.\n' +
        'With --json, prints the API\'s object: the secret in "key", the key id in "id".',
    )
    .requiredOption('--name <name>', 'a label for the key, e.g. backend (required)')
    .action(
      run(async (ctx, cmd) => {
        const { org, project, name } = cmd.opts<ProjectOptions & { name: string }>();
        const { body } = await ctx.client().createKey(org, project, name);
        if (ctx.json) ctx.printJson(body);
        else {
          ctx.io.stdout(
            `Created API key ${body.id} ("${printable(body.name)}") for ${org}/${project}.\n` +
              `Secret, shown only now (store it safely):\n${body.key}\n` +
              propagationLine(body.propagation),
          );
        }
        return EXIT.ok;
      }),
    );

  withPaging(withProject(keys.command('list')))
    .summary("the project's keys (never their secrets)")
    .description(
      "Lists the project's keys: id, name, redacted value, status, creation, and the key's own allowlist state.",
    )
    .action(
      run(async (ctx, cmd) => {
        const { org, project, limit, cursor } = cmd.opts<ProjectOptions & PageOptions>();
        const { body } = await ctx.client().listKeys(org, project, limit, cursor);
        const headers = ['ID', 'NAME', 'KEY', 'STATUS', 'CREATED', 'KEY ALLOWLIST'];
        return printPage(ctx, body, `No API keys in ${org}/${project}.`, headers, (k) => [
          k.id,
          k.name,
          k.redactedValue,
          k.status,
          shortTime(k.createdAt),
          k.allowlist?.corrupt
            ? 'CORRUPT: every request refused; replace it'
            : k.allowlist
              ? `${k.allowlist.mode === 'report_only' ? 'report-only' : k.allowlist.enabled ? 'enabled' : 'disabled'}, ${k.allowlist.entryCount} entries`
              : '-',
        ]);
      }),
    );

  withProject(keys.command('revoke'))
    .summary('revoke a key')
    .description('Revokes the key. Requests with it get 401 invalid_api_key within the propagation delay.')
    .argument('<keyId>', 'key id to revoke (see keys list)')
    .action(
      run(async (ctx, cmd) => {
        const { org, project } = cmd.opts<ProjectOptions>();
        const { body } = await ctx.client().revokeKey(org, project, cmd.args[0]);
        if (ctx.json) ctx.printJson(body);
        else
          ctx.io.stdout(
            `Revoked API key ${body.id} ("${printable(body.name)}").\n${propagationLine(body.propagation)}`,
          );
        return EXIT.ok;
      }),
    );
};
