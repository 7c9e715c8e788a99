import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CfnTemplate } from '../../local/intrinsics';
import { DEFAULT_PROJECT_ROOT } from '../../local/local-mode';
import { synthesizeExampleApp, SynthesizedStack } from '../../local/synth';
import type { DoctorReport } from '../../cli/doctor';
import { E2eLocalMode, startE2eLocalMode } from '../e2e/support/local-mode';
import { BIN, runBin } from '../support/cli-bin';

/*
 * `cdk-ip-allowlist doctor` against local mode, run as a user runs it (the bin, a child process): once on a
 * healthy stack, once on the same stack whose admin Lambda is told to flush a stage that does not exist, so every
 * FlushStageAuthorizersCache it sends is refused by the (emulated) API Gateway, as a missing IAM permission would
 * have it refused on AWS. Nothing of the handler is replaced: the fault is in the deployed configuration.
 */

const PROPAGATION_DELAY_SECONDS = 5;

let outdir: string;
let healthy: E2eLocalMode;
let brokenFlush: E2eLocalMode;

/** The same stack, but the admin Lambda's PROTECTED_STAGES names a stage the API does not have. */
function withUnknownStage(stack: SynthesizedStack): SynthesizedStack {
  const template = JSON.parse(JSON.stringify(stack.template)) as CfnTemplate;
  let changed = 0;
  for (const resource of Object.values(template.Resources ?? {})) {
    const variables = (resource.Properties as { Environment?: { Variables?: Record<string, unknown> } } | undefined)
      ?.Environment?.Variables;
    const stages = variables?.PROTECTED_STAGES as { 'Fn::Join': [string, unknown[]] } | undefined;
    if (!variables || !stages) continue;
    const [apiRef, separator] = stages['Fn::Join'][1];
    variables.PROTECTED_STAGES = { 'Fn::Join': ['', [apiRef, separator, 'retired']] };
    changed += 1;
  }
  expect(changed).toBe(1);
  return { ...stack, template };
}

beforeAll(async () => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-synth-'));
  const stack = synthesizeExampleApp({
    projectRoot: DEFAULT_PROJECT_ROOT,
    outdir,
    context: { propagationDelaySeconds: PROPAGATION_DELAY_SECONDS },
  });
  [healthy, brokenFlush] = await Promise.all([
    startE2eLocalMode('doctor', { synthesized: stack, seed: false, localUser: 'doctor-tester' }),
    startE2eLocalMode('doctor-noflush', {
      synthesized: withUnknownStage(stack),
      seed: false,
      localUser: 'doctor-tester',
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([healthy?.stop(), brokenFlush?.stop()]);
  if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
});

async function doctor(local: E2eLocalMode, ...extra: string[]) {
  const run = await runBin(['doctor', '--endpoint', local.local.url, '--json', ...extra], local.local.adminUrl!);
  return { ...run, report: JSON.parse(run.stdout) as DoctorReport };
}

/** One doctor run on the healthy stack, shared by the tests that read its report. */
let healthyRun: ReturnType<typeof doctor> | undefined;
const healthyDoctor = () => (healthyRun ??= doctor(healthy));

const byId = (report: DoctorReport, id: string) => report.checks.find((c) => c.id === id);

test('on a healthy stack every check passes, one line each, and the exit code is 0', async () => {
  const { code, report } = await healthyDoctor();

  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(code).toBe(0);
  expect(report.checks.map((c) => c.id)).toEqual([
    'admin',
    'write',
    'missingKey',
    'invalidKey',
    'freshKey',
    'ipBlocked',
    'ipAllowed',
    'flushed',
    'propagation:key creation',
    'propagation:key list set',
    'propagation:your address added',
    'propagation:key revocation',
    'cleanup',
  ]);
  expect(byId(report, 'admin')?.figures).toMatchObject({ principal: 'local:doctor-tester', ip: '127.0.0.1' });
  expect(byId(report, 'missingKey')?.figures).toMatchObject({ status: 401, code: 'missing_api_key' });
  expect(byId(report, 'invalidKey')?.figures).toMatchObject({ status: 401, code: 'invalid_api_key' });
  expect(byId(report, 'freshKey')?.figures).toMatchObject({ status: 200 });
  expect(byId(report, 'ipBlocked')?.figures).toMatchObject({ status: 401, code: 'ip_not_authorized' });
  expect(byId(report, 'ipAllowed')?.figures).toMatchObject({ status: 200, addedIp: '127.0.0.1' });
  // Each write promised 0 s (flushed), and each change was measured against that.
  for (const check of report.checks.filter((c) => c.id.startsWith('propagation:'))) {
    expect(check.figures).toMatchObject({ promisedSeconds: 0, lastOldSeconds: null });
    expect(typeof check.figures.firstShownSeconds).toBe('number');
  }
  expect((byId(report, 'flushed')?.figures.writes as unknown[]).length).toBe(5);
});

test('doctor cleans up: the key is revoked and refused, its list empty and disabled', async () => {
  const { report } = await healthyDoctor();
  const { keyId } = byId(report, 'write')!.figures as { keyId: string };
  const target = ['--org', report.organizationId, '--project', report.projectId];

  const [keys, list, audit] = await Promise.all([
    runBin(['keys', 'list', ...target, '--json'], healthy.local.adminUrl!),
    runBin(['allowlist', 'show', ...target, '--key', keyId, '--json'], healthy.local.adminUrl!),
    runBin(['audit', '--org', report.organizationId, '--json'], healthy.local.adminUrl!),
  ]);

  expect(report.organizationId).toMatch(/^doctor-[0-9a-f]{8}$/);
  expect(JSON.parse(keys.stdout).data).toEqual([expect.objectContaining({ id: keyId, status: 'revoked' })]);
  expect(JSON.parse(list.stdout)).toMatchObject({ enabled: false, entries: [] });
  // As docs/doctor.md says: only the write that blocks doctor's own address is forced past the lockout guard.
  const events = (JSON.parse(audit.stdout) as { data: { after: { force?: boolean; entries?: { value: string }[] } }[] })
    .data;
  expect(events.filter((e) => e.after?.force).map((e) => e.after.entries?.map((x) => x.value))).toEqual([
    ['192.0.2.1/32'],
  ]);
});

test('when the flush fails, doctor says so with the figures it measured, still cleans up, and exits 1', async () => {
  const { code, report, stdout } = await doctor(brokenFlush);

  expect(code).toBe(1);
  expect(report.ok).toBe(false);
  const flushed = byId(report, 'flushed')!;
  expect(flushed.ok).toBe(false);
  expect(flushed.detail).toMatch(
    new RegExp(`^5 of 5 writes answered flushed: false, maxDelaySeconds ${PROPAGATION_DELAY_SECONDS} \\(key creation,`),
  );
  expect(flushed.figures.writes).toContainEqual({
    label: 'key list set',
    flushed: false,
    maxDelaySeconds: PROPAGATION_DELAY_SECONDS,
  });
  // What fails is the flush; the changes still arrived, within the delay the unflushed writes promised.
  expect(report.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['flushed']);
  for (const check of report.checks.filter((c) => c.id.startsWith('propagation:'))) {
    expect(check.figures.promisedSeconds).toBe(PROPAGATION_DELAY_SECONDS);
    expect(check.figures.firstShownSeconds).toBeLessThanOrEqual(PROPAGATION_DELAY_SECONDS);
  }
  expect(byId(report, 'cleanup')?.ok).toBe(true);
  expect(stdout).not.toBe('');
});

test('the text report: one PASS/FAIL line per check and a summary; --path picks the route', async () => {
  const run = await runBin(
    ['doctor', '--endpoint', brokenFlush.local.url, '--path', '/hello'],
    brokenFlush.local.adminUrl!,
  );
  const lines = run.stdout.trimEnd().split('\n');

  expect(run.code).toBe(1);
  expect(lines.slice(0, -1).every((l) => /^(PASS|FAIL) {2}\S/.test(l))).toBe(true);
  expect(lines.filter((l) => l.startsWith('FAIL '))).toEqual([
    expect.stringMatching(
      /^FAIL {2}writes answered flushed: true +5 of 5 writes answered flushed: false, maxDelaySeconds 5 \(/,
    ),
  ]);
  expect(lines[lines.length - 1]).toMatch(
    /^FAILED: 12 of 13 checks passed \(http:\/\/127\.0\.0\.1:\d+ path \/hello, organization doctor-[0-9a-f]{8}\)$/,
  );
});

/**
 * An admin API whose IAM lets the caller ask whoami but not write: API Gateway's own 403 (the admin API's
 * DEFAULT_4XX response, lib/allowlist-admin-api.ts), which local mode cannot produce because it has no IAM.
 */
async function adminWithoutWriteGrant(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    const whoami = req.method === 'GET' && req.url === '/v1/whoami';
    const arn = 'arn:aws:sts::123456789012:assumed-role/Readers/bob';
    res.writeHead(whoami ? 200 : 403, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        whoami
          ? { object: 'whoami', sourceIp: '127.0.0.1', ip: '127.0.0.1', family: 'ipv4', principal: arn }
          : {
              error: {
                message: `User: ${arn} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:eu-west-1:123456789012:def456/admin/POST/v1/organizations/x/projects/y/api_keys`,
                type: 'invalid_request_error',
                param: null,
                code: 'ACCESS_DENIED',
              },
            },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('an --org whose enabled list excludes you: "fresh key" fails, and its line says it is that list', async () => {
  const org = `doctor-fenced-${Date.now()}`;
  const admin = healthy.local.adminUrl!;
  expect((await runBin(['allowlist', 'replace', '--org', org, '192.0.2.1/32', '--enable'], admin)).code).toBe(0);

  const { code, report } = await doctor(healthy, '--org', org);

  expect(code).toBe(1);
  expect(byId(report, 'freshKey')).toMatchObject({
    ok: false,
    figures: { seen: { '401 ip_not_authorized': expect.any(Number) } },
  });
  expect(byId(report, 'freshKey')?.detail).toMatch(
    new RegExp(
      `^got 401 ip_not_authorized .*: organization ${org}'s allowlist is enabled and does not allow 127\\.0\\.0\\.1 ` +
        '\\(you, as the admin API sees you\\); a key with no list of its own follows it: run doctor with an --org ',
    ),
  );
  // Its own key is still removed; the organization's list is the user's and stays as it was.
  expect(byId(report, 'cleanup')?.ok).toBe(true);
  const list = JSON.parse((await runBin(['allowlist', 'show', '--org', org, '--json'], admin)).stdout) as {
    enabled: boolean;
    entries: { value: string }[];
  };
  expect({ enabled: list.enabled, entries: list.entries.map((e) => e.value) }).toEqual({
    enabled: true,
    entries: ['192.0.2.1/32'],
  });
});

test('a caller who may not write: the write line names the grant, later checks are listed as not run, exit 1', async () => {
  const admin = await adminWithoutWriteGrant();
  try {
    const run = await runBin(
      ['doctor', '--endpoint', healthy.local.url, '--admin-endpoint', admin.url, '--org', 'ops', '--json'],
      admin.url,
    );
    const report = JSON.parse(run.stdout) as DoctorReport;

    expect(run.code).toBe(1);
    expect(report.checks.map((c) => [c.id, c.ok])).toEqual([
      ['admin', true],
      ['write', false],
      ['missingKey', true],
      ['invalidKey', true],
      ['freshKey', false],
      ['ipBlocked', false],
      ['ipAllowed', false],
      ['flushed', false],
      ['cleanup', true],
    ]);
    expect(byId(report, 'write')?.detail).toMatch(
      /is not authorized to perform: execute-api:Invoke.*\. Your principal needs the admin API's grantWrite for ops \(or for every organization\)/,
    );
    expect(byId(report, 'freshKey')?.detail).toBe('not run: an earlier check failed');
    expect(byId(report, 'cleanup')?.detail).toBe('nothing to remove: no key was created');
  } finally {
    await admin.close();
  }
});

test('Ctrl-C stops the waiting, and doctor still cleans up before it exits', async () => {
  // A protected API that never lets the key in: doctor would wait its full margin for the fresh key.
  const refusing = http.createServer((req, res) => {
    req.resume();
    const code = req.headers.authorization ? 'invalid_api_key' : 'missing_api_key';
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'no', type: 'invalid_request_error', param: null, code } }));
  });
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
  const adminUrl = healthy.local.adminUrl!;
  const org = `sigint-${Date.now()}`;
  try {
    const child = spawn(process.execPath, [BIN, 'doctor', '--endpoint', apiUrl, '--org', org, '--json'], {
      cwd: DEFAULT_PROJECT_ROOT,
      env: { ...process.env, CDK_IP_ALLOWLIST_ENDPOINT: adminUrl },
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Interrupt once the key exists: doctor is then waiting for it to work.
    const audit = () => runBin(['audit', '--org', org, '--json'], adminUrl);
    while (!JSON.parse((await audit()).stdout).data.some((e: { action: string }) => e.action === 'api_key.create')) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill('SIGINT');
    const code = await exited;
    const report = JSON.parse(stdout) as DoctorReport;
    const actions = JSON.parse((await audit()).stdout).data.map((e: { action: string }) => e.action);

    expect(code).toBe(1);
    expect(byId(report, 'freshKey')?.ok).toBe(false);
    expect(byId(report, 'cleanup')?.ok).toBe(true);
    expect(actions).toContain('api_key.revoke');
  } finally {
    await new Promise((resolve) => refusing.close(resolve));
  }
});
