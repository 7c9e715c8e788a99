import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_PROJECT_ROOT } from '../../local/local-mode';
import { synthesizeExampleApp } from '../../local/synth';
import type { DoctorReport } from '../../cli/doctor';
import { E2eLocalMode, startE2eLocalMode } from '../e2e/support/local-mode';
import { runBinIn } from '../support/cli-bin';

/*
 * Which admin API and which protected API doctor checks: both always of the same instance. Two local modes run
 * at once, each recording itself (state.json) as `npm start` does: `project` in the .local of a project folder
 * (found from the working directory, as docs/doctor.md's "no flags needed" promises), `other` on a data
 * directory of its own. Every run starts in the project folder, so a URL taken from the wrong place points at
 * `project`'s APIs and the report's URLs say so.
 */

let outdir: string;
let projectDir: string;
let otherDir: string;
let project: E2eLocalMode;
let other: E2eLocalMode;

beforeAll(async () => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-endpoints-synth-'));
  projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-endpoints-project-'));
  fs.writeFileSync(path.join(projectDir, 'package.json'), '{ "name": "consumer", "private": true }\n');
  otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-endpoints-data-'));
  const stack = synthesizeExampleApp({
    projectRoot: DEFAULT_PROJECT_ROOT,
    outdir,
    context: { propagationDelaySeconds: 5 },
  });
  const common = { synthesized: stack, seed: false, localUser: 'doctor-tester', writeState: true } as const;
  [project, other] = await Promise.all([
    startE2eLocalMode('doctor-project', { ...common, stateDir: path.join(projectDir, '.local') }),
    startE2eLocalMode('doctor-other', { ...common, stateDir: otherDir }),
  ]);
});

afterAll(async () => {
  await Promise.all([project?.stop(), other?.stop()]);
  for (const dir of [outdir, projectDir, otherDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function doctor(args: readonly string[], env: Record<string, string> = {}) {
  const run = await runBinIn(['doctor', '--json', ...args], { cwd: projectDir, env });
  return { ...run, report: JSON.parse(run.stdout) as DoctorReport };
}

const failed = (report: DoctorReport) => report.checks.filter((c) => !c.ok);

test('no flags, from the project folder of a running local mode: both its APIs, every check passes', async () => {
  const { code, report } = await doctor([]);

  expect(failed(report)).toEqual([]);
  expect(code).toBe(0);
  expect({ endpoint: report.endpoint, adminEndpoint: report.adminEndpoint }).toEqual({
    endpoint: project.local.url,
    adminEndpoint: project.local.adminUrl,
  });
});

test.each([
  ['--data-dir', (dir: string) => ({ args: ['--data-dir', dir], env: {} })],
  ['CDK_IP_ALLOWLIST_DATA_DIR', (dir: string) => ({ args: [], env: { CDK_IP_ALLOWLIST_DATA_DIR: dir } })],
])('%s of another local mode: that instance, both its APIs, every check passes', async (_, given) => {
  const { args, env } = given(otherDir);
  const { code, report } = await doctor(args, env);

  expect(failed(report)).toEqual([]);
  expect(code).toBe(0);
  expect({ endpoint: report.endpoint, adminEndpoint: report.adminEndpoint }).toEqual({
    endpoint: other.local.url,
    adminEndpoint: other.local.adminUrl,
  });
  expect(other.local.url).not.toBe(project.local.url);
});

test("an admin URL that is the found local mode's counts as that local mode: its protected API is checked", async () => {
  const { code, report } = await doctor(['--data-dir', otherDir, '--admin-endpoint', other.local.adminUrl!]);

  expect(code).toBe(0);
  expect(report.endpoint).toBe(other.local.url);
});

describe('usage errors: exit 2, nothing run, the option named', () => {
  const usage = async (args: readonly string[], env: Record<string, string> = {}) => {
    const run = await runBinIn(args, { cwd: projectDir, env });
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 2, stdout: '' });
    return run.stderr;
  };

  test('a remote admin API without --endpoint', async () => {
    const remote = 'https://abc123.execute-api.eu-west-1.amazonaws.com/admin';
    expect(await usage(['doctor', '--admin-endpoint', remote])).toMatch(
      new RegExp(`^error: the admin API ${remote} \\(from --admin-endpoint\\) .*--endpoint\\n`),
    );
    // The other instance's admin API, named by URL where the project's local mode runs: not this project's.
    expect(await usage(['doctor'], { CDK_IP_ALLOWLIST_ENDPOINT: other.local.adminUrl! })).toMatch(
      /^error: the admin API \S+ \(from CDK_IP_ALLOWLIST_ENDPOINT\) .*give the protected API's base URL with --endpoint\n/,
    );
  });

  test.each([
    [['doctor', '--admin-endpoint', 'notaurl'], '--admin-endpoint'],
    [['doctor', '--endpoint', 'notaurl'], '--endpoint'],
    [['--endpoint', 'notaurl', 'doctor'], '--endpoint'],
    [['doctor', '--endpoint', 'ftp://example.com/'], '--endpoint'],
  ])('a bad URL: %j names %s', async (args, option) => {
    const stderr = await usage(args);
    expect(stderr.split('\n')[0]).toMatch(new RegExp(`^error: ${option} must be an http\\(s\\) URL .*, got "`));
    expect(stderr).toContain("Run 'cdk-ip-allowlist doctor --help' for usage.");
  });
});
