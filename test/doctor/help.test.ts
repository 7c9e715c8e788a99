import { runCli } from '../../cli/main';

/* doctor's help: --endpoint means the protected API there, and nothing on the page says otherwise. */

async function help(args: readonly string[]): Promise<string> {
  let out = '';
  const code = await runCli(args, {
    stdout: (t) => (out += t),
    stderr: (t) => (out += t),
    env: {},
    cwd: '/',
  });
  expect(code).toBe(0);
  return out;
}

test("doctor --help lists the program's options with doctor's meaning, once, and no program-wide wording", async () => {
  const text = await help(['doctor', '--help']);

  expect(text).not.toContain('Global Options');
  expect(text).not.toContain('admin API base URL');
  expect(text).toMatch(/^ {2}--endpoint <url> +the PROTECTED API's base URL/m);
  for (const option of ['--endpoint', '--data-dir', '--json', '--region', '--profile', '--admin-endpoint']) {
    expect(text.match(new RegExp(`^ {2}${option}\\b`, 'gm'))).toHaveLength(1);
  }
  // The other commands keep the program-wide wording.
  expect(await help(['whoami', '--help'])).toMatch(/Global Options:\n {2}--endpoint <url> +admin API base URL/);
});
